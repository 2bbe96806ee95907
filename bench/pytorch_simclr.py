#!/usr/bin/env python3
"""pytorch_simclr.py - a spec's SimCLR setup in PyTorch: step speed and training.

The PyTorch baseline of bench/compare.sh (docs/benchmarks.md), eager or
under torch.compile. Builds
the network a simclrc spec describes (frontend/lib/NetworkBuilder.cpp: a
ResNet with the `small` 3x3 stride-1 stem and no max-pool or the `imagenet`
7x7/2 stem and max-pool, basic or bottleneck blocks, stage widths
round(64 * width_multiplier) * 2^stage, global average pooling; the head
Linear-ReLU-...-Linear with optional batch norm and biases), NT-Xent with the
spec's temperature, and the spec's optimizer (AdamW or SGD from torch.optim,
LARS written out as in SimCLR's code; biases and batch-norm parameters
excluded from weight decay when the spec says so). Module and parameter names
are torchvision's, which are simclrc's state names (plus "encoder.").

Three modes, all with torch.set_num_threads(THREADS) (default 2):

  step     W warm-up steps then N timed steps on random standard-normal
           views (2N x C x H x W, fixed seed): the train step alone, as
           simclr-train-step-bench times it;
  augment  the same loop fed by a DataLoader (2 worker processes, 1 torch
           thread each, the usual SimCLR setup) that reads the Fashion-MNIST
           IDX files and applies the spec's [[augment]] policy with
           torchvision.transforms v1 twice per image; reports images/s and
           the share of time the loop waited for data. Both leave the
           learning-rate schedule out (a constant rate; its cost is a
           scalar per step).
  train    trains E epochs (--epochs, default the spec's) as simclr-train
           does: data.train_images // N steps per epoch, the spec's
           warm-up + cosine schedule per step, the augment mode's data
           loading; then writes the parameters and running statistics under
           simclrc's state names to --out (float32 safetensors), checked
           against --artifact's plan when given, for
           `simclr-eval OUT --artifact DIR` (bench/compare.sh
           --accuracy-epochs).

--compile (step and augment modes) runs the same step under torch.compile
(default mode, inductor's C++/OpenMP backend on the CPU): the forward of
both views and NT-Xent are one compiled function, whose backward
AOTAutograd compiles ahead of time as well (loss.backward() runs that
compiled graph), and the optimizer step is a second compiled function, as
PyTorch's "compiling the optimizer" recipe does; only zero_grad and the two
calls stay in Python. (Compiled autograd would also trace the backward()
call itself; it is experimental, and the backward graph is compiled without
it.) The warm-up absorbs the compilation: at least W >= 1 steps, and in step
mode up to MAX_EXTRA_WARMUP more while the last one still compiled
(warmup_steps says how many ran); compile_s is the time they took beyond as
many timed-median steps, first_step_s the first one's, and graphs compiled
during the timed steps are counted (timed_recompiles, with a warning).
Then a fresh eager copy of the model (same seed) runs the same first steps
and both losses are printed and checked against each other (LOSS_RTOL): the
compiled step must compute what the eager one does. The train mode stays
eager (its schedule changes the rate every step, which the compiled
optimizer would recompile for). In augment mode worker_peak_rss_mib then
also covers inductor's compile workers.

Step times are reported as the mean (ms_per_step, images_per_s) and the
median (median_ms, median_images_per_s) of the N timed steps.
images/s counts the batch N per step, not the 2N views. Peak RSS comes from
getrusage: the main process (after `step`, then after `augment`) and the
largest reaped worker. Prints one JSON object.

    PY=$(bench/venv.sh)
    $PY bench/pytorch_simclr.py examples/fashion-mnist.toml \\
        --batch 64 --steps 3 --warmup 1 --mode both
    $PY bench/pytorch_simclr.py examples/fashion-mnist.toml \\
        --batch 64 --steps 5 --warmup 2 --mode step --compile
    $PY bench/pytorch_simclr.py examples/fashion-mnist.toml \\
        --mode train --epochs 2 --out /tmp/pt.safetensors --artifact ART_DIR

Needs torch 2.x and torchvision: the venv bench/venv.sh makes (its python
is what it prints). Debian 12's python3-torch (1.13) has no torch.compile.
"""
import argparse
import gzip
import json
import math
import os
import re
import resource
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from safetensors_io import write_safetensors  # noqa: E402 (scripts/safetensors_io.py)

