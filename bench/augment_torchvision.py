#!/usr/bin/env python3
"""augment_torchvision.py - images/s of torchvision.transforms (v1) on the
policies of bench/augment_bench.cpp, for docs/benchmarks.md.

Same synthetic uint8 batches and policies as simclr-augment-bench
(Fashion-MNIST 1x28x28, CIFAR-10 3x32x32), applied per image on tensors as a
Dataset's __getitem__ would, with resize antialiasing off as the simclr ops
fix it. Two ways of using 2 threads: in-process with torch.set_num_threads(2),
and a DataLoader with 2 worker processes (1 torch thread each), the usual
SimCLR setup. Prints a markdown table; median of --repeats timings.

    $(bench/venv.sh) bench/augment_torchvision.py --batch 256 --iterations 4 --repeats 5
"""
import argparse
import statistics
import time

import torch
from torchvision import transforms as T


def fashion_policy():
    return T.Compose([
        T.RandomResizedCrop(28, scale=(0.2, 1.0), antialias=False),
        T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.4, 0.4)], p=0.8),
        T.Normalize((0.2860,), (0.3530,)),
    ])


def cifar_policy():
    return T.Compose([
        T.RandomResizedCrop(32, scale=(0.08, 1.0), antialias=False),
        T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(0.2),
        T.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    ])


class Views(torch.utils.data.Dataset):
    """Image i of the batch: pixels / 255, then the policy."""

    def __init__(self, images, policy, length=None):
        self.images, self.policy = images, policy
        self.length = length or len(images)

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        return self.policy(self.images[i % len(self.images)].float() / 255.0)


def seconds_per_batch(run, iterations, repeats):
    run()  # warm-up
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            run()
        timings.append((time.perf_counter() - start) / iterations)
    return statistics.median(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(42)
    print(f"torch {torch.__version__}, batch {args.batch}, median of "
          f"{args.repeats} x {args.iterations} batches")
    print("| policy | torchvision, 2 threads in-process, images/s "
          "| torchvision, DataLoader 2 workers, images/s |")
    print("|---|---|---|")
    for name, policy, shape in (("Fashion-MNIST 1x28x28", fashion_policy(), (1, 28, 28)),
                                ("CIFAR-10 3x32x32", cifar_policy(), (3, 32, 32))):
        images = torch.randint(0, 256, (args.batch, *shape), dtype=torch.uint8,
                               generator=generator)
        views = Views(images, policy)
        torch.set_num_threads(2)
        in_process = seconds_per_batch(
            lambda: torch.stack([views[i] for i in range(len(views))]),
            args.iterations, args.repeats)
        torch.set_num_threads(1)
        # One epoch of `iterations` batches per timing, so the workers'
        # prefetching is all used.
        epoch = Views(images, policy, args.batch * args.iterations)
        loader = torch.utils.data.DataLoader(epoch, batch_size=args.batch, num_workers=2,
                                             persistent_workers=True)
        workers = seconds_per_batch(lambda: [None for _ in loader], 1, args.repeats)
        workers /= args.iterations
        print(f"| {name} | {args.batch / in_process:.0f} | {args.batch / workers:.0f} |")


if __name__ == "__main__":
    main()
