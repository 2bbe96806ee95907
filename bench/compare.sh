#!/usr/bin/env bash
# compare.sh - simclrc against PyTorch, eager and torch.compile, on one spec, per batch size.
#
#   bench/compare.sh [--spec SPEC] [--batches "64 128 256"] [--steps N]
#                    [--warmup W] [--train-steps M] [--threads T]
#                    [--no-augment] [--no-compile] [--svg PATH|none]
#                    [--build DIR] [--accuracy-epochs E] [--seeds "0 1 2"]
#                    [--eval-max-train N]
#
# Builds nothing: needs BUILD/bin/{simclrc,simclr-train-step-bench,
# simclr-train,simclr-eval,simclr-augment-bench} (default build/). Its Python
# is bench/venv.sh's venv (torch 2.x and torchvision from PyPI): the first
# run creates it (a few minutes, about 3 GB downloaded), later runs reuse it
# without the network. For every batch size it writes a copy of the spec with
# data.batch_size changed, then, back to back:
#   1. compiles it with simclrc into a fresh --cache-dir (cold: the host
#      compiler runs) and again into the same cache (cached);
#   2. times the train step alone on random views, W warm-up and N timed
#      steps (default 5), median step time: simclr-train-step-bench,
#      bench/pytorch_simclr.py --mode step (eager) and, unless --no-compile,
#      the same with --compile (torch.compile of the whole step: forward,
#      NT-Xent, backward, optimizer; inductor's cache fresh per batch size,
#      so its compile time is cold too; the warm-up runs on until nothing
#      compiles, and the first losses are checked against eager);
#   3. unless --no-augment (or the dataset is not Fashion-MNIST): trains
#      W + M steps with augmentation and data loading included: simclr-train
#      (Halide augmentation on background threads; figures from its
#      metrics.csv without the first W steps) and pytorch_simclr.py --mode
#      augment (eager; torchvision in 2 DataLoader workers).
#   4. unless --no-augment: augmentation alone, per policy (Fashion-MNIST
#      and CIFAR-10, as bench/augment_bench.cpp fixes them) at the last
#      batch size: simclr-augment-bench (Halide, T threads) against
#      bench/augment_torchvision.py (in-process with T threads, and a
#      DataLoader with 2 workers);
#   5. with --accuracy-epochs E > 0 (Fashion-MNIST; off by default: it
#      trains for real), once at the spec's own batch size, per seed:
#      trains E epochs with simclr-train and with pytorch_simclr.py --mode
#      train (a copy of the spec with schedule.epochs = E, so both follow the
#      same warm-up + cosine schedule), then evaluates both encoders with the
#      same simclr-eval (--no-baselines, the first N training images, default
#      10000, and the whole test split; PyTorch's weights go in under
#      simclrc's state names with --artifact). --batches "" runs this part
#      alone.
# Then prints the tables (ratios simclrc / PyTorch eager and simclrc /
# torch.compile; the train step's figures come from the median step time;
# images/s count the batch N per step) and writes an SVG plot of images/s per batch size (default
# docs/images/bench-batch.svg; --svg none skips it). Results stay in a temp
# directory whose path is printed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
spec="$root/examples/fashion-mnist.toml"
batches="64 128 256"
steps=5
warmup=2
train_steps=10
threads=2
augment=1
compile=1
svg="$root/docs/images/bench-batch.svg"
build="$root/build"
accuracy_epochs=0
seeds="0 1 2"
eval_max_train=10000

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --spec) spec="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --train-steps) train_steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --no-augment) augment=0; shift ;;
    --no-compile) compile=0; shift ;;
    --svg) svg="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --accuracy-epochs) accuracy_epochs="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --eval-max-train) eval_max_train="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: error: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
for tool in simclrc simclr-train-step-bench simclr-train simclr-eval simclr-augment-bench; do
  [[ -x "$build/bin/$tool" ]] || {
    echo "compare.sh: error: $build/bin/$tool is missing; build it first" >&2; exit 1; }
done
[[ -f "$spec" ]] || { echo "compare.sh: error: $spec: no such file" >&2; exit 1; }
fashion_mnist=1
grep -q '^dataset *= *"fashion-mnist"' "$spec" || fashion_mnist=0
[[ $fashion_mnist == 1 ]] || augment=0
if [[ $accuracy_epochs != 0 && $fashion_mnist == 0 ]]; then
  echo "compare.sh: error: --accuracy-epochs trains on Fashion-MNIST; $spec trains on another dataset" >&2
  exit 2
