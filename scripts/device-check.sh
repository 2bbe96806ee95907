#!/usr/bin/env bash
# The CUDA target's checks on a GPU (issue 12), in two halves:
#
#   scripts/device-check.sh prepare   here, on the build machine: builds,
#       compiles the CUDA and CPU artifacts of the default spec and the
#       CIFAR-10 ResNet-18 spec, and the default spec's --data-parallel CUDA
#       artifact, with simclrc (NVRTC, no GPU needed), and packs
#       what the GPU machine lacks (our binaries, the non-system libraries
#       they load: oneDNN, OpenBLAS, ..., Fashion-MNIST) into build/device-bundle
#       (under 64 MiB: it travels with the working tree; carry it).
#   scripts/device-check.sh run       on the GPU machine (driver, nvcc, the
#       pip nvidia-* wheels and PyTorch there; none of our Debian packages):
#       runs every check in order and prints a short table last. On a
#       machine without a GPU it stops at the first GPU call with the
#       runtime's one-line reason and exit code 1 (the dry run).
#
# The device tool: run(command="bash scripts/device-check.sh run",
#   carry=["build/device-bundle"], timeout_s=480).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=build/device-bundle
mode=${1:-}

prepare() {
  bash scripts/build.sh
  bash scripts/build.sh --runtime-only
  rm -rf "$bundle" && mkdir -p "$bundle"/{bin,lib,artifacts,data}
  for spec in fashion-mnist cifar10-simclr-paper; do
    build/bin/simclrc "examples/$spec.toml" --target=cuda -o "$bundle/artifacts/$spec-cuda"
    build/bin/simclrc "examples/$spec.toml" --target=cpu --arch=x86-64-v2 \
      -o "$bundle/artifacts/$spec-cpu"
  done
  build/bin/simclrc examples/fashion-mnist.toml --target=cuda --data-parallel \
    -o "$bundle/artifacts/fashion-mnist-dp-cuda"
  local binaries=(simclr-train simclr-eval simclr-train-step-bench CudaRuntimeTests)
  for binary in "${binaries[@]}"; do
    cp "build-runtime/bin/$binary" "$bundle/bin/"
  done
  # The CUDA runtime tests' own cubin (built by nvcc here).
  cp build-runtime/bin/*.cubin "$bundle/bin/" 2>/dev/null || true
  # Every library the binaries load that is not glibc's or the driver's.
  for binary in "${binaries[@]}"; do
    ldd "build-runtime/bin/$binary" | awk '/=> \// {print $3}'
  done | sort -u | grep -vE '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' |
    while read -r library; do cp -L "$library" "$bundle/lib/"; done
  # 60,000 training images: the default spec trains on real data there.
  cp /usr/share/datasets/fashion-mnist/train-*-ubyte.gz "$bundle/data/"
  tar -C "$bundle" -cJf "$bundle/lib.tar.xz" lib && rm -rf "$bundle/lib"
  du -sh "$bundle"
  local bytes
  bytes=$(du -sb "$bundle" | cut -f1)
  if (( bytes > 60 * 1024 * 1024 )); then
    echo "device-check.sh: error: $bundle is $bytes bytes; the device tool carries at most 64 MiB" >&2
    exit 1
  fi
}

# Prints "name | result" rows into $table as the checks pass or fail.
table=$(mktemp)
row() { printf '%-44s | %s\n' "$1" "$2" | tee -a "$table"; }
fail() {
  row "$1" "FAILED: $2"
  echo; echo "== device-check.sh summary"; cat "$table"
  exit 1
}

run() {
  [[ -d $bundle ]] || { echo "device-check.sh: error: no $bundle; run 'scripts/device-check.sh prepare' on the build machine and carry it" >&2; exit 2; }
  local work
  work=$(mktemp -d)
  tar -C "$work" -xJf "$bundle/lib.tar.xz"
  export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  SIMCLR_CUDA_LIBRARY_PATH="$(bash scripts/cuda-library-path.sh)"
  export SIMCLR_CUDA_LIBRARY_PATH
  local bin=$bundle/bin art=$bundle/artifacts
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true

  # 1. The runtime backend on the GPU: kernels, the three convolutions,
  #    matmul, collectives, eager / captured / replayed, a second executor
  #    bit-identical. The first GPU call: on a machine without one this is
  #    where the dry run stops.
  SIMCLR_REQUIRE_GPU=1 "$bin/CudaRuntimeTests" --gtest_filter='CudaDevice*' >"$work/runtime.log" 2>&1 ||
    { grep -m1 -E 'CUDA unavailable|error:' "$work/runtime.log" || tail -3 "$work/runtime.log"
      fail "CUDA backend on the GPU" "see the line above"; }
  row "CUDA backend on the GPU (CudaDevice*)" "passed"

  # 2. Every CUDA template against the CPU template at the CIFAR sizes.
  nvcc -arch=sm_90 -std=c++17 -O3 -Ilib/include test/unit/cuda/DeviceTemplateCheck.cu \
    -o "$work/device-template-check"
  "$work/device-template-check" | tee "$work/templates.log" | tail -3 ||
    fail "CUDA templates against the CPU's" "see above"
  row "CUDA templates against the CPU's (1e-4)" "passed"

  # 3. The same 20 steps of the default spec on the GPU and on the CPU
  #    (same seed, same data, same augmentations): losses within 1e-4.
  local data=$bundle/data
  "$bin/simclr-train" "$art/fashion-mnist-cuda" --out "$work/gpu20" --data "$data" --steps 20 --seed 1 >/dev/null
  "$bin/simclr-train" "$art/fashion-mnist-cpu" --out "$work/cpu20" --data "$data" --steps 20 --seed 1 --threads 16 >/dev/null
  python3 - "$work/gpu20/metrics.csv" "$work/cpu20/metrics.csv" <<'PY' || fail "GPU steps against CPU steps" "losses differ"
import csv, sys
gpu, cpu = ([float(r["loss"]) for r in csv.DictReader(open(p))] for p in sys.argv[1:3])
worst = max(abs(g - c) / abs(c) for g, c in zip(gpu, cpu))
print(f"20 steps: GPU loss {gpu[-1]:.6f}, CPU loss {cpu[-1]:.6f}, worst relative difference {worst:.2e}")
sys.exit(0 if worst <= 1e-4 and len(gpu) == len(cpu) == 20 else 1)
PY
  row "20 steps GPU vs CPU (losses, 1e-4)" "passed"

  # 3b. The data-parallel artifact as one rank (no mpirun there): the NT-Xent
  #     over gathered rows, the split batch norms and the collectives'
  #     single-rank path, against the plain artifact's 20 steps of 3.
  "$bin/simclr-train" "$art/fashion-mnist-dp-cuda" --out "$work/dp20" --data "$data" --steps 20 --seed 1 >/dev/null
  python3 - "$work/dp20/metrics.csv" "$work/gpu20/metrics.csv" <<'PY' || fail "data-parallel, one rank, vs plain" "losses differ"
import csv, sys
dp, plain = ([float(r["loss"]) for r in csv.DictReader(open(p))] for p in sys.argv[1:3])
worst = max(abs(d - p) / abs(p) for d, p in zip(dp, plain))
print(f"20 steps: data-parallel (1 rank) loss {dp[-1]:.6f}, plain {plain[-1]:.6f}, worst relative difference {worst:.2e}")
sys.exit(0 if worst <= 1e-5 and len(dp) == len(plain) == 20 else 1)
PY
  row "20 steps data-parallel x1 vs plain (1e-5)" "passed"

  # 4. 200 steps of the default spec on real Fashion-MNIST: the loss falls.
  "$bin/simclr-train" "$art/fashion-mnist-cuda" --out "$work/gpu200" --data "$data" --steps 200 --seed 1 >/dev/null
  python3 - "$work/gpu200/metrics.csv" <<'PY' || fail "200 steps, loss falling" "it does not"
import csv, statistics, sys
loss = [float(r["loss"]) for r in csv.DictReader(open(sys.argv[1]))]
first, last = statistics.mean(loss[:10]), statistics.mean(loss[-10:])
print(f"200 steps: mean loss of the first 10 {first:.4f}, of the last 10 {last:.4f}")
sys.exit(0 if last < 0.9 * first else 1)
PY
  row "200 steps on Fashion-MNIST, loss falling" "passed"

  # 5. Resume on the GPU is bit-identical to a straight run.
  "$bin/simclr-train" "$art/fashion-mnist-cuda" --out "$work/straight" --data "$data" --steps 40 --checkpoint-every 20 --seed 2 >/dev/null
  "$bin/simclr-train" "$art/fashion-mnist-cuda" --out "$work/resumed" --data "$data" --steps 20 --checkpoint-every 20 --seed 2 >/dev/null
  "$bin/simclr-train" "$art/fashion-mnist-cuda" --out "$work/resumed" --data "$data" --steps 40 --checkpoint-every 20 --seed 2 --resume >/dev/null
  cmp "$work/straight/checkpoints/step-00000040.safetensors" \
      "$work/resumed/checkpoints/step-00000040.safetensors" ||
    fail "resume bit-identical" "checkpoints differ"
  row "resume bit-identical to a straight run" "passed"

  # 6. A GPU checkpoint evaluates on the CPU artifact of the same spec.
  "$bin/simclr-eval" "$work/straight/checkpoints/step-00000040.safetensors" \
    --artifact "$art/fashion-mnist-cpu" --data "$data" --max-train 5000 --max-test 1000 --no-baselines >"$work/eval.log" 2>&1 ||
    { tail -3 "$work/eval.log"; fail "GPU checkpoint on the CPU artifact" "see above"; }
  row "GPU checkpoint evaluated by the CPU artifact" "passed"

  # 7. compute-sanitizer on a few steps.
  if command -v compute-sanitizer >/dev/null; then
    compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/simclr-train" \
      "$art/fashion-mnist-cuda" --out "$work/sanitized" --data "$data" --steps 3 >"$work/sanitizer.log" 2>&1 ||
      { tail -5 "$work/sanitizer.log"; fail "compute-sanitizer memcheck" "see above"; }
    row "compute-sanitizer memcheck, 3 steps" "$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$work/sanitizer.log" | tail -1)"
  fi

  # 8. ResNet-18 CIFAR batch 512, float32: simclrc against PyTorch eager
  #    and torch.compile on the same card (TF32 off on both sides).
  local ours eager compiled
  ours=$("$bin/simclr-train-step-bench" "$art/cifar10-simclr-paper-cuda" --steps 10 --warmup 2 |
    sed -nE 's/^ms\/step: mean [0-9.]+, median ([0-9.]+),.*/\1/p')
  eager=$(python3 bench/pytorch_simclr.py examples/cifar10-simclr-paper.toml --mode step --device cuda --steps 10 --warmup 2 |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["step"]["median_ms"], 2))')
  compiled=$(python3 bench/pytorch_simclr.py examples/cifar10-simclr-paper.toml --mode step --device cuda --steps 10 --warmup 3 --compile |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["step"]["median_ms"], 2))' || echo "n/a")
  row "ResNet-18 b512 f32 step: simclrc / eager / compile" "$ours / $eager / $compiled ms"

  echo; echo "== device-check.sh summary"; cat "$table"
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: scripts/device-check.sh prepare|run" >&2; exit 2 ;;
esac
