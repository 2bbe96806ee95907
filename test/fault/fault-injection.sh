#!/usr/bin/env bash
# Faults during training (issue 14), sized for CI (about a minute on 2 cores):
#   1. SIGKILL at 20 random moments of a run that checkpoints every step,
#      each followed by --resume; the final checkpoint must equal a straight
#      run's byte for byte, and each kill may lose only the steps since the
#      newest checkpoint;
#   2. a full disk while a checkpoint is written: one line, a non-zero exit,
#      the previous checkpoint intact and resumable;
#   3. the dataset deleted, then replaced by a corrupt file, during a run;
#   4. two simclr-train on one run directory: the second is refused;
#   5. two simclrc compiling one spec at once, into one shared kernel cache
#      and into one output directory: every artifact loads and trains.
# Usage: fault-injection.sh SIMCLRC SIMCLR_TRAIN WORK_DIR
# Prints one line per finding and a summary (docs/reliability.md quotes it);
# exits 1 on the first check that fails.
set -euo pipefail

simclrc=$1
train=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
spec=$here/fault-tiny.toml
data_source=${SIMCLR_FAULT_DATA:-/usr/share/datasets/fashion-mnist}
# Kills, and the step count of the run they interrupt (fault-tiny.toml's
# schedule: 6 epochs x 8 steps).
kills=${SIMCLR_FAULT_KILLS:-20}
steps=48
# Training flags shared by every run: one thread (oneDNN's reductions round
# by thread count; bit-identical resume needs the same one), the reference
# augmenter (present in every build), a checkpoint after every step so that
# kills land inside checkpoint writes.
run_flags=(--steps "$steps" --threads 1 --augment reference --checkpoint-every 1)

fail() {
  echo "fault-injection: FAILED: $*" >&2
  exit 1
}

rm -rf "$work"
mkdir -p "$work"
cd "$work"

# A 64-image copy of Fashion-MNIST's training split: starting a run reads
# it in milliseconds, so kills fall into training rather than data loading.
python3 - "$data_source" data <<'EOF'
import gzip, os, struct, sys
source, target = sys.argv[1], sys.argv[2]
count = 64
os.makedirs(target, exist_ok=True)
def copy(name, header, item):
    with gzip.open(os.path.join(source, name + ".gz"), "rb") as f:
        magic = f.read(4)
        dims = f.read(4 * (header - 1))
        body = f.read(count * item)
    with open(os.path.join(target, name), "wb") as f:
        f.write(magic + struct.pack(">I", count) + dims[4:] + body)
copy("train-images-idx3-ubyte", 4, 28 * 28)
copy("train-labels-idx1-ubyte", 2, 1)
EOF

"$simclrc" "$spec" -o artifact --cache-dir cache >/dev/null

newest_checkpoint() { # RUN_DIR -> the newest step-N.safetensors or nothing
  { ls "$1"/checkpoints/step-*.safetensors 2>/dev/null || true; } | sort | tail -n 1
}

# --- 1. Kills ---------------------------------------------------------------
start=$(date +%s.%N)
"$train" artifact --data data --out straight "${run_flags[@]}" >/dev/null 2>straight.err ||
  fail "the straight run failed: $(cat straight.err)"
straight_ms=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", (b - a) * 1000 }')
final=straight/checkpoints/step-$(printf %08d "$steps").safetensors
[[ -f $final ]] || fail "the straight run left no $final"

