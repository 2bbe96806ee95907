//===- gaussian_blur_generator.cpp - Separable per-image Gaussian blur ----===//
//
// The fixed transform of simclr.gaussian_blur: image n is convolved with the
// 1-D kernel weights(0..K-1, n), first along rows then along columns, each
// sum_i k[i] * x[reflect(p + i - r)] accumulated in order i = 0..K-1 from 0,
// with torchvision's reflect padding (-1 -> 1, n -> n - 2) and r = (K-1)/2.
// The host computes the weights with ref::gaussianKernel1d<float> from the
// sampled sigma, and passes the identity kernel (1 at the centre) for images
// the draw leaves alone: 0 * x and x + 0 are exact, so those are copied.
//
//===----------------------------------------------------------------------===//
#include "Halide.h"

namespace {

using namespace Halide;

class GaussianBlur : public Generator<GaussianBlur> {
public:
  /// Floats per vector; 0 picks the target's natural width.
  GeneratorParam<int> vectorWidth{"vector_width", 0};
  /// Images per parallel task: amortizes the thread pool's per-task cost.
  GeneratorParam<int> imagesPerTask{"images_per_task", 8};

  Input<Buffer<float>> input{"input", 4};
  /// weights(i, n): image n's normalized kernel, odd K = extent of dim 0.
  Input<Buffer<float>> weights{"weights", 2};
  Output<Buffer<float>> output{"output", 4};

  void generate() {
    // Algorithm
    Expr kernelSize = weights.dim(0).extent();
    Expr radius = (kernelSize - 1) / 2;
    Expr width = input.dim(0).extent(), height = input.dim(1).extent();
    // mirror_interior is torchvision's reflect (-1 -> 1, n -> n - 2) for
    // offsets below the extent, which the host's kernel-size check
    // (K <= 2 * min(H, W) - 1) guarantees. Its `likely` lets Halide split
    // the padded copy's rows into border and interior loops.
    Func mirrored = BoundaryConditions::mirror_interior(
        input, {Range(0, width), Range(), Range(), Range()});
    paddedColumns(x, y, c, n) = mirrored(x, y, c, n);
    // Explicit accumulations (0, then += in tap order) rather than sum(), so
    // the schedule can put the tap loop outside the vectorized x loop.
    RDom taps(0, kernelSize, "tap");
    tap = taps.x;
    rows(x, y, c, n) = 0.0f;
    rows(x, y, c, n) += weights(tap, n) * paddedColumns(x + tap - radius, y, c, n);
    Func paddedRows = BoundaryConditions::mirror_interior(
        rows, {Range(), Range(0, height), Range(), Range()});
    columns(x, y, c, n) = 0.0f;
    columns(x, y, c, n) += weights(tap, n) * paddedRows(x, y + tap - radius, c, n);
    output(x, y, c, n) = columns(x, y, c, n);
  }

  void schedule() {
    // Schedule
    // host (x86-64 AVX-512, natural 16 floats per vector, 2 cores): per channel,
    // a padded copy, the row pass and the column pass are kept, each
    // vectorized over x with the tap loop outside it; images in parallel.
    // STL-10 (3x96x96, K = 9), 2 threads: 38-46 us per image, against
    // 110 us when every tap resolved the reflection lane by lane (gathers)
    // and 270 us with the tap loop outside but no padded copy; 92-110 us at
    // 1 thread.
    // images_per_task = 8: with one image per task the thread pool's cost
    // dominated (Fashion-MNIST, 2 threads: flip 434 -> 144 ns per image,
    // normalize 401 -> 63). vector_width 0 (16 here) against 8: CIFAR policy
    // 126k against 114k images/s with 2 threads, Fashion-MNIST even.
    // Figures from bench/augment_bench.cpp (docs/benchmarks.md); steps are
    // per image, noisy to about +-30% on this shared machine.
    int vector = vectorWidth > 0 ? int(vectorWidth) : natural_vector_size<float>();
    output.vectorize(x, vector, TailStrategy::GuardWithIf)
        .split(n, task, n, imagesPerTask, TailStrategy::GuardWithIf)
        .parallel(task);
    // The horizontal pass reads a padded copy of the channel: its reflected
    // indices vary across vector lanes (gathers), so they are resolved once
    // per pixel, not once per tap. The vertical pass reflects whole rows (a
    // scalar index) and reads rows directly.
    paddedColumns.compute_at(output, c).vectorize(x, vector, TailStrategy::RoundUp);
    for (Func pass : {rows, columns}) {
      pass.store_at(output, task).compute_at(output, c).vectorize(x, vector, TailStrategy::RoundUp);
      pass.update().reorder(x, tap, y).vectorize(x, vector, TailStrategy::RoundUp);
    }
  }

private:
  Var x{"x"}, y{"y"}, c{"c"}, n{"n"}, task{"task"};
  Func paddedColumns{"padded_columns"}, rows{"rows"}, columns{"columns"};
  RVar tap;
};

} // namespace

HALIDE_REGISTER_GENERATOR(GaussianBlur, simclr_gaussian_blur)
