#!/usr/bin/env bash
# Builds runvoy with the benchmarks, starts a throwaway server on loopback and prints the
# executions benchmark (a markdown table) with the machine and date.
# `bench/run.sh --load [flags]` runs the load benchmark instead (bench/load/): WebSocket fan-out,
# 200 executions at once and a soak, 60 s by default here (SOAK_SECONDS=600 for the full one).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
# A new build directory is an optimised build without tests; an existing one keeps its settings.
if [[ -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -DRUNVOY_BUILD_BENCH=ON >/dev/null
else
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRUNVOY_BUILD_BENCH=ON \
    -DRUNVOY_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target runvoy runvoy_bench runvoy_load_bench -j "${JOBS:-2}" >/dev/null

data=$(mktemp -d /tmp/runvoy-bench-XXXXXX)
RUNVOY_CONFIG=none "$build/src/runvoy" server --listen 127.0.0.1:0 --data-dir "$data" \
  --seed-admin bench@example.com >"$data/out" 2>"$data/server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do grep -q '^listening on ' "$data/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$data/out")
key=$(sed -n 's/^admin api key: //p' "$data/out")
curl -sf -X POST -H "X-API-Key: $key" -d '{"image":"host"}' "$url/api/v1/images/register" >/dev/null

if [[ "${1:-}" == "--load" ]]; then
  shift
  echo "load benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo
  "$build/bench/runvoy_load_bench" --url "$url" --key "$key" --server-pid "$pid" \
    --soak-seconds "${SOAK_SECONDS:-60}" "$@"
  exit
fi

echo "executions benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
"$build/bench/runvoy_bench" --url "$url" --key "$key" --server-pid "$pid" "$@"
