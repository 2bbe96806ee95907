#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, compile the default spec
# (examples/fashion-mnist.toml, or the spec given as $1) into an artifact and
# train it on real images for the spec's whole schedule (the default spec:
# 8 epochs, 1872 steps, about 12 minutes on 2 quiet cores; SIMCLR_MAIN_STEPS=N
# trains N steps instead), summarize the run, and
# evaluate its final checkpoint with simclr-eval: kNN and linear probe of the
# trained encoder against a random encoder and raw pixels, on the first
# SIMCLR_EVAL_MAX_TRAIN training images (default 10000; 0: all 60000) and the
# whole test split (about 2 minutes; the raw-pixel linear probe dominates and
# grows with the number of images). SIMCLR_MAIN_KNN_EVERY=K (default 0: off) also logs a kNN monitor
# every K training steps in metrics.csv.
# With SIMCLR_MAIN_EVAL_ONLY=1 the setup, build, compile and training steps
# are skipped and an existing run is evaluated.
set -euo pipefail
cd "$(dirname "$0")/.."

spec=${1:-examples/fashion-mnist.toml}
steps=${SIMCLR_MAIN_STEPS:-}
eval_max_train=${SIMCLR_EVAL_MAX_TRAIN:-10000}
knn_every=${SIMCLR_MAIN_KNN_EVERY:-0}
eval_only=${SIMCLR_MAIN_EVAL_ONLY:-0}
out=${SIMCLR_MAIN_OUT:-out}
if [[ "$eval_only" != 1 ]]; then
  bash scripts/setup.sh
  bash scripts/build.sh
fi
mkdir -p "$out"

simclrc=build/bin/simclrc
name=$(basename "$spec" .toml)
artifact="$out/$name"
run="$out/$name-run"

if [[ "$eval_only" != 1 ]]; then
  echo "== compiling $spec"
  "$simclrc" "$spec" -o "$artifact" --fusion-report
  "$simclrc" "$spec" --emit=memory-plan | sed -n '1,3p'

  echo
  budget=()
  if [[ -n "$steps" ]]; then
    budget=(--steps "$steps")
  fi
  echo "== training ${steps:-the whole schedule of} steps (2 threads; Ctrl-C writes a checkpoint, rerunning resumes)"
  resume=()
  if [[ -d "$run/checkpoints" ]]; then
    resume=(--resume)
  fi
  build/bin/simclr-train "$artifact" "${budget[@]}" --out "$run" --threads 2 \
    --knn-every "$knn_every" "${resume[@]}"
fi

echo
echo "== $run"
awk -F, 'NR == 2 { first = $3; s0 = $1 } NR > 1 { last = $3; s1 = $1 }
         END { printf "  loss %s at step %s -> %s at step %s\n", first, s0, last, s1 }' "$run/metrics.csv"
echo "  metrics:     $run/metrics.csv"
echo "  loss curve:  $run/loss.svg"
echo "  checkpoints: $(ls "$run/checkpoints" | tr '\n' ' ')"

checkpoint=$(ls "$run"/checkpoints/step-*.safetensors | sort | tail -n 1)
echo
echo "== evaluating $checkpoint (first $eval_max_train training images; 0: all)"
build/bin/simclr-eval "$checkpoint" --threads 2 --max-train "$eval_max_train"
echo
echo "== where to look"
echo "  run directory:  $run"
echo "  evaluation:     $run/eval.json"
echo "  pictures:       $run/loss.svg (training loss), $run/embeddings.svg (PCA of test features)"