RESNET_BASE_WIDTH = 64  # NetworkBuilder.cpp kResNetBaseWidth
BOTTLENECK_EXPANSION = 4
ARCHS = {  # docs/spec-format.md, [encoder] arch
    "resnet10": ([1, 1, 1, 1], "basic"), "resnet18": ([2, 2, 2, 2], "basic"),
    "resnet34": ([3, 4, 6, 3], "basic"), "resnet50": ([3, 4, 6, 3], "bottleneck"),
    "resnet101": ([3, 4, 23, 3], "bottleneck"), "resnet152": ([3, 8, 36, 3], "bottleneck"),
}
DEFAULT_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
KIB_PER_MIB = 1024.0  # ru_maxrss is in KiB on Linux
# torch.compile against eager, same weights and views: the first step's loss
# differs only by float32 rounding in reductions that inductor orders and
# fuses differently, the second's also by that rounding carried through one
# backward and one optimizer update. Measured: 0.9e-7 to 2.1e-7 relative
# (the Fashion-MNIST spec with AdamW at batch 16; the CIFAR spec's LARS on a
# 1/8-width ResNet-10 at batch 8). 1e-4 leaves room for deeper networks and
# larger batches, and still catches a step that computes something else.
LOSS_RTOL = 1e-4
LOSS_CHECK_STEPS = 2  # compared steps: the forward alone, then after one update
# --compile: warm-up steps beyond --warmup while the last one still compiled
# (the optimizer's first step creates its state, which the second one
# compiles for: LARS's momentum buffers on the CIFAR spec).
MAX_EXTRA_WARMUP = 3


# ---------------------------------------------------------------- spec ----

def parse_toml_subset(text):
    """The TOML the example specs use: [table], [[array-of-tables]],
    key = number | string | bool | flat array; # comments. For Pythons
    without tomllib (3.11 has it)."""
    root = {}
    current = root
    for raw in text.splitlines():
        line = strip_comment(raw).strip()
        if not line:
            continue
        if line.startswith("[["):
            current = {}
            root.setdefault(line[2:-2].strip(), []).append(current)
        elif line.startswith("["):
            current = root.setdefault(line[1:-1].strip(), {})
        else:
            key, value = (s.strip() for s in line.split("=", 1))
            current[key] = parse_value(value)
    return root


def strip_comment(line):
    """`line` up to a # outside a string."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return line[:i]
    return line


def parse_value(text):
    if text.startswith("["):
        inner = text[1:-1].strip()
        return [parse_value(v.strip()) for v in inner.split(",") if v.strip()] if inner else []
    if text.startswith('"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    return float(text) if re.search(r"[.eE]", text) else int(text)


def read_spec(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        import tomllib
        return tomllib.loads(data.decode())
    except ImportError:
        return parse_toml_subset(data.decode())


# ------------------------------------------------------------- network ----

class Block(nn.Module):
    """torchvision's BasicBlock / Bottleneck (stride on the 3x3 conv), with
    its attribute names, so state_dict keys are simclrc's state names."""

    def __init__(self, cin, width, stride, kind, eps, momentum):
        super().__init__()
        bn = lambda c: nn.BatchNorm2d(c, eps=eps, momentum=momentum)
        self.kind = kind
        cout = width * (BOTTLENECK_EXPANSION if kind == "bottleneck" else 1)
        if kind == "basic":
            self.conv1, self.bn1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False), bn(width)
            self.conv2, self.bn2 = nn.Conv2d(width, width, 3, 1, 1, bias=False), bn(width)
        else:
            self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), bn(width)
            self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), bn(width)
            self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), bn(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), bn(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        if self.kind == "basic":
            y = self.bn2(self.conv2(y))
        else:
            y = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(y)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class Encoder(nn.Module):
    """f: stem, stages layer1..layerK, global average pooling -> h."""

    def __init__(self, spec):
        super().__init__()
        enc, data = spec.get("encoder", {}), spec["data"]
        blocks, kind = ARCHS.get(enc.get("arch"), ([2, 2, 2, 2], "basic"))
        blocks, kind = enc.get("blocks", blocks), enc.get("block", kind)
        eps, momentum = enc.get("bn_epsilon", 1e-5), enc.get("bn_momentum", 0.1)
        width = max(1, round(RESNET_BASE_WIDTH * enc.get("width_multiplier", 1.0)))
        small = enc.get("stem", "small") == "small"
        self.conv1 = nn.Conv2d(data["channels"], width, 3 if small else 7, 1 if small else 2,
                               1 if small else 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width, eps=eps, momentum=momentum)
        self.maxpool = nn.Identity() if small else nn.MaxPool2d(3, 2, 1)
        self.stages = len(blocks)
        cin = width
        for stage, count in enumerate(blocks):
            layer = []
            for b in range(count):
                layer.append(Block(cin, width << stage, 2 if stage > 0 and b == 0 else 1, kind,
                                   eps, momentum))
                cin = (width << stage) * (BOTTLENECK_EXPANSION if kind == "bottleneck" else 1)
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layer))
        self.features = cin

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for stage in range(self.stages):
            x = getattr(self, f"layer{stage + 1}")(x)
        return x.mean(dim=(2, 3))


