#!/usr/bin/env bash
# `runvoy run` on the docker provider against a bare `docker run --rm --network none` of the
# same image: time to the first line of output and total time, median of N (30) each, and their
# ratios (target ≤ 1.15). Starts its own dockerd and loopback registry
# (tests/support/docker_services.sh) and a throwaway runvoy server; stops them afterwards.
#
#   bench/docker_vs_bare.sh [runs]      BUILD_DIR=<dir with src/runvoy> (default build-bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
runs=${1:-30}
if [[ ! -x "$build/src/runvoy" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRUNVOY_BUILD_TESTS=OFF \
    >/dev/null
  cmake --build "$build" --target runvoy -j "${JOBS:-2}" >/dev/null
fi

state=$(mktemp -d /tmp/runvoy-dockerbench-XXXXXX)
services=$root/tests/support/docker_services.sh
pid=
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  "$services" stop "$state/docker" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
"$services" start "$state/docker" "$state/docker.env" >/dev/null
# shellcheck disable=SC1091
source "$state/docker.env"

printf 'compute:\n  provider: docker\n  docker:\n    host: %s\n' "$RUNVOY_TEST_DOCKER_HOST" \
  >"$state/server.yaml"
"$build/src/runvoy" server --config "$state/server.yaml" --listen 127.0.0.1:0 \
  --data-dir "$state/data" --seed-admin bench@example.com >"$state/out" 2>"$state/server.log" &
pid=$!
for _ in $(seq 1 100); do grep -q '^listening on ' "$state/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$state/out")
key=$(sed -n 's/^admin api key: //p' "$state/out")
if [[ -z "$url" ]]; then
  echo "the server did not start:" >&2
  cat "$state/server.log" >&2
  exit 1
fi
curl -sf -X POST -H "X-API-Key: $key" \
  -d "{\"image\":\"$RUNVOY_TEST_DOCKER_IMAGE\",\"is_default\":true}" \
  "$url/api/v1/images/register" >/dev/null

export RUNVOY_API_ENDPOINT=$url RUNVOY_API_KEY=$key HOME=$state/home DOCKER_HOST=$RUNVOY_TEST_DOCKER_HOST
mkdir -p "$HOME"
# Both sides start from an image that is present: the first run pulls it.
"$build/src/runvoy" run "echo warm" >/dev/null 2>"$state/warm.err" || { cat "$state/warm.err" >&2; exit 1; }
docker run --rm --network none "$RUNVOY_TEST_DOCKER_IMAGE" echo warm >/dev/null

echo "docker provider benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)," \
  "$(dockerd --version | cut -d, -f1), $runs runs each, alternating"
echo
# Time to the first stdout line and to the exit of each command, alternating the two so that
# both see the same machine load.
python3 - "$runs" "$build/src/runvoy" "$RUNVOY_TEST_DOCKER_IMAGE" <<'PY'
import statistics, subprocess, sys, time
runs, runvoy, image = int(sys.argv[1]), sys.argv[2], sys.argv[3]
command = "echo first; echo second"
sides = {
    "runvoy run (docker provider)": [runvoy, "run", command],
    "docker run --rm --network none": ["docker", "run", "--rm", "--network", "none", image,
                                       "sh", "-c", command],
}
results = {name: ([], []) for name in sides}
for _ in range(runs):
    for name, argv in sides.items():
        start = time.monotonic()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = p.stdout.readline()
        first = time.monotonic() - start
        p.stdout.read()
        p.wait()
        total = time.monotonic() - start
        if line != b"first\n" or p.returncode != 0:
            sys.exit(f"{name}: unexpected output {line!r} / exit {p.returncode}")
        results[name][0].append(first * 1000)
        results[name][1].append(total * 1000)
names = list(sides)
print("| measure | " + " | ".join(names) + " | ratio (target ≤ 1.15) |")
print("|---|---|---|---|")
for i, measure in enumerate(["first line, median", "total, median"]):
    a = statistics.median(results[names[0]][i])
    b = statistics.median(results[names[1]][i])
    print(f"| {measure} | {a:.0f} ms | {b:.0f} ms | {a / b:.2f} |")
PY
