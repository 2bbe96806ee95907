#!/usr/bin/env bash
# compare.sh - simclrc against eager PyTorch on one spec, per batch size.
#
#   bench/compare.sh [--spec SPEC] [--batches "64 128 256"] [--steps N]
#                    [--warmup W] [--train-steps M] [--threads T]
#                    [--no-augment] [--svg PATH|none] [--build DIR]
#
# Builds nothing: needs BUILD/bin/{simclrc,simclr-train-step-bench,
# simclr-train} (default build/) and /usr/bin/python3 with Debian's torch and
# torchvision. For every batch size it writes a copy of the spec with
# data.batch_size changed, then, back to back:
#   1. compiles it with simclrc into a fresh --cache-dir (cold: the host
#      compiler runs) and again into the same cache (cached);
#   2. times the train step alone on random views: simclr-train-step-bench
#      and bench/pytorch_simclr.py --mode step (W warm-up, N timed steps);
#   3. unless --no-augment (or the dataset is not Fashion-MNIST): trains
#      W + M steps with augmentation and data loading included: simclr-train
#      (Halide augmentation on background threads; figures from its
#      metrics.csv without the first W steps) and pytorch_simclr.py --mode
#      augment (torchvision in 2 DataLoader workers).
# Then prints the tables (ratios simclrc / PyTorch; images/s count the batch
# N per step) and writes an SVG plot of images/s per batch size (default
# docs/images/bench-batch.svg; --svg none skips it). Results stay in a temp
# directory whose path is printed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
spec="$root/examples/fashion-mnist.toml"
batches="64 128 256"
steps=3
warmup=2
train_steps=10
threads=2
augment=1
svg="$root/docs/images/bench-batch.svg"
build="$root/build"
python=/usr/bin/python3  # Debian's, with torch; the python3 on PATH may lack it

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
    --svg) svg="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: error: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
for tool in simclrc simclr-train-step-bench simclr-train; do
  [[ -x "$build/bin/$tool" ]] || {
    echo "compare.sh: error: $build/bin/$tool is missing; build it first" >&2; exit 1; }
done
[[ -f "$spec" ]] || { echo "compare.sh: error: $spec: no such file" >&2; exit 1; }
grep -q '^dataset *= *"fashion-mnist"' "$spec" || augment=0

work="$(mktemp -d /tmp/simclr-compare.XXXXXX)"
results="$work/results.jsonl"
echo "compare.sh: spec $spec, batches $batches, $steps timed steps after $warmup warm-up," \
     "$threads threads; work directory $work"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

for batch in $batches; do
  name="$(basename "$spec" .toml)-b$batch"
  copy="$work/$name.toml"
  sed -E "s/^batch_size *= *[0-9]+/batch_size = $batch/" "$spec" > "$copy"
  grep -q "^batch_size = $batch" "$copy" || {
    echo "compare.sh: error: $spec has no 'batch_size = N' line to change" >&2; exit 1; }

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
  echo "== batch $batch: train step, PyTorch"
  theirs=$("$python" "$root/bench/pytorch_simclr.py" "$copy" --batch "$batch" --mode step \
             --steps "$steps" --warmup "$warmup" --threads "$threads")
  echo "   $theirs"

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
  printf '{"batch": %s, "compile_cold_s": %s, "compile_cached_s": %s, "simclrc": %s, "pytorch": %s, "simclrc_aug": %s, "pytorch_aug": %s}\n' \
    "$batch" "$cold" "$cached" "$ours" "$theirs" "$ours_aug" "$theirs_aug" >> "$results"
done

"$python" - "$results" "$svg" "$spec" <<'EOF'
import json, os, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
svg_path, spec = sys.argv[2], sys.argv[3]
print(f"\nspec {spec}; images/s count the batch N per step; ratio = simclrc / PyTorch\n")
print("| batch | simclrc step img/s | PyTorch step img/s | ratio | simclrc ms/step | PyTorch ms/step "
      "| simclrc peak RSS MiB | PyTorch peak RSS MiB | compile cold s | compile cached s |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    a, b = r["simclrc"], r["pytorch"]["step"]
    print(f"| {r['batch']} | {a['images_per_s']:.1f} | {b['images_per_s']:.1f} "
          f"| {a['images_per_s'] / b['images_per_s']:.2f} | {a['ms_per_step']:.0f} "
          f"| {b['ms_per_step']:.0f} | {a['peak_rss_mib']:.0f} | {b['peak_rss_mib']:.0f} "
          f"| {r['compile_cold_s']:.2f} | {r['compile_cached_s']:.2f} |")
aug = [r for r in rows if r["simclrc_aug"]]
if aug:
    print("\nwith augmentation and data loading (simclr-train: Halide; PyTorch: DataLoader, 2 workers)\n")
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
series = [("simclrc, step", "#1f77b4", "", [r["simclrc"]["images_per_s"] for r in rows]),
          ("PyTorch, step", "#d62728", "", [r["pytorch"]["step"]["images_per_s"] for r in rows])]
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