fi

python="$("$root/bench/venv.sh")"  # creates the venv on the first run

work="$(mktemp -d /tmp/simclr-compare.XXXXXX)"
results="$work/results.jsonl"
accuracy="$work/accuracy.jsonl"
augment_alone="$work/augment.jsonl"
touch "$results" "$accuracy" "$augment_alone"
echo "compare.sh: spec $spec, batches $batches, $steps timed steps after $warmup warm-up," \
     "$threads threads; work directory $work"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# spec_with KEY VALUE NAME: the spec with its `KEY = N` line set to VALUE, as
# $work/NAME.toml.
spec_with() {
  sed -E "s/^$1 *= *[0-9]+/$1 = $2/" "$spec" > "$work/$3.toml"
  grep -q "^$1 = $2" "$work/$3.toml" || {
    echo "compare.sh: error: $spec has no '$1 = N' line to change" >&2; exit 1; }
}

for batch in $batches; do
  name="$(basename "$spec" .toml)-b$batch"
  copy="$work/$name.toml"
  spec_with batch_size "$batch" "$name"

  echo "== batch $batch: compile"
  t0=$(now)
  log="$work/$name.compile.log"
  "$build/bin/simclrc" "$copy" -o "$work/$name" --cache-dir "$work/cache-$batch" 2>"$log" ||
    { cat "$log" >&2; exit 1; }
  t1=$(now)
  "$build/bin/simclrc" "$copy" -o "$work/$name-cached" --cache-dir "$work/cache-$batch" 2>>"$log" ||
    { cat "$log" >&2; exit 1; }
  t2=$(now)
  cold=$(elapsed "$t0" "$t1"); cached=$(elapsed "$t1" "$t2")
  echo "   cold ${cold} s, cached ${cached} s"

  echo "== batch $batch: train step, simclrc"
  ours=$("$build/bin/simclr-train-step-bench" "$work/$name" --steps "$steps" \
           --warmup "$warmup" --threads "$threads" | tee /dev/stderr | sed -n 's/^json: //p')
  echo "== batch $batch: train step, PyTorch eager"
  theirs=$("$python" "$root/bench/pytorch_simclr.py" "$copy" --batch "$batch" --mode step \
             --steps "$steps" --warmup "$warmup" --threads "$threads")
  echo "   $theirs"
  compiled='null'
  if [[ $compile == 1 ]]; then
    echo "== batch $batch: train step, PyTorch torch.compile"
    compiled=$(TORCHINDUCTOR_CACHE_DIR="$work/inductor-cache-$batch" "$python" \
                 "$root/bench/pytorch_simclr.py" "$copy" --batch "$batch" --mode step --compile \
                 --steps "$steps" --warmup "$warmup" --threads "$threads")
    echo "   $compiled"
  fi

  ours_aug='null'; theirs_aug='null'
  if [[ $augment == 1 ]]; then
    echo "== batch $batch: with augmentation, simclrc (simclr-train)"
    "$build/bin/simclr-train" "$work/$name" --out "$work/run-$batch" \
      --steps $((warmup + train_steps)) --threads "$threads" --log-every 1000 >/dev/null
    # metrics.csv: step,epoch,loss,lr,images_per_s,data_wait_ms,step_ms
    ours_aug=$(awk -F, -v skip="$warmup" -v n="$batch" 'NR > 1 + skip {
        wait += $6; step += $7; k++ }
      END { printf "{\"images_per_s\": %.3f, \"data_wait_share\": %.5f, \"ms_per_step\": %.3f}",
            n * k * 1000 / (wait + step), wait / (wait + step), (wait + step) / k }' \
      "$work/run-$batch/metrics.csv")
    echo "   $ours_aug"
    echo "== batch $batch: with augmentation, PyTorch (DataLoader)"
    theirs_aug=$("$python" "$root/bench/pytorch_simclr.py" "$copy" --batch "$batch" \
                   --mode augment --augment-steps "$train_steps" --warmup "$warmup" \
                   --threads "$threads" | "$python" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["augment"]))')
    echo "   $theirs_aug"
  fi
  printf '{"batch": %s, "compile_cold_s": %s, "compile_cached_s": %s, "simclrc": %s, "pytorch": %s, "pytorch_compile": %s, "simclrc_aug": %s, "pytorch_aug": %s}\n' \
    "$batch" "$cold" "$cached" "$ours" "$theirs" "$compiled" "$ours_aug" "$theirs_aug" >> "$results"
