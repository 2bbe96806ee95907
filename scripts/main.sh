#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, and compile the default
# spec (examples/fashion-mnist.toml, or the spec given as $1) to its graph,
# its whole training step and its initial weights, then summarize them.
set -euo pipefail
cd "$(dirname "$0")/.."

spec=${1:-examples/fashion-mnist.toml}
out=out
bash scripts/setup.sh
bash scripts/build.sh
mkdir -p "$out"

simclrc=build/bin/simclrc
name=$(basename "$spec" .toml)
graph="$out/$name.graph.mlir"
step="$out/$name.train-step.mlir"
weights="$out/$name.init.safetensors"
"$simclrc" "$spec" --emit=graph -o "$graph"
"$simclrc" "$spec" --emit=train-step -o "$step"
"$simclrc" "$spec" --init-weights "$weights" --seed 0

# Ops of one function of an IR file, most frequent first.
op_histogram() {
  sed -n "/func.func @$2(/,/^  }/p" "$1" | grep -o '= simclr\.[a-z_0-9]*' |
    sed 's/= simclr\.//' | sort | uniq -c | sort -rn |
    awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2} END {print ""}'
}

echo
echo "== $spec"
"$simclrc" "$spec" --print-param-count | sed 's/^/  parameters, /'
echo "  graph IR:        $graph ($(grep -c '= simclr\.' "$graph") ops)"
echo "  train step IR:   $step ($(grep -c '= simclr\.' "$step") ops)"
echo "  initial weights: $weights ($(du -h "$weights" | cut -f1))"
echo
echo "  @train_step ops: $(op_histogram "$step" train_step)"
echo
echo "  Inspect a stage with e.g. '$simclrc $spec --emit=train-step --mlir-print-ir-after-all'."
