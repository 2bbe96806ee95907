#!/usr/bin/env bash
# data-parallel.sh - K ranks x 1 thread against 1 process x K threads, one
# spec, back to back (issue 13's measurement; docs/benchmarks.md).
#
#   bench/data-parallel.sh [--spec SPEC] [--ranks K] [--steps S] [--warmup W]
#                          [--bucket-bytes B] [--build DIR] [--work DIR]
#
# Not a speed-up claim on a machine with K cores: both sides use the same K
# cores. It checks that data parallelism costs what its communication costs
# and no more (nothing serialized, the gradient buckets overlapping the
# backward) and that both sides train the same model:
#   1. compiles SPEC (default examples/fashion-mnist.toml, global batch B) as
#      a plain artifact of batch B and as a --data-parallel artifact of batch
#      B / K (gradient buckets of --bucket-bytes, simclrc's default unless
#      given: the default spec's 388 KB of gradients are then one bucket,
#      issued at the end of the backward; smaller buckets show the overlap);
#   2. trains W + S steps each (reference augmentation on both, so that the
#      pipelines match; --threads K for the one process, 1 per rank):
#      simclr-train ... and mpirun --oversubscribe -np K simclr-train ...;
#   3. prints images/s over the last S steps (metrics.csv), the step time
#      each reports, the ranks' communication line (time blocked in
#      collectives, time in flight, bytes per step and rank), and the loss
#      and parameter agreement of the two runs (test/data-parallel/
#      compare_runs.py; float32 rounding differs between the two, so after
#      many steps agreement is a trend, not 1e-5).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
spec=$root/examples/fashion-mnist.toml
ranks=2
steps=40
warmup=5
build=$root/build
work=${TMPDIR:-/tmp}/simclr-bench-data-parallel
bucket=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --spec) spec=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --bucket-bytes) bucket=(--gradient-bucket-bytes "$2"); shift 2 ;;
    --build) build=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "data-parallel.sh: error: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
command -v mpirun > /dev/null ||
  { echo "data-parallel.sh: error: mpirun not found (scripts/setup.sh installs Open MPI)" >&2; exit 1; }
batch=$(sed -n 's/^batch_size *= *\([0-9]*\).*/\1/p' "$spec")
(( batch % ranks == 0 )) ||
  { echo "data-parallel.sh: error: $spec's batch $batch is not divisible by $ranks ranks" >&2; exit 1; }
# mpirun as root needs these; set for this script only.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

rm -rf "$work"
mkdir -p "$work"
sed "s/^batch_size *= *[0-9]*/batch_size = $((batch / ranks))/" "$spec" > "$work/per-rank.toml"
"$build/bin/simclrc" "$spec" -o "$work/plain" --cache-dir "$work/cache" > /dev/null 2>&1
"$build/bin/simclrc" "$work/per-rank.toml" --data-parallel "${bucket[@]}" -o "$work/dp" \
  --cache-dir "$work/cache" > /dev/null 2>&1

total=$((warmup + steps))
common=(--steps "$total" --augment reference --seed 0 --log-every 1000)
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(basename "$spec"): global batch $batch, $total steps ($warmup warm-up)${bucket[*]:+, ${bucket[*]}}"
"$build/bin/simclr-train" "$work/plain" --out "$work/run-1" --threads "$ranks" "${common[@]}" \
  > "$work/run-1.txt" 2>&1
mpirun --oversubscribe -np "$ranks" "$build/bin/simclr-train" "$work/dp" --out "$work/run-$ranks" \
  --threads 1 "${common[@]}" > "$work/run-$ranks.txt" 2>&1

rate() { # images/s over the rows after the warm-up (metrics.csv's images_per_s is per step)
  python3 - "$1" "$warmup" <<'EOF'
import sys
rows = open(sys.argv[1]).read().splitlines()
header = rows[0].split(",")
col_ms, col_rate = header.index("step_ms"), header.index("images_per_s")
kept = [r.split(",") for r in rows[1 + int(sys.argv[2]):]]
ms = sum(float(r[col_ms]) for r in kept) / len(kept)
rate = sum(float(r[col_rate]) for r in kept) / len(kept)
print(f"{rate:.0f} images/s, {ms:.1f} ms per step")
EOF
}
echo "1 process x $ranks threads, batch $batch:      $(rate "$work/run-1/metrics.csv")"
echo "$ranks ranks x 1 thread, batch $((batch / ranks)) each: $(rate "$work/run-$ranks/metrics.csv")"
grep -o "communication (.*" "$work/run-$ranks.txt" || true
python3 "$root/test/data-parallel/compare_runs.py" "$work/run-$ranks" "$work/run-1" 1 1 \
  "agreement, $ranks ranks vs 1 process" || true
