#!/usr/bin/env python3
"""Communication volume of a data-parallel artifact, per step and rank, from its plan.json.

Reads the `collective` entries of each program's schedule (semantics:
lib/include/simclr/Support/ArtifactPlan.h, EntryKind::kCollective) and reports:
  - how many collectives of each kind (all_reduce_sum, all_gather, local_slice);
  - bytes each all_reduce_sum sums, gradient buckets (f32) apart from the
    synchronized batch-norm sums (f64), forward and backward;
  - bytes the all_gather contributes and receives per replica for K ranks;
  - synchronization points on the critical path (batch-norm sums and the
    all_gather, read by the very next kernel) vs overlappable ones (gradient
    buckets, issued when ready and waited for at their first reader), with
    the library calls (convolutions, matmuls) each bucket can hide behind;
  - bytes a ring algorithm moves per rank: 2(K-1)/K x bytes per all-reduce,
    (K-1)/K x gathered bytes per all-gather (gathered = K x contributed);
  - FLOPs of the step's library calls (convolutions and matmuls, forward and
    backward), which the step-time model in docs/data-parallel-scaling.md
    divides by an assumed throughput.

Usage: bench/collective_volume.py PLAN.json [PLAN.json ...] [--ranks 2,8,32] [--json]
A PLAN.json may also be an artifact directory (its plan.json is read).
Standard library only.
"""

import argparse
import json
import os
import sys

DTYPE_BYTES = {"f64": 8, "f32": 4, "bf16": 2, "f16": 2, "i64": 8, "i32": 4, "u8": 1}
DEFAULT_RANKS = [2, 8, 32, 64, 128]
# Library calls whose FLOPs are counted (the runtime's extern table keys).
CONV_EXTERNS = ("conv2d", "conv2d_backward_input", "conv2d_backward_filter")


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def extern_flops(entry, bufs):
    """Multiply-adds x 2 of one extern entry; 0 for routines not counted."""
    ops = entry["operands"]
    ni = entry["num_inputs"]
    ins = [bufs[o] for o in ops[:ni]]
    outs = [bufs[o] for o in ops[ni:ni + entry["num_outputs"]]]
    name = entry["name"]
    if name in CONV_EXTERNS:
        # conv2d: (x, w) -> y; backward_input: (dy, w) -> dx;
        # backward_filter: (dy, x) -> dw. Each costs 2 x |y| x Cin/groups x kh x kw.
        if name == "conv2d":
            y, w = outs[0]["shape"], ins[1]["shape"]
        elif name == "conv2d_backward_input":
            y, w = ins[0]["shape"], ins[1]["shape"]
        else:
            y, w = ins[0]["shape"], outs[0]["shape"]
        return 2 * numel(y) * numel(w) // w[0]
    if name == "matmul":
        lhs = ins[0]["shape"]
        k = lhs[-2] if entry["attrs"].get("transpose_lhs", 0) else lhs[-1]
        return 2 * numel(outs[0]["shape"]) * k
    return 0


def first_user(schedule, start, buffer_ids):
    """Index of the first entry after `start` that reads or writes one of `buffer_ids`."""
    for j in range(start + 1, len(schedule)):
        if buffer_ids & set(schedule[j]["operands"]):
            return j
    return None


