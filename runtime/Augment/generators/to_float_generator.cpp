//===- to_float_generator.cpp - uint8 images to float32 in [0, 1] ---------===//
//
// y = x / 255 for a batch of uint8 NCHW images (Halide dims x, y, c, n). Used
// when a policy does not start with a crop; otherwise the crop generator's
// uint8 instance fuses this conversion.
//
//===----------------------------------------------------------------------===//
#include "Halide.h"

namespace {

using namespace Halide;

/// The largest uint8 value: pixels / 255 map to [0, 1] (Augmenter.h).
constexpr float kPixelMax = 255.0f;

class ToFloat : public Generator<ToFloat> {
public:
  /// Floats per vector; 0 picks the target's natural width.
  GeneratorParam<int> vectorWidth{"vector_width", 0};
  /// Images per parallel task: amortizes the thread pool's per-task cost.
  GeneratorParam<int> imagesPerTask{"images_per_task", 8};

  Input<Buffer<uint8_t>> input{"input", 4};
  Output<Buffer<float>> output{"output", 4};

  void generate() {
    // Algorithm
    // strict_float keeps a true division: LLVM's reciprocal multiply would
    // differ from the reference's x / 255 in the last bit.
    output(x, y, c, n) = strict_float(cast<float>(input(x, y, c, n)) / kPixelMax);
  }

  void schedule() {
    // Schedule
    // host (x86-64 AVX-512, natural 16 floats per vector, 2 cores): vectorized
    // rows, images in parallel. Not on the benchmarked policies' path (their
    // crop fuses the conversion); the same loop nest as normalize, measured
    // there.
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

HALIDE_REGISTER_GENERATOR(ToFloat, simclr_to_float)
