#!/usr/bin/env bash
# Configures and builds simclrc (Release, Ninja, ccache, 2 jobs).
#   scripts/build.sh                  the whole project into build/
#   scripts/build.sh --runtime-only   lib/ and runtime/ only (no MLIR/LLVM) into build-runtime/
#   scripts/build.sh --sanitize       the runtime-only configuration with ASan+UBSan into build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
build_type=Release
options=()
if [[ "${1:-}" == "--runtime-only" ]]; then
  build_dir=build-runtime
  options+=(-DSIMCLR_BUILD_COMPILER=OFF)
elif [[ "${1:-}" == "--sanitize" ]]; then
  # The part that reads user files and runs for hours, under ASan+UBSan
  # (docs/reliability.md). -O1 -g1, as ASan's documentation suggests: line
  # tables name every frame of a report, and the build takes half the time
  # of -O2 -g (CI's budget), the suite a little longer.
  build_dir=build-asan
  build_type=RelWithDebInfo
  options+=(-DSIMCLR_BUILD_COMPILER=OFF -DSIMCLR_SANITIZE=address
            "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
            "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
  # The Halide generators run at build time and link LLVM 14, whose
  # allocations live until exit: LeakSanitizer would fail the build on them.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
elif [[ -n "${1:-}" ]]; then
  echo "build.sh: error: unknown argument '$1' (expected --runtime-only, --sanitize or nothing)" >&2
  exit 2
fi

jobs=${SIMCLR_JOBS:-2}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=$build_type "${options[@]}" >/dev/null
cmake --build "$build_dir" -j "$jobs"
