#!/usr/bin/env bash
# Every test, from a clean clone, as root on Debian 12: installs what the suites need, builds with
# -Werror, runs the unit tests once more under AddressSanitizer+UBSan, runs the libFuzzer
# harnesses briefly, then runs every suite (unit, integration, end-to-end with the real server,
# PostgreSQL, dockerd and a loopback registry, browser) through ctest, whose summary closes the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

step "dependencies"
bash scripts/install-deps.sh --test

step "build (-Werror)"
BUILD_DIR="$root/build-ci" bash scripts/build.sh -DRUNVOY_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo

step "unit tests under AddressSanitizer + UBSan"
cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DRUNVOY_SANITIZE=address,undefined >/dev/null
cmake --build "$root/build-asan" --target runvoy_unit_tests -j "${JOBS:-2}"
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest -L unit --output-on-failure --timeout 300)

step "fuzzing (15 s per harness)"
bash scripts/fuzz.sh 15

if [[ -f tests/web/package.json ]]; then
  step "browser test dependencies"
  (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
fi

step "all suites"
cd "$root/build-ci"
ctest --output-on-failure --timeout 900
