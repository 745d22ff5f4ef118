#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite. Exits non-zero on any failure.
#
#   ./scripts/test.sh                 # build ./build and run every test
#   BUILD_DIR=build-asan CMAKE_ARGS="-DDEEPVAULT_SANITIZE=ON" ./scripts/test.sh
#   ./scripts/test.sh -R Tokenizer    # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja ${CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" --parallel "$JOBS"
ctest --test-dir "$BUILD_DIR" --output-on-failure --parallel "$JOBS" --timeout 600 "$@"
