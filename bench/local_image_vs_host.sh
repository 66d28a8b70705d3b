#!/usr/bin/env bash
# The local sandbox with a cached OCI image versus `host` (bench/local_image_vs_host.cc): builds
# runvoy with the benchmarks, starts a throwaway server and a loopback registry (Debian's
# docker-registry), prints a markdown table, and stops both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
if [[ -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -DRUNVOY_BUILD_BENCH=ON >/dev/null
else
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRUNVOY_BUILD_BENCH=ON \
    -DRUNVOY_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target runvoy runvoy_local_image_bench -j "${JOBS:-2}" >/dev/null

data=$(mktemp -d /tmp/runvoy-bench-XXXXXX)
registry_state="$data/registry"
"$root/tests/support/oci_registry.sh" start "$registry_state"
RUNVOY_CONFIG=none "$build/src/runvoy" server --listen 127.0.0.1:0 --data-dir "$data/server" \
  --seed-admin bench@example.com >"$data/out" 2>"$data/server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; "$root/tests/support/oci_registry.sh" stop "$registry_state"; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do grep -q '^listening on ' "$data/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$data/out")
key=$(sed -n 's/^admin api key: //p' "$data/out")

echo "local image vs host — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), load $(cut -d' ' -f1 /proc/loadavg)"
echo
RUNVOY_OCI_REGISTRY_STATE="$registry_state" "$build/bench/runvoy_local_image_bench" \
  --url "$url" --key "$key" "$@"
