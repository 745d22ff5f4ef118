#!/usr/bin/env bash
# Installs the Debian 12 packages deepvault needs, then configures and builds it.
# Idempotent: re-running only installs what is missing and rebuilds what changed.
#
#   ./scripts/setup.sh              # Release-with-debug-info build in ./build
#   BUILD_DIR=out ./scripts/setup.sh
#   SKIP_APT=1 ./scripts/setup.sh   # build only
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}

# Keep this list exact: every package here is used by the build or the tests.
PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates ccache
  clang libclang-rt-14-dev           # libFuzzer targets (fuzz/)
  # src/common
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # engine
  libicu-dev
  # knowledge base
  libsqlite3-dev libxapian-dev libopencc-dev opencc libstemmer-dev
  libpoppler-cpp-dev libgumbo-dev libzip-dev libpugixml-dev zlib1g-dev
  python3-xapian python3-jieba       # tools/kb_reference baselines (benchmarks only)
  tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng   # OCR of scanned PDF pages (kb/parse)
  # (tools/make_doc_fixtures.sh regenerates committed fixtures; it lists its own packages)
  # security / server
  libssl-dev libboost-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [[ ${SKIP_APT:-0} != 1 && ${#missing[@]} -gt 0 ]]; then
  SUDO=""
  if [[ $(id -u) != 0 ]]; then SUDO=sudo; fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja ${CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" --parallel "${JOBS:-$(nproc)}"
echo "setup: built $BUILD_DIR/bin/deepvault"

# Official openai / ollama npm clients used by tests/server (pinned in package-lock.json).
if command -v npm >/dev/null && [[ ${SKIP_NPM:-0} != 1 ]]; then
  (cd tests/server/js && npm ci --no-audit --no-fund --silent) || echo "setup: npm ci failed; ServerJsClients will be skipped"
fi
