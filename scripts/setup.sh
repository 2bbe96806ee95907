#!/usr/bin/env bash
# Installs everything simclrc's build, tests and main job need on Debian 12 (idempotent; run as root).
set -euo pipefail

packages=(
  # Build tools.
  cmake ninja-build ccache g++ python3 git
  # Compiler side: MLIR/LLVM 19 (FileCheck, not and lit.py come with llvm-19-tools).
  libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
  # Augmentation kernels: Halide 14; its CMake config needs LLVM 14's.
  libhalide14-0-dev llvm-14-dev
  # Libraries shared by compiler and runtime.
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libssl-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev
  # CPU convolution/GEMM libraries timed by bench/conv_gemm_bench.cpp (optional in CMake).
  libopenblas-dev libdnnl-dev libblis-dev
  # Data-parallel training (runtime/Collective, optional in CMake): Open MPI.
  openmpi-bin libopenmpi-dev
  # Tests.
  googletest libgtest-dev libgmock-dev
  # fuzz/ (libFuzzer, ASan, UBSan): clang 14 and its runtime libraries.
  clang-14 libclang-rt-14-dev
  # bench/venv.sh: a venv of Debian's python3 with PyTorch 2.x from PyPI; torch.compile
  # builds C++ (g++ above) against Python.h.
  python3-venv python3-dev
  # Real data for the main job.
  dataset-fashion-mnist
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: error: missing packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup.sh: all ${#packages[@]} packages present"
