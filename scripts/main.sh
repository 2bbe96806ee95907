#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, compile the default spec
# (examples/fashion-mnist.toml, or the spec given as $1) into an artifact and
# train it on real images for a short budget (SIMCLR_MAIN_STEPS steps,
# default 120: about four minutes on 2 cores), then summarize the run.
set -euo pipefail
cd "$(dirname "$0")/.."

spec=${1:-examples/fashion-mnist.toml}
steps=${SIMCLR_MAIN_STEPS:-120}
out=out
bash scripts/setup.sh
bash scripts/build.sh
mkdir -p "$out"

simclrc=build/bin/simclrc
name=$(basename "$spec" .toml)
artifact="$out/$name"
run="$out/$name-run"

echo "== compiling $spec"
"$simclrc" "$spec" -o "$artifact" --fusion-report
"$simclrc" "$spec" --emit=memory-plan | sed -n '1,3p'

echo
echo "== training $steps steps (2 threads; interrupt with Ctrl-C: a checkpoint is written)"
resume=()
if [[ -d "$run/checkpoints" ]]; then
  resume=(--resume)
fi
build/bin/simclr-train "$artifact" --steps "$steps" --out "$run" --threads 2 "${resume[@]}"

echo
echo "== $run"
awk -F, 'NR == 2 { first = $3; s0 = $1 } NR > 1 { last = $3; s1 = $1 }
         END { printf "  loss %s at step %s -> %s at step %s\n", first, s0, last, s1 }' "$run/metrics.csv"
echo "  metrics:     $run/metrics.csv"
echo "  loss curve:  $run/loss.svg"
echo "  checkpoints: $(ls "$run/checkpoints" | tr '\n' ' ')"
