#!/usr/bin/env python3
"""Step-time model of data-parallel SimCLR on K GPUs, from a plan's communication volumes.

A model, not a measurement: every constant below is an assumption stated in
docs/data-parallel-scaling.md. Volumes, FLOPs and bucket readiness come from
bench/collective_volume.py's analysis of a --data-parallel plan.json.

  step = forward + BN syncs (fwd) + all_gather + NT-Xent
       + backward + BN syncs (bwd) + exposed gradient communication
where gradient buckets run one after another on one channel, each starting
when it is ready (its share of backward FLOPs done) and the channel is free;
what ends after the backward is exposed.

Usage: bench/dp_step_model.py PLAN.json [--global-batch 4096,8192] [--ranks 8,32,64,128]
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collective_volume  # noqa: E402

# Assumptions (docs/data-parallel-scaling.md, "Assumptions").
ACHIEVED_FLOPS = 80e12        # per H100, conv net training in bf16, cuDNN
GPUS_PER_NODE = 8             # one HGX H100 node, NVLink 4 / NVSwitch
NVLINK_BYTES_PER_S = 360e9    # 80% of 450 GB/s per direction per GPU
IB_BYTES_PER_S = 40e9         # 80% of 400 Gb/s = 50 GB/s per GPU (one NIC each)
NVLINK_LATENCY_S = 10e-6      # one small NCCL collective inside a node
IB_LATENCY_S = 25e-6          # one small NCCL collective across 2 nodes
IB_LATENCY_PER_DOUBLING_S = 5e-6  # tree depth grows with log2(nodes)
PROJECTION_DIM_BYTES = 128 * 4     # one f32 projection row (output_dim 128)


def link(k):
    if k <= GPUS_PER_NODE:
        return NVLINK_BYTES_PER_S, NVLINK_LATENCY_S
    nodes = k // GPUS_PER_NODE
    return IB_BYTES_PER_S, IB_LATENCY_S + IB_LATENCY_PER_DOUBLING_S * math.log2(nodes)


def all_reduce_s(nbytes, k):
    bw, lat = link(k)
    return lat + 2 * (k - 1) / k * nbytes / bw


def model(p, k, global_batch):
    local = global_batch // k
    views = 2 * local
    fv = p["flops_per_view"]
    fwd = views * fv["forward"] / ACHIEVED_FLOPS
    bwd = views * fv["backward"] / ACHIEVED_FLOPS
    # NT-Xent over the gathered rows: 2N_local x 2N_global x d similarities,
    # forward and backward (3 matmuls' worth).
    ntxent = 3 * 2 * views * 2 * global_batch * 128 / ACHIEVED_FLOPS
    ar = p["all_reduce_sum"]
    bn_n = ar["bn_sums_forward"]["count"] + ar["bn_sums_backward"]["count"]
    bn_bytes = (ar["bn_sums_forward"]["bytes"] + ar["bn_sums_backward"]["bytes"]) / bn_n
    bn = bn_n * all_reduce_s(bn_bytes, k)
    bw, lat = link(k)
    gathered = 2 * global_batch * PROJECTION_DIM_BYTES
    gather = lat + (k - 1) / k * gathered / bw
    # Gradient buckets: ready when their share of the backward is done.
    total_bwd_flops = p["flops_per_step"]["backward"]
    channel = 0.0
    grad_total = 0.0
    for b in p["all_reduce_sum"]["gradient_buckets"]["buckets"]:
        ready = bwd * (1 - b["flops_before_reader"] / total_bwd_flops)
        t = all_reduce_s(b["bytes"], k)
        grad_total += t
        channel = max(channel, ready) + t
    exposed = max(0.0, channel - bwd)
    compute = fwd + bwd + ntxent
    step = compute + bn + gather + exposed
    return {"k": k, "local": local, "compute": compute, "bn": bn, "gather": gather,
            "grad": grad_total, "exposed": exposed, "step": step,
            "efficiency": compute / step}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan")
    parser.add_argument("--global-batch", default="4096,8192")
    parser.add_argument("--ranks", default="8,32,64,128")
    args = parser.parse_args()
    r = collective_volume.analyze(args.plan, [])
    if "train_step" not in r["programs"]:
        print(f"dp_step_model.py: {r['plan']}: no collectives; compile with simclrc "
              "--data-parallel", file=sys.stderr)
        return 1
    p = r["programs"]["train_step"]
    print(f"{r['spec']}: {p['flops_per_view']['forward'] / 1e9:.2f} + "
          f"{p['flops_per_view']['backward'] / 1e9:.2f} GFLOP per view (fwd + bwd)")
    print("| global batch | K | per rank | compute ms | BN syncs ms | all_gather ms | "
          "gradient all-reduce ms (exposed) | step ms | efficiency |")
    print("|---|---|---|---|---|---|---|---|---|")
    for gb in map(int, args.global_batch.split(",")):
        for k in map(int, args.ranks.split(",")):
            m = model(p, k, gb)
            print(f"| {gb} | {k} | {m['local']} | {m['compute'] * 1e3:.1f} | "
                  f"{m['bn'] * 1e3:.2f} | {m['gather'] * 1e3:.2f} | "
                  f"{m['grad'] * 1e3:.1f} ({m['exposed'] * 1e3:.2f}) | "
                  f"{m['step'] * 1e3:.1f} | {m['efficiency'] * 100:.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