done

if [[ $augment == 1 && -n "${batches// }" ]]; then
  batch="${batches##* }"
  echo "== augmentation alone, batch $batch: simclr-augment-bench (Halide) and torchvision"
  "$build/bin/simclr-augment-bench" --batch "$batch" --iterations 10 --repeats 5 \
    --threads "$threads" > "$work/augment-halide.txt"
  "$python" "$root/bench/augment_torchvision.py" --batch "$batch" --iterations 4 --repeats 5 \
    > "$work/augment-torchvision.txt"
  # Both print markdown rows "| POLICY | ... |" with the same policy names.
  "$python" - "$work/augment-halide.txt" "$work/augment-torchvision.txt" "$batch" \
      > "$augment_alone" <<'EOF'
import json, sys
def rows(path, width):
    out = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == width and cells[0][:1].isalpha() and cells[1][:1].isdigit():
            out.setdefault(cells[0], cells)
    return out
halide, torchvision = rows(sys.argv[1], 5), rows(sys.argv[2], 3)
for policy, cells in halide.items():
    if policy in torchvision:
        print(json.dumps({"policy": policy, "batch": int(sys.argv[3]),
                          "halide": float(cells[2]), "reference": float(cells[3]),
                          "torchvision": float(torchvision[policy][1]),
                          "dataloader": float(torchvision[policy][2])}))
EOF
  cat "$augment_alone"
fi

if [[ $accuracy_epochs != 0 ]]; then
  name="$(basename "$spec" .toml)-e$accuracy_epochs"
  copy="$work/$name.toml"
  spec_with epochs "$accuracy_epochs" "$name"
  echo "== accuracy after $accuracy_epochs epochs: compile"
  "$build/bin/simclrc" "$copy" -o "$work/$name" 2>"$work/$name.compile.log" ||
    { cat "$work/$name.compile.log" >&2; exit 1; }
  # simclr-eval's eval.json: the trained encoder's row.
  eval_row() {
    "$python" -c 'import json,sys; r = json.load(open(sys.argv[1]))["encoders"][0]; print(json.dumps({k: r[k] for k in ("knn_weighted_top1", "knn_majority_top1", "linear_top1")}))' "$1"
  }
  for seed in $seeds; do
    echo "== accuracy, seed $seed: simclr-train $accuracy_epochs epochs"
    run="$work/$name-simclrc-s$seed"
    t0=$(now)
    "$build/bin/simclr-train" "$work/$name" --out "$run" --seed "$seed" --threads "$threads" \
      --log-every 1000 >"$run.log"
    t1=$(now)
    checkpoint=$(ls "$run"/checkpoints/step-*.safetensors | tail -n 1)
    "$build/bin/simclr-eval" "$checkpoint" --no-baselines --max-train "$eval_max_train" \
      --threads "$threads" --out "$run/eval" >"$run.eval.log"
    ours="$(eval_row "$run/eval/eval.json")"
    ours_s=$(elapsed "$t0" "$t1")
    echo "   $ours, ${ours_s} s of training"

    echo "== accuracy, seed $seed: PyTorch $accuracy_epochs epochs"
    weights="$work/$name-pytorch-s$seed.safetensors"
    theirs_train=$("$python" "$root/bench/pytorch_simclr.py" "$copy" --mode train --seed "$seed" \
                     --threads "$threads" --out "$weights" --artifact "$work/$name" |
                   "$python" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["train"]))')
    "$build/bin/simclr-eval" "$weights" --artifact "$work/$name" --no-baselines \
      --max-train "$eval_max_train" --threads "$threads" --out "$weights.eval" >"$weights.eval.log"
    theirs="$(eval_row "$weights.eval/eval.json")"
    echo "   $theirs, $theirs_train"
    printf '{"seed": %s, "epochs": %s, "simclrc": %s, "simclrc_train_s": %s, "pytorch": %s, "pytorch_train": %s}\n' \
      "$seed" "$accuracy_epochs" "$ours" "$ours_s" "$theirs" "$theirs_train" >> "$accuracy"
  done
fi

"$python" - "$results" "$svg" "$spec" "$accuracy" "$eval_max_train" "$augment_alone" "$threads" \
    "$steps" <<'EOF'