def analyze_program(program, bufs):
    sched = program["schedule"]
    gathers = [i for i, e in enumerate(sched)
               if e["kind"] == "collective" and e["name"] == "all_gather"]
    first_gather = gathers[0] if gathers else None
    counts = {}
    bn = {"forward": [], "backward": []}
    buckets = []
    gather = []
    flops = {"forward": 0, "backward": 0}
    for i, e in enumerate(sched):
        if e["kind"] == "extern":
            # Forward: before the loss's all_gather (or the first backward call).
            f = extern_flops(e, bufs)
            forward = (first_gather is not None and i < first_gather) or (
                first_gather is None and e["name"] == "conv2d")
            flops["forward" if forward else "backward"] += f
        if e["kind"] != "collective":
            continue
        counts[e["name"]] = counts.get(e["name"], 0) + 1
        ni = e["num_inputs"]
        ins = [bufs[o] for o in e["operands"][:ni]]
        nbytes = sum(b["bytes"] for b in ins)
        if e["name"] == "all_reduce_sum":
            user = first_user(sched, i, set(e["operands"]))
            window = sched[i + 1:user] if user is not None else sched[i + 1:]
            hidden_externs = [w for w in window if w["kind"] == "extern"]
            record = {
                "index": i,
                "bytes": nbytes,
                "buffers": len(ins),
                "first_reader": sched[user]["name"] if user is not None else None,
                "entries_before_reader": len(window),
                "externs_before_reader": len(hidden_externs),
                "flops_before_reader": sum(extern_flops(w, bufs) for w in hidden_externs),
            }
            if all(b["dtype"] == "f64" for b in ins):
                phase = "forward" if first_gather is None or i < first_gather else "backward"
                bn[phase].append(record)
            else:
                buckets.append(record)
        elif e["name"] == "all_gather":
            out = bufs[e["operands"][ni]]
            gather.append({"index": i, "bytes": nbytes, "blocks": e["attrs"].get("blocks", 1),
                           "shape": ins[0]["shape"], "dtype": ins[0]["dtype"],
                           "gathered_buffer": out["name"]})
    return counts, bn, buckets, gather, flops


def analyze(path, ranks):
    if os.path.isdir(path):
        path = os.path.join(path, "plan.json")
    with open(path) as f:
        plan = json.load(f)
    body = plan["body"]
    bufs = {b["id"]: b for b in body["buffers"]}
    training = body["training"]
    if isinstance(training, str):  # the plan stores the training facts as JSON text
        training = json.loads(training)
    batch = training["batch_size"]
    programs = {}
    for program in body["programs"]:
        counts, bn, buckets, gather, flops = analyze_program(program, bufs)
        if not counts:
            continue
        bn_fwd = sum(r["bytes"] for r in bn["forward"])
        bn_bwd = sum(r["bytes"] for r in bn["backward"])
        grad = sum(r["bytes"] for r in buckets)
        gathered = sum(g["bytes"] for g in gather)
        # The last bucket is exposed when no library call runs between its
        # issue and its first reader (it closes after the last backward call).
        exposed = [r for r in buckets if r["externs_before_reader"] == 0]
        ring = {}
        for k in ranks:
            ar = 2 * (k - 1) / k
            ring[str(k)] = {
                "all_reduce_gradients": ar * grad,
                "all_reduce_bn": ar * (bn_fwd + bn_bwd),
                "all_gather": (k - 1) * gathered,
                "all_gather_received": (k - 1) * gathered,
                "gathered_buffer_bytes": k * gathered,
                "total": ar * (grad + bn_fwd + bn_bwd) + (k - 1) * gathered,
            }
        programs[program["name"]] = {
            "collectives": counts,
            "all_reduce_sum": {
                "gradient_buckets": {"count": len(buckets), "bytes": grad,
                                     "buckets": buckets},
                "bn_sums_forward": {"count": len(bn["forward"]), "bytes": bn_fwd},
                "bn_sums_backward": {"count": len(bn["backward"]), "bytes": bn_bwd},
                "bytes": grad + bn_fwd + bn_bwd,
            },
            "all_gather": {"count": len(gather), "contributed_bytes": gathered,
                           "gathers": gather},
            "sync_points": {
                "critical_path": len(bn["forward"]) + len(bn["backward"]) + len(gather),
                "critical_path_bn": len(bn["forward"]) + len(bn["backward"]),
                "critical_path_all_gather": len(gather),
                "overlappable_buckets": len(buckets) - len(exposed),
                "exposed_buckets": len(exposed),
                "exposed_bucket_bytes": sum(r["bytes"] for r in exposed),
            },
            "ring_bytes_per_rank": ring,
            "flops_per_step": flops,
            "flops_per_image": {k: v / batch for k, v in flops.items()},
            "flops_per_view": {k: v / (2 * batch) for k, v in flops.items()},
        }
    return {"plan": path, "spec": body["spec"]["name"], "batch_size_per_rank": batch,
            "state_bytes": body["state_bytes"], "programs": programs}


