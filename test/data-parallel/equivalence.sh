#!/usr/bin/env bash
# Data-parallel training equals one process (issue 13), sized for CI (well
# under a minute on 2 cores): dp-tiny.toml, a ResNet stage with batch norms
# in the encoder and the projection head.
#   1. For SGD, AdamW and LARS: 2 ranks x 4 images (mpirun, simclrc
#      --data-parallel) against 1 process x 8 images (plain artifact), 6
#      steps: losses, parameters and running statistics within 1e-5
#      relative (compare_runs.py), and 3 ranks x 4 against 1 x 12 (AdamW);
#   2. the data-parallel artifact run as one process equals the plain one
#      bit for bit (the synchronized batch norm and the NT-Xent over gathered
#      rows compute exactly what the single-replica kernels compute);
#   3. resume: 2 ranks for 3 steps, then 2 ranks again to step 6, equals 6
#      straight steps of 2 ranks bit for bit; 2 ranks for 3 steps, then one
#      process of 8 images (another K, the same global batch) to step 6,
#      equals the one-process run within 1e-5; another global batch is
#      refused;
#   4. a plain artifact under mpirun is refused in one line; a rank that
#      fails (its dataset unreadable) ends the whole job with that rank's
#      one line, and a rank that stops (SIGSTOP) ends it at the
#      communication timeout, not in a hang.
# Usage: equivalence.sh SIMCLRC SIMCLR_TRAIN WORK_DIR
# Prints one line per comparison (the issue's note quotes them); exits 1 on
# the first check that fails.
set -euo pipefail

simclrc=$1
train=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
data=${SIMCLR_DP_DATA:-/usr/share/datasets/fashion-mnist}
# Open MPI refuses root without these; set here, for this test only.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=(timeout 120 mpirun --oversubscribe)
steps=6
# One thread per process on both sides (oneDNN rounds by thread count), the
# reference augmenter (in every build).
common=(--data "$data" --augment reference --seed 5 --log-every 1000)
flags=(--threads 1 "${common[@]}")

fail() {
  echo "data-parallel: FAILED: $*" >&2
  exit 1
}

command -v mpirun > /dev/null ||
  fail "mpirun not found (scripts/setup.sh installs openmpi-bin and libopenmpi-dev)"

rm -rf "$work"
mkdir -p "$work"
cd "$work"

# compile NAME BATCH OPTIMIZER_LINES [simclrc flags]
compile() {
  local name=$1 batch=$2 optimizer=$3
  shift 3
  sed -e "s/^batch_size = BATCH/batch_size = $batch/" \
      -e "s/^OPTIMIZER/$optimizer/" "$here/dp-tiny.toml" > "$name.toml"
  "$simclrc" "$name.toml" -o "$name" --cache-dir "$work/cache" "$@" > "$name.log" 2>&1 ||
    fail "simclrc $name.toml $*"
}

declare -A optimizers=(
  [sgd]='kind = "sgd"\nlr = 0.02\nmomentum = 0.9\nweight_decay = 1e-4'
  [adamw]='kind = "adamw"\nlr = 1e-3\nweight_decay = 1e-4'
  [lars]='kind = "lars"\nlr = 0.3\nmomentum = 0.9\nweight_decay = 1e-6\ntrust_coefficient = 1e-3'
)
# Learning rates of a stable run: six steps of a chaotic one (SGD at lr 0.1
# on a 4-channel network) amplify float32 rounding past 1e-5 as much
# between 1 and 2 threads of one process as between ranks. The noise floor
# line below measures that for this network (one process, 2 threads
# against 1).
for name in sgd adamw lars; do
  compile "$name-dp4" 4 "${optimizers[$name]}" --data-parallel
  compile "$name-8" 8 "${optimizers[$name]}"
  "${mpirun[@]}" -np 2 "$train" "$name-dp4" --out "run-$name-2x4" --steps $steps "${flags[@]}" > /dev/null 2>&1 ||
    fail "$name: mpirun -np 2"
  "$train" "$name-8" --out "run-$name-1x8" --steps $steps "${flags[@]}" > /dev/null 2>&1
  python3 "$here/compare_runs.py" "run-$name-2x4" "run-$name-1x8" 1e-5 1e-2 \
    "$name: 2 ranks x 4 vs 1 process x 8" || fail "$name"
done

"$train" adamw-8 --out run-adamw-1x8-2threads --steps $steps --threads 2 "${common[@]}" > /dev/null 2>&1
python3 "$here/compare_runs.py" run-adamw-1x8-2threads run-adamw-1x8 1 1 \
  "noise floor, adamw: 1 process x 8 on 2 threads vs 1 thread"

compile adamw-12 12 "${optimizers[adamw]}"
"${mpirun[@]}" -np 3 "$train" adamw-dp4 --out run-adamw-3x4 --steps $steps "${flags[@]}" > /dev/null 2>&1 ||
  fail "adamw: mpirun -np 3"
