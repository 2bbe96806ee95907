//===- resized_crop_generator.cpp - Bilinear resize of per-image windows --===//
//
// The fixed transform of simclr.random_resized_crop: image n's window
// (top, left, height, width) = windows(0..3, n), sampled on the host by
// ref::sampleCropWindow, is resized bilinearly to the output's extent with
// half-pixel centres, align_corners = false and no antialiasing
// (lib/include/simclr/Reference/Augment.h gives the formula, which this
// follows operation for operation in float32). Instantiated for float32
// input and for uint8 input (`input.type=uint8`), which fuses the
// pixels / 255 conversion into the taps.
//
//===----------------------------------------------------------------------===//
#include "Halide.h"

namespace {

using namespace Halide;

/// The largest uint8 value: pixels / 255 map to [0, 1] (Augmenter.h).
constexpr float kPixelMax = 255.0f;
/// Rows of the windows buffer: top, left, height, width.
enum WindowField { kTop = 0, kLeft, kHeight, kWidth };

class ResizedCrop : public Generator<ResizedCrop> {
public:
  /// Floats per vector; 0 picks the target's natural width.
  GeneratorParam<int> vectorWidth{"vector_width", 0};
  /// Images per parallel task: amortizes the thread pool's per-task cost.
  GeneratorParam<int> imagesPerTask{"images_per_task", 8};

  /// Images (x, y, c, n); float32 in [0, 1] or uint8.
  Input<Buffer<>> input{"input", 4};
  /// windows(field, n), fields as WindowField; inside image n.
  Input<Buffer<int32_t>> windows{"windows", 2};
  Input<int32_t> outWidth{"out_width"};
  Input<int32_t> outHeight{"out_height"};
  Output<Buffer<float>> output{"output", 4};

  void generate() {
    // Algorithm
    Expr top = windows(kTop, n), left = windows(kLeft, n);
    Expr winHeight = windows(kHeight, n), winWidth = windows(kWidth, n);

    // torch's compute_indices_weights_linear per axis, as ref::linearTaps.
    Expr scaleX = cast<float>(winWidth) / cast<float>(outWidth);
    Expr srcX = max(scaleX * (cast<float>(x) + 0.5f) - 0.5f, 0.0f);
    Expr j0 = min(cast<int32_t>(floor(srcX)), winWidth - 1);
    Expr j1 = j0 + select(j0 < winWidth - 1, 1, 0);
    Expr lx1 = clamp(srcX - cast<float>(j0), 0.0f, 1.0f);
    Expr lx0 = 1.0f - lx1;
    colTaps(x, n) = {j0, j1, lx0, lx1};

    Expr scaleY = cast<float>(winHeight) / cast<float>(outHeight);
    Expr srcY = max(scaleY * (cast<float>(y) + 0.5f) - 0.5f, 0.0f);
    Expr i0 = min(cast<int32_t>(floor(srcY)), winHeight - 1);
    Expr i1 = i0 + select(i0 < winHeight - 1, 1, 0);
    Expr ly1 = clamp(srcY - cast<float>(i0), 0.0f, 1.0f);
    Expr ly0 = 1.0f - ly1;
    rowTaps(y, n) = {i0, i1, ly0, ly1};

    Expr value = input(x, y, c, n);
    if (input.type() == UInt(8))
      value = strict_float(cast<float>(value) / kPixelMax); // a true division, as to_float
    pixel(x, y, c, n) = value;

    // Rows first, then columns, as the reference: t_r = x[r, j0] * lx0 +
    // x[r, j1] * lx1 for every source row r, y = t_i0 * ly0 + t_i1 * ly1.
    // The clamps only tell bounds inference that reads stay in the image; a
    // window inside the image (the host samples it so) never reaches them.
    Expr lastColumn = input.dim(0).extent() - 1, lastRow = input.dim(1).extent() - 1;
    Expr cj0 = clamp(left + colTaps(x, n)[0], 0, lastColumn);
    Expr cj1 = clamp(left + colTaps(x, n)[1], 0, lastColumn);
    rowsInterpolated(x, row, c, n) = pixel(cj0, row, c, n) * colTaps(x, n)[2] +
                                     pixel(cj1, row, c, n) * colTaps(x, n)[3];
    Expr ri0 = clamp(top + rowTaps(y, n)[0], 0, lastRow);
    Expr ri1 = clamp(top + rowTaps(y, n)[1], 0, lastRow);
    output(x, y, c, n) = rowsInterpolated(x, ri0, c, n) * rowTaps(y, n)[2] +
                         rowsInterpolated(x, ri1, c, n) * rowTaps(y, n)[3];
  }

  void schedule() {
    // Schedule
    // host (x86-64 AVX-512, natural 16 floats per vector, 2 cores): per image,
    // the taps, the whole image as float (contiguous vectors), the
    // horizontal pass over every source row (float gathers), then the
    // vertical pass on contiguous rows; images in parallel. Fashion-MNIST
    // policy, 1 thread: 185k images/s when the output loop gathered bytes
    // and divided per tap, 263k with this staging, 210k with the horizontal
    // pass inlined; the crop alone then went from 1987 to 1639 ns per
    // 1x28x28 image with ShiftInwards rows and per-task storage. Now about
    // 1.5 us per 1x28x28 and 5-6 us per 3x32x32 image at 1 thread (gathers
    // dominate).
    // images_per_task = 8: with one image per task the thread pool's cost
    // dominated (Fashion-MNIST, 2 threads: flip 434 -> 144 ns per image,
    // normalize 401 -> 63). vector_width 0 (16 here) against 8: CIFAR policy
    // 126k against 114k images/s with 2 threads, Fashion-MNIST even.
    // Figures from bench/augment_bench.cpp (docs/benchmarks.md); steps are
    // per image, noisy to about +-30% on this shared machine.
    int width = vectorWidth > 0 ? int(vectorWidth) : natural_vector_size<float>();
    output.split(n, task, n, imagesPerTask, TailStrategy::GuardWithIf).parallel(task);
    // Rows at least one vector wide overlap their last vector with the one
    // before (ShiftInwards) instead of finishing the row lane by lane.
    output.specialize(output.dim(0).extent() >= width)
        .vectorize(x, width, TailStrategy::ShiftInwards);
    output.vectorize(x, width, TailStrategy::GuardWithIf);
    // Intermediates are stored once per task (one allocation, not one per
    // image) and computed per image.
    colTaps.store_at(output, task).compute_at(output, n).vectorize(x, width, TailStrategy::RoundUp);
    rowTaps.store_at(output, task).compute_at(output, n);
    pixel.store_at(output, task).compute_at(output, n).vectorize(x, width, TailStrategy::GuardWithIf);
    rowsInterpolated.store_at(output, task).compute_at(output, n).vectorize(x, width, TailStrategy::RoundUp);
  }

private:
  Var x{"x"}, y{"y"}, c{"c"}, n{"n"}, task{"task"};
  Var row{"row"};
  Func colTaps{"col_taps"}, rowTaps{"row_taps"}, pixel{"pixel"};
  Func rowsInterpolated{"rows_interpolated"};
};

} // namespace

HALIDE_REGISTER_GENERATOR(ResizedCrop, simclr_resized_crop)
