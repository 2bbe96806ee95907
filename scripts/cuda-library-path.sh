#!/usr/bin/env bash
# Prints a value for SIMCLR_CUDA_LIBRARY_PATH: the lib/ directories of pip's
# nvidia-* wheels (cuDNN, cuBLAS, NVRTC, the CUDA 13 runtime, ...) of the
# python3 on PATH, colon-separated; nothing where there are none. The GPU
# machine has its CUDA libraries only there, and the runtime, which runs no
# Python, looks in these directories first (docs/architecture.md, "The CUDA
# runtime backend"). Usage:
#   export SIMCLR_CUDA_LIBRARY_PATH="$(scripts/cuda-library-path.sh)"
set -euo pipefail
python3 - <<'PY' 2>/dev/null || true
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
dirs = []
for root in nvidia.__path__:
    dirs += sorted(d for d in glob.glob(os.path.join(root, "*", "lib")) if os.path.isdir(d))
print(":".join(dirs))
PY