"$train" adamw-12 --out run-adamw-1x12 --steps $steps "${flags[@]}" > /dev/null 2>&1
python3 "$here/compare_runs.py" run-adamw-3x4 run-adamw-1x12 1e-5 1e-2 \
  "adamw: 3 ranks x 4 vs 1 process x 12" || fail "adamw, 3 ranks"

# 2. One replica of the data-parallel artifact is the plain artifact.
compile adamw-dp8 8 "${optimizers[adamw]}" --data-parallel
"$train" adamw-dp8 --out run-adamw-dp-1x8 --steps $steps "${flags[@]}" > /dev/null 2>&1
python3 "$here/compare_runs.py" run-adamw-dp-1x8 run-adamw-1x8 0 0 \
  "adamw: data-parallel artifact as 1 process x 8 vs plain artifact" || fail "one replica"

# 3. Resume with the same and with another number of ranks.
"${mpirun[@]}" -np 2 "$train" adamw-dp4 --out run-resume-same --steps 3 "${flags[@]}" > /dev/null 2>&1
"${mpirun[@]}" -np 2 "$train" adamw-dp4 --out run-resume-same --steps $steps --resume "${flags[@]}" > /dev/null 2>&1 ||
  fail "resume with 2 ranks"
python3 "$here/compare_runs.py" run-resume-same run-adamw-2x4 0 0 \
  "adamw: 2 ranks, resumed at step 3 by 2 ranks vs straight" || fail "resume, same ranks"
"${mpirun[@]}" -np 2 "$train" adamw-dp4 --out run-resume-other --steps 3 "${flags[@]}" > /dev/null 2>&1
"$train" adamw-dp8 --out run-resume-other --steps $steps --resume "${flags[@]}" > /dev/null 2>&1 ||
  fail "resume 2 ranks x 4 as 1 process x 8"
python3 "$here/compare_runs.py" run-resume-other run-adamw-1x8 1e-5 1e-2 \
  "adamw: 2 ranks x 4, resumed at step 3 by 1 process x 8 vs 1 process x 8" || fail "resume, other ranks"
if "$train" adamw-dp4 --out run-resume-other --steps 8 --resume "${flags[@]}" > refused.txt 2>&1; then
  fail "a resume with another global batch (1 x 4 after 2 x 4) was accepted"
fi
grep -q "global batch of 8" refused.txt || fail "another global batch: $(cat refused.txt)"
echo "data-parallel: resume with another global batch refused: $(tail -1 refused.txt)"

# 4. Refusals and failures end the job in one line.
if "${mpirun[@]}" -np 2 "$train" adamw-8 --out run-plain --steps 1 "${flags[@]}" > plain.txt 2>&1; then
  fail "a plain artifact trained under mpirun -np 2"
fi
grep -q "not compiled for data-parallel training" plain.txt || fail "plain artifact: $(cat plain.txt)"
echo "data-parallel: plain artifact under mpirun refused: $(grep -m1 'not compiled' plain.txt)"
# Rank 1 alone cannot read its dataset: rank 0 must not wait for it.
status=0
"${mpirun[@]}" -np 2 bash -c '
  data=$1; shift
  [[ $OMPI_COMM_WORLD_RANK == 1 ]] && data=$PWD/no-such-dataset
  exec "$@" --data "$data"' rank "$data" "$train" adamw-dp4 --out run-missing --steps 2 \
  --threads 1 --augment reference > missing.txt 2>&1 || status=$?
[[ $status -ne 0 && $status -ne 124 ]] || fail "a failing rank: exit $status"
grep -q "rank 1 of 2: .*no-such-dataset" missing.txt || fail "a failing rank: $(cat missing.txt)"
echo "data-parallel: rank 1's dataset unreadable: exit $status, $(grep -m1 'no-such-dataset' missing.txt)"
# Rank 1 stops (SIGSTOP) during training: rank 0 gives up at the
# communication timeout, in one line, and the job ends.
status=0
start=$SECONDS
SIMCLR_COMM_TIMEOUT=3 "${mpirun[@]}" -x SIMCLR_COMM_TIMEOUT -np 2 bash -c '
  [[ $OMPI_COMM_WORLD_RANK == 1 ]] && (sleep 1; kill -STOP $$) &
  exec "$@"' rank "$train" adamw-dp4 --out run-hang --steps 100000 "${flags[@]}" \
  > hang.txt 2>&1 || status=$?
[[ $status -ne 0 && $status -ne 124 ]] || fail "a stopped rank: exit $status after $((SECONDS - start)) s"
grep -q "communication timeout" hang.txt || fail "a stopped rank: $(cat hang.txt)"
echo "data-parallel: rank 1 stopped: job ended after $((SECONDS - start)) s, exit $status, $(grep -o 'simclr: rank . of 2: communication timeout.*' hang.txt | head -1)"
