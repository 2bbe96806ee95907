//===- grayscale_generator.cpp - Per-image conversion to gray -------------===//
//
// The fixed transform of simclr.random_grayscale on RGB images: when
// flags(n) != 0 every channel of image n becomes
// gray = 0.299 R + 0.587 G + 0.114 B (evaluated left to right in float32, as
// the reference), else the image is copied.
//
//===----------------------------------------------------------------------===//
#include "Halide.h"

namespace {

using namespace Halide;

/// ITU-R BT.601 luma weights, as simclr.random_grayscale defines gray.
constexpr float kGrayRed = 0.299f;
constexpr float kGrayGreen = 0.587f;
constexpr float kGrayBlue = 0.114f;

class Grayscale : public Generator<Grayscale> {
public:
  /// Floats per vector; 0 picks the target's natural width.
  GeneratorParam<int> vectorWidth{"vector_width", 0};
  /// Images per parallel task: amortizes the thread pool's per-task cost.
  GeneratorParam<int> imagesPerTask{"images_per_task", 8};

  /// RGB images (x, y, c = 0..2, n).
  Input<Buffer<float>> input{"input", 4};
  /// flags(n) != 0: image n becomes gray.
  Input<Buffer<uint8_t>> flags{"flags", 1};
  Output<Buffer<float>> output{"output", 4};

  void generate() {
    // Algorithm
    Expr gray = kGrayRed * input(x, y, 0, n) + kGrayGreen * input(x, y, 1, n) +
                kGrayBlue * input(x, y, 2, n);
    output(x, y, c, n) = select(flags(n) != 0, gray, input(x, y, c, n));
  }

  void schedule() {
    // Schedule
    // host (x86-64 AVX-512, natural 16 floats per vector, 2 cores): vectorized
    // rows, images in parallel; about 0.6-0.8 us per 3x32x32 image at 1
    // thread.
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

HALIDE_REGISTER_GENERATOR(Grayscale, simclr_grayscale)
