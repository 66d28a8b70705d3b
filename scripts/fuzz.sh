#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang (ASan + UBSan) in build-fuzz and runs each
# for SECONDS (default 20) on a copy of its seed corpus, fuzz/corpus/<harness>/. Fails when a
# harness crashes, leaks, trips a sanitizer or a check, or hangs; the input that did it is kept
# in build-fuzz/artifacts/<harness>/. See docs/fuzzing.md.
#
#   bash scripts/fuzz.sh [SECONDS] [HARNESS...]     e.g. bash scripts/fuzz.sh 20
#                                                        bash scripts/fuzz.sh 300 scrubber
#   FUZZ_REPLAY=1 bash scripts/fuzz.sh 0 websocket  replays the corpus only, mutating nothing
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
shift || true
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

if [[ -z "${FUZZ_NO_BUILD:-}" ]]; then  # FUZZ_NO_BUILD=1: run the harnesses already built
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DRUNVOY_BUILD_FUZZERS=ON \
    -DRUNVOY_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target runvoy_fuzzers -j "${JOBS:-2}"
fi

if [[ $# -gt 0 ]]; then
  harnesses=("$@")
else
  harnesses=()
  for source in "$root"/fuzz/*_fuzzer.cc; do
    name=$(basename "$source" _fuzzer.cc)
    harnesses+=("$name")
  done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for name in "${harnesses[@]}"; do
  corpus="$work/corpus-$name"
  artifacts="$build/artifacts/$name"
  mkdir -p "$corpus" "$artifacts" "$work/tmp-$name"
  cp "$root/fuzz/corpus/$name"/* "$corpus/"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -max_len=8192
           -print_final_stats=1 -artifact_prefix="$artifacts/")
  if [[ -n "${FUZZ_REPLAY:-}" ]]; then
    options+=(-runs=0)
  fi
  if [[ -f "$root/fuzz/$name.dict" ]]; then
    options+=(-dict="$root/fuzz/$name.dict")
  fi
  log="$build/artifacts/$name.log"
  status=0
  TMPDIR="$work/tmp-$name" ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/fuzz/${name}_fuzzer" "${options[@]}" "$corpus" >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  coverage=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  if [[ $status -eq 0 ]]; then
    printf '%-16s ok    %8s runs %6s exec/s  %s\n' "$name" "${runs:-?}" "${speed:-?}" "$coverage"
  else
    printf '%-16s FAILED (exit %d), log %s\n' "$name" "$status" "$log"
    grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==|^[a-z ]+: ' "$log" | head -20 || true
    failed+=("$name")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing failed: ${failed[*]}"
  exit 1
fi
