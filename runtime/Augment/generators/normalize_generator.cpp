//===- normalize_generator.cpp - Per-channel standardization --------------===//
//
// torchvision's Normalize: y = (x - mean[c]) / std[c], as ref::normalize in
// float32 (a true division, not a reciprocal multiply).
//
//===----------------------------------------------------------------------===//
#include "Halide.h"

namespace {

using namespace Halide;

class Normalize : public Generator<Normalize> {
public:
  /// Floats per vector; 0 picks the target's natural width.
  GeneratorParam<int> vectorWidth{"vector_width", 0};
  /// Images per parallel task: amortizes the thread pool's per-task cost.
  GeneratorParam<int> imagesPerTask{"images_per_task", 8};

  Input<Buffer<float>> input{"input", 4};
  /// mean(c) and stddev(c), one per channel; stddev > 0.
  Input<Buffer<float>> mean{"mean", 1};
  Input<Buffer<float>> stddev{"stddev", 1};
  Output<Buffer<float>> output{"output", 4};

  void generate() {
    // Algorithm
    output(x, y, c, n) = (input(x, y, c, n) - mean(c)) / stddev(c);
  }

  void schedule() {
    // Schedule
    // host (x86-64 AVX-512, natural 16 floats per vector, 2 cores): vectorized
    // rows, images in parallel; about 0.2 us per 1x28x28 image and 0.8-1.0
    // us per 3x32x32 at 1 thread.
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

HALIDE_REGISTER_GENERATOR(Normalize, simclr_normalize)
