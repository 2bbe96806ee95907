#!/usr/bin/env bash
# Runs every test from a fresh machine: installs dependencies, builds the
# whole project and the runtime-only configuration, then runs ctest on both
# (GoogleTest unit tests and the lit + FileCheck suite).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
start=$(date +%s)
bash scripts/build.sh
bash scripts/build.sh --runtime-only
echo "test.sh: built in $(( $(date +%s) - start )) s"

# The runtime must build and pass its tests without MLIR or LLVM.
(cd build-runtime && ctest --output-on-failure -j "${SIMCLR_JOBS:-2}")
(cd build && ctest --output-on-failure -j "${SIMCLR_JOBS:-2}")