# Each kill lands at a uniformly random moment in [0, a tenth of the
# straight run's time], so that 20 runs cover the whole run; RANDOM is
# seeded for a reproducible schedule.
RANDOM=14
window_ms=$(( straight_ms / 10 > 20 ? straight_ms / 10 : 20 ))
survived=0 during_write=0 finished_early=0
for ((k = 1; k <= kills; ++k)); do
  before=$(newest_checkpoint killed)
  "$train" artifact --data data --out killed --resume "${run_flags[@]}" >/dev/null 2>>killed.err &
  pid=$!
  delay_ms=$(( (RANDOM * 32768 + RANDOM) % (window_ms + 1) ))
  sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
  if kill -KILL "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    # A temporary checkpoint left behind: the kill hit a write.
    if ls killed/checkpoints/*.tmp-* >/dev/null 2>&1; then
      during_write=$((during_write + 1))
    fi
    after=$(newest_checkpoint killed)
    # Progress is never lost beyond the newest checkpoint: it only grows.
    if [[ -n $before && ( -z $after || $after < $before ) ]]; then
      fail "kill $k: the newest checkpoint went back from $before to ${after:-none}"
    fi
    survived=$((survived + 1))
  else
    wait "$pid" || fail "run $k exited non-zero before its kill: $(tail -n 1 killed.err)"
    finished_early=$((finished_early + 1))
  fi
done
"$train" artifact --data data --out killed --resume "${run_flags[@]}" >/dev/null 2>>killed.err ||
  fail "the final --resume failed: $(tail -n 1 killed.err)"
cmp "$final" "killed/checkpoints/step-$(printf %08d "$steps").safetensors" ||
  fail "after $survived kills the final checkpoint differs from the straight run's"
# Steps computed twice: metrics rows beyond the steps of a straight run
# (each resume truncates metrics.csv to its checkpoint and reruns the rest).
rows=$(($(wc -l < killed/metrics.csv) - 1))
[[ $rows -eq $steps ]] || fail "metrics.csv has $rows rows after resuming, expected $steps"
echo "kills: $survived survived ($during_write during a checkpoint write, $finished_early runs ended before their kill); final checkpoint identical to the straight run's"

# --- 2. A full disk while a checkpoint is written -------------------------------
# A run of 3 steps, then its resume with room for less than one more
# checkpoint. A small tmpfs where this runs as root and may mount (ENOSPC);
# otherwise RLIMIT_FSIZE, whose write failure (EFBIG, with SIGXFSZ ignored)
# takes the same path.
checkpoint_bytes=$(stat -c %s "$final")
mkdir -p full
how="RLIMIT_FSIZE"
if [[ $(id -u) -eq 0 ]] && mount -t tmpfs -o size=64m tmpfs full 2>/dev/null; then
  how="tmpfs"
fi
"$train" artifact --data data --out full/run --steps 3 --threads 1 --augment reference --checkpoint-every 1 >/dev/null 2>full-first.err ||
  fail "a full disk: the first run failed: $(cat full-first.err)"
used_kib=$(du -sk full/run | cut -f1)
set +e
if [[ $how == tmpfs ]]; then
  # Remount to what is used plus half a checkpoint.
  mount -o remount,size=$(( used_kib + checkpoint_bytes / 2048 ))k full
  "$train" artifact --data data --out full/run --resume "${run_flags[@]}" >/dev/null 2>full.err
  status=$?
else
  (trap '' XFSZ; ulimit -f $(( checkpoint_bytes / 2048 )); exec "$train" artifact --data data --out full/run --resume "${run_flags[@]}" >/dev/null 2>full.err)
  status=$?
fi
set -e
[[ $status -ne 0 ]] || fail "a full disk: simclr-train exited 0"
[[ $(grep -c error full.err) -eq 1 ]] || fail "a full disk: not one error line: $(cat full.err)"
grep -q "simclr-train: error: .*step-000000[0-9][0-9].safetensors" full.err ||
  fail "a full disk: the error does not name the checkpoint: $(cat full.err)"
kept=$(newest_checkpoint full/run)
[[ -n $kept ]] || fail "a full disk: no checkpoint left"
cp -r full/run full-copy
if [[ $how == tmpfs ]]; then umount full; fi
"$train" artifact --data data --out full-copy --resume "${run_flags[@]}" >/dev/null 2>full-resume.err ||
  fail "a full disk: the previous checkpoint does not resume: $(tail -n 1 full-resume.err)"
cmp "$final" full-copy/checkpoints/step-$(printf %08d "$steps").safetensors ||
  fail "a full disk: the resumed run differs from the straight run"
echo "full disk ($how): exit $status, '$(grep error full.err)'; $(basename "$kept") intact and resumed to the straight run's result"

# --- 3. The dataset disappears, then changes ------------------------------------
# A run reads its data once, at the start: deleting it later changes
# nothing; a resume then names the missing or corrupt file.
cp -r data data-gone
"$train" artifact --data data-gone --out gone "${run_flags[@]}" >/dev/null 2>gone.err &
pid=$!
sleep 0.3
rm -rf data-gone
wait "$pid" || fail "deleting the dataset during a run stopped it: $(tail -n 1 gone.err)"
cmp "$final" gone/checkpoints/step-$(printf %08d "$steps").safetensors ||
  fail "the run whose dataset was deleted differs from the straight run"
set +e
"$train" artifact --data data-gone --out gone --resume --steps $((steps + 1)) --threads 1 >/dev/null 2>gone-resume.err
status=$?
set -e
[[ $status -ne 0 && $(wc -l < gone-resume.err) -eq 1 ]] ||
  fail "resuming without the dataset: exit $status, $(cat gone-resume.err)"
mkdir -p data-corrupt
cp data/train-labels-idx1-ubyte data-corrupt/
head -c 1000 data/train-images-idx3-ubyte > data-corrupt/train-images-idx3-ubyte
set +e
"$train" artifact --data data-corrupt --out gone --resume --steps $((steps + 1)) --threads 1 >/dev/null 2>corrupt.err
status=$?
set -e
[[ $status -ne 0 && $(wc -l < corrupt.err) -eq 1 ]] ||
  fail "resuming on a truncated dataset: exit $status, $(cat corrupt.err)"
echo "dataset deleted during a run: run unaffected; resume without it: '$(cat gone-resume.err)'; resume on a truncated copy: '$(cat corrupt.err)'"

# --- 4. Two trainers on one run directory ---------------------------------------
"$train" artifact --data data --out shared --steps 100000 --threads 1 --augment reference >/dev/null 2>shared-first.err &
first=$!
for _ in $(seq 100); do [[ -f shared/metrics.csv ]] && break; sleep 0.05; done
set +e
"$train" artifact --data data --out shared --resume --steps 100000 --threads 1 >/dev/null 2>shared-second.err
status=$?
set -e
kill -TERM "$first"
wait "$first" || fail "the first trainer did not stop cleanly on SIGTERM: $(tail -n 1 shared-first.err)"
[[ $status -ne 0 ]] || fail "a second trainer on one run directory was accepted"
grep -q "another simclr-train is using this run directory" shared-second.err ||
  fail "the second trainer's message: $(cat shared-second.err)"
echo "two trainers: '$(grep error shared-second.err)'"

# --- 5. Two compilers at once ---------------------------------------------------
"$simclrc" "$spec" -o twin-a --cache-dir twin-cache >/dev/null 2>twin-a.err &
a=$!
"$simclrc" "$spec" -o twin-b --cache-dir twin-cache >/dev/null 2>twin-b.err &
b=$!
"$simclrc" "$spec" -o twin-same --cache-dir twin-cache-2 >/dev/null 2>twin-c.err &
c=$!
"$simclrc" "$spec" -o twin-same --cache-dir twin-cache-3 >/dev/null 2>twin-d.err &
d=$!
for p in $a $b $c $d; do wait "$p" || fail "a concurrent simclrc failed: $(cat twin-*.err)"; done
for dir in twin-a twin-b twin-same; do
  "$train" "$dir" --data data --out "run-$dir" --steps 2 --threads 1 --augment reference >/dev/null 2>"run-$dir.err" ||
    fail "$dir does not train: $(cat "run-$dir.err")"
done
echo "two compilers: one shared cache and one shared output directory, all artifacts train"
# A corrupted cache entry is verified and recompiled, not used.
entry=$(ls twin-cache/*.so | head -n 1)
printf 'x' | dd of="$entry" bs=1 seek=100 conv=notrunc 2>/dev/null
"$simclrc" "$spec" -o twin-e --cache-dir twin-cache >/dev/null 2>twin-e.err
grep -q "SHA-256 does not match" twin-e.err || fail "a corrupted cache entry was used: $(cat twin-e.err)"
"$train" twin-e --data data --out run-twin-e --steps 2 --threads 1 --augment reference >/dev/null 2>&1 ||
  fail "the artifact compiled past a corrupt cache entry does not train"
echo "corrupt cache entry: '$(head -n 1 twin-e.err)'"
echo "fault-injection: all checks passed"
