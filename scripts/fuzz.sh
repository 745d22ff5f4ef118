#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/CMakeLists.txt) with clang in build-fuzz/ and runs each for
# FUZZ_SECONDS (default 60) on a copy of its seed corpus fuzz/corpus/<target>/. Exits non-zero
# when a target crashes, leaks or trips a sanitizer; the reproducer is left in build-fuzz/crashes/.
#
#   ./scripts/fuzz.sh                  # all targets, 60 s each
#   FUZZ_SECONDS=600 ./scripts/fuzz.sh fuzz_gguf
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
MAX_LEN=${FUZZ_MAX_LEN:-65536}

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DDEEPVAULT_FUZZ=ON -DDEEPVAULT_BUILD_TESTS=OFF \
    -DDEEPVAULT_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
if [[ $# -gt 0 ]]; then
  targets=("$@")
  cmake --build "$BUILD_DIR" --target "${targets[@]}" --parallel "${JOBS:-$(nproc)}"
else
  cmake --build "$BUILD_DIR" --target fuzzers --parallel "${JOBS:-$(nproc)}"
  mapfile -t targets < <(grep -v '^$' "$BUILD_DIR/fuzz_targets.txt")
fi

mkdir -p "$BUILD_DIR/crashes"
failed=()
for t in "${targets[@]}"; do
  work="$BUILD_DIR/corpus/$t"  # the fuzzer adds inputs here; the committed seeds stay untouched
  mkdir -p "$work"
  seeds=()
  if [[ -d "fuzz/corpus/$t" ]]; then seeds=("fuzz/corpus/$t"); fi
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$BUILD_DIR/bin/$t" "$work" "${seeds[@]}" -max_total_time="$SECONDS_PER_TARGET" -max_len="$MAX_LEN" \
      -rss_limit_mb=2048 -timeout=20 -artifact_prefix="$BUILD_DIR/crashes/$t-" -print_final_stats=1 \
      > "$BUILD_DIR/$t.log" 2>&1; then
    echo "fuzz: $t FAILED; see $BUILD_DIR/$t.log and $BUILD_DIR/crashes/"
    tail -40 "$BUILD_DIR/$t.log"
    failed+=("$t")
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$BUILD_DIR/$t.log" | tr '\n' ' '
    echo
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: failures in ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${SECONDS_PER_TARGET}s each without failures"