class SimCLR(nn.Module):
    """g(f(x)): state_dict keys are "encoder." + simclrc's encoder names and
    simclrc's "projector.I.*" names (frontend/lib/NetworkBuilder.cpp)."""

    def __init__(self, spec):
        super().__init__()
        head = spec.get("head", {})
        enc = spec.get("encoder", {})
        eps, momentum = enc.get("bn_epsilon", 1e-5), enc.get("bn_momentum", 0.1)
        self.encoder = Encoder(spec)
        cin, bias, proj = self.encoder.features, head.get("bias", True), []
        for hidden in head.get("hidden_dims", [512]):
            proj.append(nn.Linear(cin, hidden, bias=bias))
            if head.get("batch_norm", False):
                proj.append(nn.BatchNorm1d(hidden, eps=eps, momentum=momentum))
            proj.append(nn.ReLU(inplace=True))
            cin = hidden
        proj.append(nn.Linear(cin, head.get("output_dim", 128), bias=bias))
        self.projector = nn.Sequential(*proj)

    def forward(self, x):
        return self.projector(self.encoder(x))


def build_model(spec):
    model = SimCLR(spec)
    for m in model.modules():  # simclr.init kaiming_normal_fan_out, as torchvision
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def simclrc_state(model):
    """The model's parameters and running statistics under simclrc's state
    names (name -> float32 numpy array); num_batches_tracked has no
    counterpart (simclrc's batch norm uses a fixed momentum)."""
    state = {}
    for name, tensor in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        name = name[len("encoder."):] if name.startswith("encoder.") else name
        state[name] = tensor.detach().to(torch.float32).numpy()
    return state


