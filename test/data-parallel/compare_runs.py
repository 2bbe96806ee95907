#!/usr/bin/env python3
"""Compares two simclr-train run directories (equivalence.sh): the loss
column of metrics.csv step by step and every tensor of the newest checkpoint
(parameters, running statistics, optimizer state), each as a relative
error ||a - b|| / ||b|| (per tensor; |a - b| / |b| for the loss of each step). Pure Python: the
safetensors layout is an 8-byte header length, a JSON header, then the data.

The loss of every step and the parameters with the running statistics
(one vector: ||a - b|| / ||b|| over all of them) must agree within
TOLERANCE; the worst single tensor is printed too. Per tensor the ratio
means little for tensors near 0 whose gradient is rounding noise: a
batch-norm shift right before another batch norm (the encoder's last one,
under the projection head's) has a true gradient of ~0. Optimizer state
(one vector too) is held only to STATE_TOLERANCE: it accumulates raw
gradients, whose sums over thousands of products cancel (oneDNN's own
rounding moves it by ~1e-5 between 1 and 2 threads of one process after one
step), so it measures float32 noise more than the step; a wrong step (a
gradient counted twice, a missed replica) moves it by tens of percent.

Usage: compare_runs.py RUN_A RUN_B TOLERANCE STATE_TOLERANCE LABEL
Prints one line with the worst errors; exits 1 when one exceeds its bound.
"""
import array
import glob
import json
import math
import os
import struct
import sys


# torch.optim's state_dict names (simclr-train's checkpoints).
STATE_SUFFIXES = (".exp_avg", ".exp_avg_sq", ".momentum_buffer")


def read_losses(run):
    with open(os.path.join(run, "metrics.csv")) as f:
        rows = f.read().splitlines()
    column = rows[0].split(",").index("loss")
    return [float(row.split(",")[column]) for row in rows[1:]]


def read_checkpoint(run):
    paths = sorted(glob.glob(os.path.join(run, "checkpoints", "step-*.safetensors")))
    if not paths:
        sys.exit(f"compare_runs: {run}: no checkpoint")
    with open(paths[-1], "rb") as f:
        blob = f.read()
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + size])
    data = blob[8 + size:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue
        begin, end = entry["data_offsets"]
        values = array.array("f")
        values.frombytes(data[begin:end])
        tensors[name] = values
    return os.path.basename(paths[-1]), tensors


def relative(a, b):
    """||a - b|| / ||b|| (Euclidean norms over the tensor): a max-norm ratio
    would call a bias that batch norm makes irrelevant (its gradient is
    rounding noise around 0) wrong."""
    diff = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    scale = math.sqrt(sum(y * y for y in b))
    return diff / scale if scale > 0 else diff


def main():
    run_a, run_b, label = sys.argv[1], sys.argv[2], sys.argv[5]
    tolerance, state_tolerance = float(sys.argv[3]), float(sys.argv[4])
    losses_a, losses_b = read_losses(run_a), read_losses(run_b)
    if len(losses_a) != len(losses_b):
        sys.exit(f"{label}: {len(losses_a)} steps against {len(losses_b)}")
    loss_error = max(abs(a - b) / abs(b) for a, b in zip(losses_a, losses_b))
    name_a, tensors_a = read_checkpoint(run_a)
    name_b, tensors_b = read_checkpoint(run_b)
    if name_a != name_b or tensors_a.keys() != tensors_b.keys():
        sys.exit(f"{label}: checkpoints differ in step or tensors ({name_a}, {name_b})")
    def worst_of(names):
        return max(((n, relative(tensors_a[n], tensors_b[n])) for n in names),
                   key=lambda item: item[1], default=("none", 0.0))

    def whole(names):
        a = [x for n in sorted(names) for x in tensors_a[n]]
        b = [x for n in sorted(names) for x in tensors_b[n]]
        return relative(a, b)
    optimizer_state = {n for n in tensors_b if n.endswith(STATE_SUFFIXES)}
    model_names = set(tensors_b) - optimizer_state
    model, state = whole(model_names), whole(optimizer_state)
    worst_name, worst = worst_of(model_names)
    ok = loss_error <= tolerance and model <= tolerance and state <= state_tolerance
    print(f"{label}: {len(losses_b)} steps: loss {loss_error:.2e}, "
          f"parameters and running statistics {model:.2e} "
          f"(worst tensor {worst_name} {worst:.2e}), optimizer state {state:.2e}"
          f"{'' if ok else f' EXCEEDS {tolerance:g} / {state_tolerance:g}'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
