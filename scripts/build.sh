#!/usr/bin/env bash
# Configures and builds simclrc (Release, Ninja, ccache, 2 jobs).
#   scripts/build.sh                  the whole project into build/
#   scripts/build.sh --runtime-only   lib/ and runtime/ only (no MLIR/LLVM) into build-runtime/
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
options=()
if [[ "${1:-}" == "--runtime-only" ]]; then
  build_dir=build-runtime
  options+=(-DSIMCLR_BUILD_COMPILER=OFF)
elif [[ -n "${1:-}" ]]; then
  echo "build.sh: error: unknown argument '$1' (expected --runtime-only or nothing)" >&2
  exit 2
fi

jobs=${SIMCLR_JOBS:-2}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${options[@]}" >/dev/null
cmake --build "$build_dir" -j "$jobs"
