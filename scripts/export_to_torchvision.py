#!/usr/bin/python3
"""Loads simclrc encoder weights (safetensors, torchvision names) into torchvision.

Builds torchvision's ResNet with BasicBlocks, `--blocks` per stage and stage
widths width, 2*width, 4*width, 8*width; replaces conv1 by the small stem's
3x3 stride-1 conv and maxpool by Identity when the stem is small; sets
fc = Identity; then load_state_dict(strict=True) from the file's encoder
tensors (conv1.*, bn1.*, layerK.*; everything else, such as projector.*,
grad.*, optimizer steps, is dropped) plus num_batches_tracked = 0.

torchvision's BasicBlock has no width parameter (ResNet's width_per_group is
for Bottleneck only, and BasicBlock rejects anything but 64), so for a width
other than 64 the stages are rebuilt with torchvision's own
ResNet._make_layer and BasicBlock; the module tree and names are unchanged.
For the default --blocks 2,2,2,2 --width 64 the model is resnet18.

Needs Debian's torch and torchvision (apt-get install -y python3-torch
python3-torchvision); the `python3` on PATH may lack them. Example, on a
golden file (one block per stage, width 8, small stem):

    /usr/bin/python3 scripts/export_to_torchvision.py \\
        test/golden/small_resnet_tau0.5.safetensors --blocks 1,1,1,1 --width 8

When the file also holds `views`, `loss`, projector.* and a "config"
metadata entry with "tau" (as the golden files do), the script recomputes
the NT-Xent loss through the torchvision model and checks it.
"""

import argparse
import json
import re
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import torchvision
    from torchvision.models.resnet import BasicBlock, ResNet
except ImportError:
    sys.exit("export_to_torchvision.py: torchvision is missing; run "
             "apt-get install -y python3-torchvision and use /usr/bin/python3")

# torchvision's stage widths at width 64; ResNet hard-codes them.
TORCHVISION_WIDTH = 64
STAGES = 4
ENCODER_KEY = re.compile(r"^(conv1|bn1|layer\d+)\.")
# |loss recomputed - loss stored| allowed, relative: both are float32
# evaluations of the same graph in different summation orders (~1e-7).
LOSS_TOLERANCE = 1e-5


def read_safetensors(path):
    """Returns (name -> torch.Tensor, metadata); F32 only, as simclrc writes."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        sys.exit(f"{path}: too short for a safetensors file")
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + length])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            sys.exit(f"{path}: tensor '{name}' is {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        array = np.frombuffer(blob[8 + length + begin : 8 + length + end], dtype="<f4")
        tensors[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return tensors, metadata


def build_resnet(blocks, width, stem):
    """torchvision ResNet(BasicBlock, blocks) with the given width and stem."""
    model = ResNet(BasicBlock, blocks)
    if width != TORCHVISION_WIDTH:
        model.inplanes = width
        model.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        model.bn1 = model._norm_layer(width)
        for stage in range(STAGES):
            layer = model._make_layer(
                BasicBlock, width << stage, blocks[stage], stride=1 if stage == 0 else 2
            )
            setattr(model, f"layer{stage + 1}", layer)
    if stem == "small":
        # SimCLR's CIFAR stem: 3x3 stride-1 conv, no max-pool.
        model.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    model.fc = nn.Identity()
    return model


def check_loss(model, tensors, metadata):
    """Recomputes the stored NT-Xent loss through `model` (train-mode BN)."""
    tau = json.loads(metadata["config"])["tau"]
    model.train()
    with torch.no_grad():
        h = model(tensors["views"])
        hidden = F.relu(F.linear(h, tensors["projector.0.weight"], tensors["projector.0.bias"]))
        z = F.linear(hidden, tensors["projector.2.weight"], tensors["projector.2.bias"])
        u = F.normalize(z, dim=1)
        two_n = z.shape[0]
        logits = (u @ u.t() / tau).masked_fill(torch.eye(two_n, dtype=torch.bool), float("-inf"))
        targets = (torch.arange(two_n) + two_n // 2) % two_n
        loss = float(F.cross_entropy(logits, targets))
    stored = float(tensors["loss"])
    relative = abs(loss - stored) / abs(stored)
    print(f"NT-Xent loss through torchvision: {loss:.8f} (stored {stored:.8f}, "
          f"relative difference {relative:.1e})")
    return relative <= LOSS_TOLERANCE


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="safetensors file with torchvision-named encoder weights")
    parser.add_argument("--blocks", default="2,2,2,2",
                        help="BasicBlocks per stage, comma-separated (default: resnet18's 2,2,2,2)")
    parser.add_argument("--width", type=int, default=TORCHVISION_WIDTH,
                        help="first stage's channels; stage s has width*2^s (default 64)")
    parser.add_argument("--stem", choices=("auto", "small", "imagenet"), default="auto",
                        help="small: 3x3 conv, no max-pool; imagenet: 7x7/2 conv and "
                             "max-pool; auto (default): small iff conv1.weight is 3x3")
    args = parser.parse_args()

    blocks = [int(b) for b in args.blocks.split(",")]
    if len(blocks) != STAGES or min(blocks) < 1:
        sys.exit(f"--blocks: expected {STAGES} positive counts, got '{args.blocks}'")
    tensors, metadata = read_safetensors(args.file)
    if "conv1.weight" not in tensors:
        sys.exit(f"{args.file}: no tensor 'conv1.weight'; not an encoder checkpoint")
    stem = args.stem
    if stem == "auto":
        stem = "small" if tuple(tensors["conv1.weight"].shape[2:]) == (3, 3) else "imagenet"

    model = build_resnet(blocks, args.width, stem)
    state = {k: v for k, v in tensors.items() if ENCODER_KEY.match(k)}
    dropped = len(tensors) - len(state)
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros_like(value)
    # strict=True: a missing, unexpected or misshapen tensor is an error.
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        reason = " ".join(str(error).split())
        sys.exit(f"{args.file}: does not fit ResNet(BasicBlock, {blocks}) of width "
                 f"{args.width}, {stem} stem (check --blocks/--width/--stem): {reason}")
    loaded = len(state) - sum(k.endswith("num_batches_tracked") for k in state)

    model.eval()
    side = 32 if stem == "small" else 224
    with torch.no_grad():
        features = model(torch.zeros(1, 3, side, side))
    print(f"torchvision {torchvision.__version__}: ResNet(BasicBlock, {blocks}), "
          f"width {args.width}, {stem} stem, fc = Identity")
    print(f"loaded {loaded} tensors from {args.file} (+{len(state) - loaded} "
          f"num_batches_tracked zeros; {dropped} non-encoder tensors dropped)")
    print(f"feature dim: {features.shape[1]} (forward of a 1x3x{side}x{side} batch)")

    needed = ("views", "loss", "projector.0.weight", "projector.0.bias",
              "projector.2.weight", "projector.2.bias")
    if all(k in tensors for k in needed) and "config" in metadata:
        if not check_loss(model, tensors, metadata):
            sys.exit(f"{args.file}: loss through torchvision differs by more than "
                     f"{LOSS_TOLERANCE} (relative)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
