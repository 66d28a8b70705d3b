#!/usr/bin/env bash
# SQLite against PostgreSQL: builds runvoy with the benchmarks, starts a throwaway PostgreSQL
# cluster (tests/support/postgres_cluster.sh) and two servers on loopback, one per store, and
# prints the store benchmark's table with the machine and date. Extra arguments go to
# runvoy_store_bench (e.g. --seconds 20).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
if [[ -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -DRUNVOY_BUILD_BENCH=ON >/dev/null
else
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRUNVOY_BUILD_BENCH=ON \
    -DRUNVOY_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target runvoy runvoy_store_bench -j "${JOBS:-2}" >/dev/null

work=$(mktemp -d /tmp/runvoy-store-bench-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  bash "$root/tests/support/postgres_cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
dsn=$(bash "$root/tests/support/postgres_cluster.sh" start "$work/pg" | tail -n 1)

# Starts a server with the given extra flags; sets url and key.
start_server() {
  local name=$1
  shift
  mkdir -p "$work/$name"
  RUNVOY_CONFIG=none RUNVOY_MASTER_KEY=$(head -c 32 /dev/urandom | base64) \
    "$build/src/runvoy" server --listen 127.0.0.1:0 --data-dir "$work/$name" \
    --seed-admin bench@example.com "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 1 100); do grep -qs "^listening on " "$work/$name.out" && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$work/$name.out")
  key=$(sed -n 's/^admin api key: //p' "$work/$name.out")
  curl -sf -X POST -H "X-API-Key: $key" -d '{"image":"host"}' "$url/api/v1/images/register" \
    >/dev/null
}
start_server sqlite --store sqlite
sqlite_url=$url sqlite_key=$key
start_server postgres --postgres-dsn "$dsn"
postgres_url=$url postgres_key=$key

echo "store benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
"$build/bench/runvoy_store_bench" --sqlite-url "$sqlite_url" --sqlite-key "$sqlite_key" \
  --postgres-url "$postgres_url" --postgres-key "$postgres_key" "$@"
