#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages), builds everything and
# runs the whole suite with CTest.
#   scripts/test.sh              release-like build in build/
#   scripts/test.sh --sanitize   AddressSanitizer + UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON)
fi

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
else
  echo "test: not root, assuming the dependencies are installed (scripts/install-deps.sh)"
fi

jobs=$(nproc)
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}"
cmake --build "$build_dir" -j "$jobs"
# halt_on_error keeps the first report readable; detect_leaks stays on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Third-party leaks only (OpenSSL under gRPC TLS); see the file.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp}
cd "$build_dir"
ctest --output-on-failure -j "$jobs" --timeout 1500