def mib(n):
    return f"{n / 2**20:.3f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def print_report(r):
    print(f"{r['plan']}  (spec {r['spec']}, {r['batch_size_per_rank']} images per rank)")
    if not r["programs"]:
        print("  no collectives: not a data-parallel artifact (simclrc --data-parallel)")
    for name, p in r["programs"].items():
        ar = p["all_reduce_sum"]
        g = ar["gradient_buckets"]
        s = p["sync_points"]
        print(f"  program {name}: collectives per step and rank: "
              + ", ".join(f"{k} {v}" for k, v in sorted(p["collectives"].items())))
        print(f"    all_reduce_sum: {mib(ar['bytes'])} summed per step")
        print(f"      gradient buckets  {g['count']:4d}  {mib(g['bytes'])}  "
              f"(largest {mib(max((b['bytes'] for b in g['buckets']), default=0))})")
        print(f"      BN sums forward   {ar['bn_sums_forward']['count']:4d}  "
              f"{mib(ar['bn_sums_forward']['bytes'])}")
        print(f"      BN sums backward  {ar['bn_sums_backward']['count']:4d}  "
              f"{mib(ar['bn_sums_backward']['bytes'])}")
        for gt in p["all_gather"]["gathers"]:
            print(f"    all_gather: {mib(gt['bytes'])} contributed per rank "
                  f"({gt['dtype']} {gt['shape']}, blocks {gt['blocks']}); "
                  f"receives (K-1) x, gathered buffer K x that")
        print(f"    sync points: {s['critical_path']} on the critical path "
              f"({s['critical_path_bn']} BN all-reduces + {s['critical_path_all_gather']} all_gather); "
              f"{s['overlappable_buckets']} gradient buckets overlappable, "
              f"{s['exposed_buckets']} exposed ({mib(s['exposed_bucket_bytes'])}: "
              "no library call between issue and first reader)")
        for i, b in enumerate(g["buckets"]):
            print(f"      bucket {i}: {mib(b['bytes'])} in {b['buffers']} buffers; "
                  f"{b['externs_before_reader']} library calls "
                  f"({b['flops_before_reader'] / 1e9:.2f} GFLOP) before its first reader "
                  f"{b['first_reader']}")
        f = p["flops_per_step"]
        fi = p["flops_per_image"]
        print(f"    library-call FLOPs per step: forward {f['forward'] / 1e9:.2f} G, "
              f"backward {f['backward'] / 1e9:.2f} G; per view {fi['forward'] / 2e9:.3f} G + "
              f"{fi['backward'] / 2e9:.3f} G (an image is 2 views)")
        print("    ring bytes moved per rank and step (sent = received):")
        print("      K      all-reduce grads     all-reduce BN       all-gather          total")
        for k, v in p["ring_bytes_per_rank"].items():
            print(f"      {k:>4}  {mib(v['all_reduce_gradients']):>18} {mib(v['all_reduce_bn']):>17} "
                  f"{mib(v['all_gather']):>18} {mib(v['total']):>18}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plans", nargs="+", metavar="PLAN.json",
                        help="plan.json of a data-parallel artifact (or its directory)")
    parser.add_argument("--ranks", default=",".join(map(str, DEFAULT_RANKS)),
                        help="comma-separated numbers of ranks K for the ring volumes "
                             f"(default {','.join(map(str, DEFAULT_RANKS))})")
    parser.add_argument("--json", action="store_true", help="print one JSON object per plan list")
    args = parser.parse_args()
    try:
        ranks = [int(k) for k in args.ranks.split(",")]
    except ValueError:
        parser.error(f"--ranks: expected comma-separated integers, got {args.ranks!r}")
    if any(k < 1 for k in ranks):
        parser.error("--ranks: every K must be >= 1")
    results = []
    for path in args.plans:
        try:
            results.append(analyze(path, ranks))
        except (OSError, KeyError, ValueError) as err:
            print(f"collective_volume.py: {path}: {err}", file=sys.stderr)
            return 1
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    else:
        for i, r in enumerate(results):
            if i:
                print()
            print_report(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
