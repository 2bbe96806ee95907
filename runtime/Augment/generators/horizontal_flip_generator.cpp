//===- horizontal_flip_generator.cpp - Per-image horizontal mirror --------===//
//
// The fixed transform of simclr.horizontal_flip: image n is mirrored,
// y[n,c,h,w] = x[n,c,h,W-1-w], when flags(n) != 0 (the host draws the flags
// as the reference does), else copied.
//
//===----------------------------------------------------------------------===//
#include "Halide.h"

namespace {

using namespace Halide;

class HorizontalFlip : public Generator<HorizontalFlip> {
public:
  /// Floats per vector; 0 picks the target's natural width.
  GeneratorParam<int> vectorWidth{"vector_width", 0};
  /// Images per parallel task: amortizes the thread pool's per-task cost.
  GeneratorParam<int> imagesPerTask{"images_per_task", 8};

  Input<Buffer<float>> input{"input", 4};
  /// flags(n) != 0: mirror image n.
  Input<Buffer<uint8_t>> flags{"flags", 1};
  Output<Buffer<float>> output{"output", 4};

  void generate() {
    // Algorithm
    Expr mirrored = input(input.dim(0).extent() - 1 - x, y, c, n);
    output(x, y, c, n) = select(flags(n) != 0, mirrored, input(x, y, c, n));
  }

  void schedule() {
    // Schedule
    // host (x86-64 AVX-512, natural 16 floats per vector, 2 cores): a reversed
    // vector load per row, images in parallel; about 0.2-0.3 us per 1x28x28
    // image and 0.8-1.4 us per 3x32x32 at 1 thread.
    // images_per_task = 8: with one image per task the thread pool's cost
    // dominated (Fashion-MNIST, 2 threads: flip 434 -> 144 ns per image,
    // normalize 401 -> 63). vector_width 0 (16 here) against 8: CIFAR policy
    // 126k against 114k images/s with 2 threads, Fashion-MNIST even.
    // Figures from bench/augment_bench.cpp (docs/benchmarks.md); steps are
    // per image, noisy to about +-30% on this shared machine.
    int width = vectorWidth > 0 ? int(vectorWidth) : natural_vector_size<float>();
    output.vectorize(x, width, TailStrategy::GuardWithIf)
        .split(n, task, n, imagesPerTask, TailStrategy::GuardWithIf)
        .parallel(task);
  }

private:
  Var x{"x"}, y{"y"}, c{"c"}, n{"n"}, task{"task"};
};

} // namespace

HALIDE_REGISTER_GENERATOR(HorizontalFlip, simclr_horizontal_flip)