import json, os, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
accuracy = [json.loads(line) for line in open(sys.argv[4])]
augment_alone = [json.loads(line) for line in open(sys.argv[6])]
svg_path, spec, eval_max_train, threads = sys.argv[2], sys.argv[3], sys.argv[5], sys.argv[7]
steps = sys.argv[8]
if augment_alone:
    print(f"\naugmentation alone, images/s (one view per image), batch "
          f"{augment_alone[0]['batch']}, {threads} threads; ratio = Halide / torchvision\n")
    print("| policy | simclrc Halide | torchvision in-process | ratio | torchvision DataLoader, 2 workers | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for a in augment_alone:
        print(f"| {a['policy']} | {a['halide']:.0f} | {a['torchvision']:.0f} "
              f"| {a['halide'] / a['torchvision']:.0f}x | {a['dataloader']:.0f} "
              f"| {a['halide'] / a['dataloader']:.0f}x |")
if accuracy:
    import statistics
    print(f"\naccuracy after {accuracy[0]['epochs']} epochs, spec {spec}: simclr-eval "
          f"(first {eval_max_train} training images, whole test split), per seed\n")
    print("| seed | simclrc kNN-200 | kNN-20 | linear | train s | PyTorch kNN-200 | kNN-20 | linear | train s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    keys = ("knn_weighted_top1", "knn_majority_top1", "linear_top1")
    for a in accuracy:
        ours, theirs = a["simclrc"], a["pytorch"]
        print(f"| {a['seed']} | " + " | ".join(f"{100 * ours[k]:.2f}%" for k in keys) +
              f" | {float(a['simclrc_train_s']):.0f} | " +
              " | ".join(f"{100 * theirs[k]:.2f}%" for k in keys) +
              f" | {a['pytorch_train']['seconds']:.0f} |")
    if len(accuracy) > 1:
        def summary(side, k):
            values = [100 * a[side][k] for a in accuracy]
            return f"{statistics.mean(values):.2f} +- {statistics.stdev(values):.2f}"
        ours_s = statistics.mean(float(a["simclrc_train_s"]) for a in accuracy)
        theirs_s = statistics.mean(a["pytorch_train"]["seconds"] for a in accuracy)
        print(f"| mean +- sd | " + " | ".join(summary("simclrc", k) for k in keys) +
              f" | {ours_s:.0f} | " + " | ".join(summary("pytorch", k) for k in keys) +
              f" | {theirs_s:.0f} |")
if not rows:
    sys.exit(0)
# The train step alone: simclrc, PyTorch eager and torch.compile (None
# under --no-compile), each by its median step time.
def median_ms(r, side):
    if side == "simclrc":
        return r["simclrc"]["median_ms"]
    return r[side]["step"]["median_ms"] if r[side] else None
sides = ("simclrc", "pytorch", "pytorch_compile")
cell = lambda v, fmt: "-" if v is None else format(v, fmt)
print(f"\nspec {spec}; the train step alone, median of {steps} timed steps, {threads} threads; "
      "images/s count the batch N per step\n")
print("| batch | simclrc img/s | PyTorch eager img/s | torch.compile img/s | simclrc / eager "
      "| simclrc / compile | simclrc ms/step | eager ms/step | compile ms/step |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    ms = [median_ms(r, side) for side in sides]
    ips = [None if m is None else r["batch"] * 1000 / m for m in ms]
    ratio = lambda i: None if ms[i] is None else ms[i] / ms[0]
    print(f"| {r['batch']} | " + " | ".join(cell(v, ".1f") for v in ips) +
          f" | {cell(ratio(1), '.2f')} | {cell(ratio(2), '.2f')} | " +
          " | ".join(cell(m, ".0f") for m in ms) + " |")
print("\npeak RSS (simclr-train-step-bench's process; PyTorch's after its step mode) and compile "
      "time (simclrc: the simclrc process, cold = fresh kernel cache, then cached; torch.compile: "
      "its warm-up steps' time beyond as many timed steps, fresh inductor cache)\n")
print("| batch | simclrc peak RSS MiB | eager peak RSS MiB | compile peak RSS MiB "
      "| simclrc compile cold s | cached s | torch.compile s | its warm-up steps |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    c = r["pytorch_compile"]["step"] if r["pytorch_compile"] else None
    print(f"| {r['batch']} | {r['simclrc']['peak_rss_mib']:.0f} "
          f"| {r['pytorch']['step']['peak_rss_mib']:.0f} | {cell(c and c['peak_rss_mib'], '.0f')} "
          f"| {r['compile_cold_s']:.2f} | {r['compile_cached_s']:.2f} "
          f"| {cell(c and c['compile_s'], '.1f')} | {cell(c and c['warmup_steps'], 'd')} |")
print("\nlibrary arithmetic (convolution and GEMM FLOPs of the step, counted from simclrc's plan; "
      "the same network in all three) over each median step time, against the FMA peak measured "
      "by simclr-train-step-bench with the same threads\n")
print("| batch | GFLOP per step | FMA peak GFLOP/s | simclrc GFLOP/s | of peak "
      "| eager GFLOP/s | of peak | compile GFLOP/s | of peak |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    flops, peak = r["simclrc"]["library_flops"], r["simclrc"]["fma_peak_gflops"]
    rates = [None if m is None else flops / (m / 1000) / 1e9
             for m in (median_ms(r, side) for side in sides)]
    print(f"| {r['batch']} | {flops / 1e9:.2f} | {peak:.0f} | " +
          " | ".join(f"{cell(v, '.1f')} | {'-' if v is None else f'{100 * v / peak:.0f}%'}"
                     for v in rates) +
          " |")
aug = [r for r in rows if r["simclrc_aug"]]
if aug:
    print("\nwith augmentation and data loading (simclr-train: Halide; PyTorch eager: DataLoader, "
          "2 workers)\n")
    print("| batch | simclrc img/s | data wait | PyTorch img/s | data wait | ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in aug:
        a, b = r["simclrc_aug"], r["pytorch_aug"]
        print(f"| {r['batch']} | {a['images_per_s']:.1f} | {100 * a['data_wait_share']:.1f}% "
              f"| {b['images_per_s']:.1f} | {100 * b['data_wait_share']:.1f}% "
              f"| {a['images_per_s'] / b['images_per_s']:.2f} |")
if svg_path == "none":
    sys.exit(0)

# The plot: images/s against batch size (evenly spaced), one line per series.
W, H, L, R, T, B = 560, 340, 64, 170, 30, 46
step_ips = lambda side: [r["batch"] * 1000 / median_ms(r, side) for r in rows]
series = [("simclrc, step", "#1f77b4", "", step_ips("simclrc")),
          ("PyTorch eager, step", "#d62728", "", step_ips("pytorch"))]
if all(r["pytorch_compile"] for r in rows):
    series.append(("torch.compile, step", "#2ca02c", "", step_ips("pytorch_compile")))
if aug and len(aug) == len(rows):
    series += [("simclrc, augmented", "#1f77b4", "6,4", [r["simclrc_aug"]["images_per_s"] for r in rows]),
               ("PyTorch, augmented", "#d62728", "6,4", [r["pytorch_aug"]["images_per_s"] for r in rows])]
top = max(v for s in series for v in s[3]) * 1.1
xs = [L + (W - L - R) * (i + 0.5) / len(rows) for i in range(len(rows))]
y = lambda v: T + (H - T - B) * (1 - v / top)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="8" y="18" font-size="11">images/s (N per step), {spec.split("/")[-1]}; solid: step alone, dashed: with augmentation</text>',
       f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
       f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
       f'<text x="{(L + W - R) / 2}" y="{H - 10}" text-anchor="middle">batch size N</text>']
for k in range(5):
    v = top * k / 4
    out.append(f'<text x="{L - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    out.append(f'<line x1="{L}" y1="{y(v):.1f}" x2="{W - R}" y2="{y(v):.1f}" stroke="#ddd"/>')
for x, r in zip(xs, rows):
    out.append(f'<text x="{x:.1f}" y="{H - B + 16}" text-anchor="middle">{r["batch"]}</text>')
for i, (label, color, dash, values) in enumerate(series):
    points = " ".join(f"{x:.1f},{y(v):.1f}" for x, v in zip(xs, values))
    out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2" '
               f'stroke-dasharray="{dash}"/>')
    out += [f'<circle cx="{x:.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>' for x, v in zip(xs, values)]
    ly = T + 10 + 18 * i
    out.append(f'<line x1="{W - R + 12}" y1="{ly}" x2="{W - R + 36}" y2="{ly}" stroke="{color}" '
               f'stroke-width="2" stroke-dasharray="{dash}"/>')
    out.append(f'<text x="{W - R + 42}" y="{ly + 4}">{label}</text>')
out.append("</svg>")
os.makedirs(os.path.dirname(os.path.abspath(svg_path)), exist_ok=True)
with open(svg_path, "w") as f:
    f.write("\n".join(out) + "\n")
print(f"\nplot: {svg_path}")
EOF