def nt_xent(z, tau):
    """SimCLR's NT-Xent over 2N projections (view 0 batch, then view 1)."""
    z = F.normalize(z, dim=1)
    n2 = z.shape[0]
    logits = z @ z.t() / tau
    logits = logits.masked_fill(torch.eye(n2, dtype=torch.bool), float("-inf"))
    targets = (torch.arange(n2) + n2 // 2) % n2
    return F.cross_entropy(logits, targets)


class Lars(torch.optim.Optimizer):
    """SimCLR's LARS (TF code): decay and trust ratio on groups with
    `lars=True`; momentum on all."""

    def __init__(self, groups, lr, momentum, eta):
        super().__init__(groups, dict(lr=lr, momentum=momentum, eta=eta, weight_decay=0.0,
                                      lars=True))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                grad = p.grad
                if g["lars"]:
                    grad = grad.add(p, alpha=g["weight_decay"])
                    w, gn = torch.norm(p), torch.norm(grad)
                    trust = torch.where((w > 0) & (gn > 0), g["eta"] * w / gn,
                                        torch.ones_like(w))
                    grad = grad * trust
                buf = self.state[p].setdefault("momentum", torch.zeros_like(p))
                buf.mul_(g["momentum"]).add_(grad)
                p.add_(buf, alpha=-g["lr"])


def build_optimizer(model, spec):
    opt = spec.get("optimizer", {})
    kind = opt.get("kind", "lars")
    lr, wd = opt.get("lr", 0.3), opt.get("weight_decay", 1e-6)
    exclude = opt.get("exclude_bias_and_norm", kind == "lars")
    # Biases and norm parameters are the 1-D ones in this network.
    decay = [p for p in model.parameters() if not (exclude and p.dim() == 1)]
    plain = [p for p in model.parameters() if exclude and p.dim() == 1]
    if kind == "adamw":
        groups = [{"params": decay, "weight_decay": wd}, {"params": plain, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(opt.get("betas", [0.9, 0.999])),
                                 eps=opt.get("epsilon", 1e-8))
    if kind == "sgd":
        groups = [{"params": decay, "weight_decay": wd}, {"params": plain, "weight_decay": 0.0}]
        return torch.optim.SGD(groups, lr=lr, momentum=opt.get("momentum", 0.9))
    groups = [{"params": decay, "weight_decay": wd, "lars": True},
              {"params": plain, "weight_decay": 0.0, "lars": False}]
    return Lars(groups, lr, opt.get("momentum", 0.9), opt.get("trust_coefficient", 1e-3))


# ---------------------------------------------------------------- data ----

def view_size(spec):
    """docs/spec-format.md "Input size": the last crop's size, else image_size."""
    size = spec["data"]["image_size"]
    for a in spec.get("augment", []):
        if a["op"] == "random_resized_crop" and "size" in a:
            size = a["size"]
    return size


def build_policy(spec):
    from torchvision import transforms as T
    size = tuple(spec["data"]["image_size"])
    steps = []
    for a in spec.get("augment", []):
        op = a["op"]
        if op == "random_resized_crop":
            size = tuple(a.get("size", size))
            steps.append(T.RandomResizedCrop(size, scale=tuple(a.get("scale", [0.08, 1.0])),
                                             ratio=tuple(a.get("ratio", [0.75, 4 / 3])),
                                             antialias=False))
        elif op == "horizontal_flip":
            steps.append(T.RandomHorizontalFlip(a.get("p", 0.5)))
        elif op == "color_jitter":
            jitter = T.ColorJitter(a.get("brightness", 0), a.get("contrast", 0),
                                   a.get("saturation", 0), a.get("hue", 0))
            steps.append(T.RandomApply([jitter], p=a.get("p", 1.0)))
        elif op == "random_grayscale":
            steps.append(T.RandomGrayscale(a.get("p", 0.1)))
        elif op == "gaussian_blur":
            kernel = a.get("kernel_size", 9)
            steps.append(T.RandomApply([T.GaussianBlur(kernel, tuple(a.get("sigma", [0.1, 2.0])))],
                                       p=a.get("p", 0.5)))
        elif op == "normalize":
            steps.append(T.Normalize(tuple(a["mean"]), tuple(a["std"])))
        else:
            sys.exit(f"pytorch_simclr.py: augmentation op '{op}' has no torchvision mapping")
    return T.Compose(steps)


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        blob = f.read()
    magic, count, rows, cols = struct.unpack(">IIII", blob[:16])
    if magic != 2051:  # IDX: unsigned bytes, 3 dimensions
        sys.exit(f"{path}: not an IDX image file (magic {magic})")
    return torch.frombuffer(bytearray(blob[16:]), dtype=torch.uint8).view(count, 1, rows, cols)


class TwoViews(torch.utils.data.Dataset):
    def __init__(self, images, policy):
        self.images, self.policy = images, policy

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        x = self.images[i].float() / 255.0
        return self.policy(x), self.policy(x)


def two_view_loader(spec, batch, args, persistent):
    """(image count, DataLoader) over the Fashion-MNIST training images in
    args.data: shuffled with args.seed, whole batches only, both views
    augmented by the spec's policy in args.workers processes (kept across
    epochs when `persistent`)."""
    images = read_idx_images(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    loader = torch.utils.data.DataLoader(
        TwoViews(images, build_policy(spec)), batch_size=batch, shuffle=True, drop_last=True,
        num_workers=args.workers, persistent_workers=persistent and args.workers > 0,
        generator=torch.Generator().manual_seed(args.seed))
    return len(images), loader


# ------------------------------------------------------------- timing ----

def make_train_step(model, optimizer, tau, compiled):
    """The train step, views (2N x C x H x W) -> the loss before the update.
    With `compiled`: forward + NT-Xent and the optimizer step are two
    torch.compile'd functions, and AOTAutograd compiles the backward of the
    first (the module docstring says why this split)."""

    def forward_loss(views):
        return nt_xent(model(views), tau)

    def optimizer_step():
        optimizer.step()

    if compiled:
        forward_loss = torch.compile(forward_loss)
        optimizer_step = torch.compile(optimizer_step)

    def step(views):
        optimizer.zero_grad(set_to_none=True)
        loss = forward_loss(views)
        loss.backward()
        optimizer_step()
        return loss.item()

    return step


def compiled_graphs():
    """How many graphs torch.compile has compiled in this process so far
    (dynamo's own counter; torch 2.x has no public one)."""
    from torch._dynamo.utils import counters
    return counters["stats"]["unique_graphs"]


def peak_rss_mib(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss / KIB_PER_MIB


# Where the step mode runs: "cpu" or "cuda[:N]" (--device); set in main().
DEVICE = "cpu"


def build_setup(spec, seed):
    """(model in training mode on DEVICE, optimizer), the weights drawn from
    `seed` (on the CPU, so a GPU model starts from the same weights)."""
    torch.manual_seed(seed)
    model = build_model(spec)
    model.train()
    model.to(DEVICE)
    return model, build_optimizer(model, spec)


def check_compiled_losses(spec, args, views, tau, compiled_losses):
    """The losses of the same first steps in eager mode, from a fresh model
    and optimizer with the same weights; exits unless each is within
    LOSS_RTOL of the compiled step's."""
    model, optimizer = build_setup(spec, args.seed)
    step = make_train_step(model, optimizer, tau, compiled=False)
    eager_losses = [step(views) for _ in compiled_losses]
    for i, (eager, compiled) in enumerate(zip(eager_losses, compiled_losses)):
        difference = abs(compiled - eager) / abs(eager)
        print(f"pytorch_simclr.py: step {i + 1} loss: eager {eager:.7f}, torch.compile "
              f"{compiled:.7f} (relative difference {difference:.1e})", file=sys.stderr)
        if not difference <= LOSS_RTOL:
            sys.exit(f"pytorch_simclr.py: torch.compile's step {i + 1} loss differs from "
                     f"eager's by more than {LOSS_RTOL:g} (relative)")
    return eager_losses


def measure_step(model, optimizer, spec, batch, args):
    c = spec["data"]["channels"]
    h, w = view_size(spec)
    views = torch.randn(2 * batch, c, h, w, generator=torch.Generator().manual_seed(args.seed))
    views = views.to(DEVICE)
    tau = spec.get("loss", {}).get("temperature", 0.5)
    step = make_train_step(model, optimizer, tau, args.compile)
    warmup_s, warmup_losses = [], []
    graphs = compiled_graphs() if args.compile else 0
    while len(warmup_s) < args.warmup + MAX_EXTRA_WARMUP:
        start = time.perf_counter()
        warmup_losses.append(step(views))
        warmup_s.append(time.perf_counter() - start)
        compiled_now = args.compile and compiled_graphs() != graphs
        graphs = compiled_graphs() if args.compile else 0
        if len(warmup_s) >= args.warmup and not compiled_now:
            break
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = step(views)
        times.append(time.perf_counter() - start)
    if not math.isfinite(loss):
        sys.exit(f"pytorch_simclr.py: the loss is {loss}")
    total, median = sum(times), statistics.median(times)
    result = {"images_per_s": batch * len(times) / total, "ms_per_step": 1000 * total / len(times),
              "median_ms": 1000 * median, "median_images_per_s": batch / median, "loss": loss,
              "peak_rss_mib": peak_rss_mib()}
    if args.compile:
        compiled_losses = warmup_losses[:LOSS_CHECK_STEPS]
        result.update({
            "compile_s": max(0.0, sum(warmup_s) - len(warmup_s) * median),
            "first_step_s": warmup_s[0], "warmup_steps": len(warmup_s),
            "graphs": compiled_graphs(),
            "timed_recompiles": compiled_graphs() - graphs,
            "compiled_losses": compiled_losses,
            "eager_losses": check_compiled_losses(spec, args, views, tau, compiled_losses)})
        if result["timed_recompiles"]:
            print(f"pytorch_simclr.py: warning: torch.compile compiled "
                  f"{result['timed_recompiles']} more graphs during the timed steps; "
                  "more --warmup steps would keep that out of the timing", file=sys.stderr)
    return result


def measure_augment(model, optimizer, spec, batch, args):
    if spec["data"].get("dataset") != "fashion-mnist":
        return {"skipped": "augment mode reads Fashion-MNIST only"}
    _, loader = two_view_loader(spec, batch, args, persistent=False)
    tau = spec.get("loss", {}).get("temperature", 0.5)
    step = make_train_step(model, optimizer, tau, args.compile)
    it = iter(loader)
    wait = compute = 0.0
    for i in range(args.warmup + args.augment_steps):
        start = time.perf_counter()
        v0, v1 = next(it)
        fetched = time.perf_counter()
        step(torch.cat([v0, v1]))
        done = time.perf_counter()
        if i >= args.warmup:  # the first batches include the workers' start
            wait += fetched - start
            compute += done - fetched
    del it  # joins the workers, so RUSAGE_CHILDREN sees them
    total = wait + compute
    return {"images_per_s": batch * args.augment_steps / total,
            "data_wait_share": wait / total, "ms_per_step": 1000 * total / args.augment_steps,
            "peak_rss_mib": peak_rss_mib(),
            "worker_peak_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN)}


def lr_warmup_cosine(step, base_lr, final_lr, warmup_steps, total_steps):
    """simclr.lr_schedule (lib/Reference/Optimizers.cpp lrWarmupCosine): the
    rate of 0-based step `step`, linear warm-up then cosine decay."""
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    decay_steps = total_steps - warmup_steps
    if decay_steps == 0:
        return base_lr
    progress = min(step - warmup_steps, decay_steps)
    return final_lr + (base_lr - final_lr) * 0.5 * (1 + math.cos(math.pi * progress / decay_steps))


def plan_state_shapes(artifact_dir):
    """name -> shape of the parameters and running statistics of a simclrc
    artifact (plan.json), which simclr-eval will load the weights into."""
    path = os.path.join(artifact_dir, "plan.json")
    try:
        with open(path) as f:
            body = json.load(f)["body"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"pytorch_simclr.py: {path}: not a simclrc artifact plan ({e})")
    shapes = {b["id"]: b["shape"] for b in body["buffers"]}
    return {t["name"]: shapes[t["buffer"]] for t in body["state"]
            if t["kind"] in ("parameter", "running_stat")}


def check_against_artifact(state, artifact_dir):
    expected = plan_state_shapes(artifact_dir)
    for name, shape in expected.items():
        if name not in state:
            sys.exit(f"pytorch_simclr.py: {artifact_dir}: state tensor '{name}' has no "
                     "counterpart in the PyTorch model (a different network?)")
        if list(state[name].shape) != list(shape):
            sys.exit(f"pytorch_simclr.py: {artifact_dir}: '{name}' is {shape} there, "
                     f"{list(state[name].shape)} in the PyTorch model")
    extra = sorted(set(state) - set(expected))
    if extra:
        sys.exit(f"pytorch_simclr.py: {artifact_dir}: the artifact has no state tensor "
                 f"'{extra[0]}'")


def train(model, optimizer, spec, batch, args):
    """SimCLR training as simclr-train runs the spec: `epochs` epochs of
    data.train_images // batch steps (drop_last), the spec's warm-up +
    cosine schedule per step, both views augmented by torchvision in
    DataLoader workers. Writes the weights (simclrc state names, float32
    safetensors) to args.out."""
    if spec["data"].get("dataset") != "fashion-mnist":
        sys.exit("pytorch_simclr.py: train mode reads Fashion-MNIST only")
    image_count, loader = two_view_loader(spec, batch, args, persistent=True)
    schedule, opt = spec.get("schedule", {}), spec.get("optimizer", {})
    epochs = args.epochs or schedule.get("epochs", 100)
    # simclrc's definition: stepsPerEpoch/stepsForEpochs, lib/include/simclr/Support/TrainingSteps.h
    steps_per_epoch = min(spec["data"].get("train_images", image_count), image_count) // batch
    warmup_steps = steps_per_epoch * schedule.get("warmup_epochs", 0)
    total_steps = steps_per_epoch * epochs
    base_lr = opt.get("lr", 0.3)
    final_lr = base_lr * schedule.get("final_lr_fraction", 0.0)
    tau = spec.get("loss", {}).get("temperature", 0.5)
    train_step = make_train_step(model, optimizer, tau, compiled=False)
    start = time.perf_counter()
    step = 0
    for epoch in range(epochs):
        epoch_start, losses = time.perf_counter(), []
        for i, (v0, v1) in enumerate(loader):
            if i == steps_per_epoch:
                break
            for group in optimizer.param_groups:
                group["lr"] = lr_warmup_cosine(step, base_lr, final_lr, warmup_steps, total_steps)
            loss = train_step(torch.cat([v0, v1]))
            if not math.isfinite(loss):
                sys.exit(f"pytorch_simclr.py: the loss is {loss} at step {step}")
            losses.append(loss)
            step += 1
        seconds = time.perf_counter() - epoch_start
        print(f"pytorch_simclr.py: epoch {epoch + 1}/{epochs}: loss {sum(losses) / len(losses):.4f}, "
              f"{batch * len(losses) / seconds:.0f} img/s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start
    state = simclrc_state(model)
    if args.artifact:
        check_against_artifact(state, args.artifact)
    write_safetensors(args.out, state, {
        "simclr.exported_by": "bench/pytorch_simclr.py", "torch": torch.__version__,
        "spec": args.spec, "epochs": str(epochs), "steps": str(step), "seed": str(args.seed)})
    return {"epochs": epochs, "steps": step, "seconds": seconds,
            "images_per_s": batch * step / seconds, "final_loss": losses[-1], "weights": args.out}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default="examples/fashion-mnist.toml")
    parser.add_argument("--batch", type=int, help="images per step N (default: the spec's)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps, step mode")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--augment-steps", type=int, default=10, help="timed steps, augment mode")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument("--mode", choices=["step", "augment", "both", "train"], default="both")
    parser.add_argument("--epochs", type=int, help="train mode: epochs (default: the spec's)")
    parser.add_argument("--out", help="train mode: where to write the weights (.safetensors)")
    parser.add_argument("--artifact",
                        help="train mode: a simclrc artifact of the same spec; the weights "
                             "are checked against its state names and shapes")
    parser.add_argument("--data", default=DEFAULT_FASHION_MNIST)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu",
                        help="step mode: cpu or cuda[:N] (float32, TF32 off; the loss "
                             "read after each step synchronizes the GPU)")
    parser.add_argument("--compile", action="store_true",
                        help="step and augment modes: the step under torch.compile")
    args = parser.parse_args()
    if args.mode == "train" and not args.out:
        parser.error("train mode needs --out FILE.safetensors")
    if args.compile and args.mode == "train":
        parser.error("--compile times the step and augment modes; train mode is eager")
    if args.compile and args.warmup < 1:
        parser.error("--compile needs --warmup 1 or more: the first step compiles")

    spec = read_spec(args.spec)
    batch = args.batch or spec["data"]["batch_size"]
    torch.set_num_threads(args.threads)
    global DEVICE
    DEVICE = args.device
    if DEVICE != "cpu":
        if args.mode != "step":
            parser.error("--device other than cpu times the step mode only")
        # float32 means float32: TF32 convolutions and matmuls would not
        # be the computation simclrc's CUDA target runs.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    model, optimizer = build_setup(spec, args.seed)
    result = {"spec": args.spec, "batch": batch, "threads": args.threads,
              "torch": torch.__version__, "compile": args.compile,
              "optimizer": spec.get("optimizer", {}).get("kind", "lars"),
              "parameters": sum(p.numel() for p in model.parameters())}
    if args.mode in ("step", "both"):
        result["step"] = measure_step(model, optimizer, spec, batch, args)
    if args.mode in ("augment", "both"):
        result["augment"] = measure_augment(model, optimizer, spec, batch, args)
    if args.mode == "train":
        result["train"] = train(model, optimizer, spec, batch, args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
