#!/usr/bin/env bash
# Runs every test from a fresh machine: installs dependencies, builds the
# whole project and the runtime-only configuration, then runs ctest on both
# (GoogleTest unit tests, the lit + FileCheck suite, fault injection), and
# the runtime-only unit suite once more under ASan+UBSan.
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

# The runtime-only configuration again under ASan+UBSan (docs/reliability.md):
# the code that reads user files and runs for hours. Any finding fails its test.
start=$(date +%s)
bash scripts/build.sh --sanitize
echo "test.sh: sanitizer build in $(( $(date +%s) - start )) s"
(source scripts/sanitizers/env.sh && cd build-asan && ctest --output-on-failure -j "${SIMCLR_JOBS:-2}")
echo "test.sh: sanitizer build and tests in $(( $(date +%s) - start )) s"

# Fuzz smoke runs (docs/reliability.md, "Fuzzing"): the runtime readers'
# fuzzers, built with clang-14 in the runtime-only configuration (about 3
# minutes on 2 cores), 20 s each over the committed corpus plus new inputs;
# any finding fails. The MLIR-using fuzzers (spec, mlir) need ~10 more
# minutes of clang build and run outside CI: fuzz/run.sh --build.
start=$(date +%s)
FUZZ_BUILD_DIR=build-fuzz-runtime SIMCLR_BUILD_COMPILER=OFF bash fuzz/run.sh --build
FUZZ_BUILD_DIR=build-fuzz-runtime bash fuzz/run.sh --smoke 20
echo "test.sh: fuzz build and smoke runs in $(( $(date +%s) - start )) s"
