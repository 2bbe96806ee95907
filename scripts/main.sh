#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, compile the default spec
# (examples/fashion-mnist.toml) and show its graph-level IR and size.
set -euo pipefail
cd "$(dirname "$0")/.."

spec=${1:-examples/fashion-mnist.toml}
out=out
bash scripts/setup.sh
bash scripts/build.sh
mkdir -p "$out"

name=$(basename "$spec" .toml)
graph="$out/$name.graph.mlir"
build/bin/simclrc "$spec" --emit=graph -o "$graph"
echo
echo "== $spec"
build/bin/simclrc "$spec" --print-param-count | sed 's/^/  parameters, /'
echo "  graph-level IR: $graph ($(grep -c 'simclr\.' "$graph") simclr ops)"
echo
sed -n '1,40p' "$graph" | cut -c1-160
echo "  ..."
