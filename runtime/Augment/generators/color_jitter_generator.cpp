//===- color_jitter_generator.cpp - Per-image ordered color adjustments ---===//
//
// The fixed transform of simclr.color_jitter: image n runs four stages; stage
// k applies adjustment ops(k, n) (0 brightness, 1 contrast, 2 saturation,
// 3 hue, 4 none) with image n's factors (FactorField). The host samples the
// order and factors with ref::sampleColorJitter and writes 4 ("none") for
// images the draw leaves alone and for adjustments whose range is zero. The
// pixel formulas are torchvision's, evaluated as lib/Reference/Augment.cpp
// does in float32:
//  - brightness: clamp(b * x);
//  - contrast: clamp(c * x + (1 - c) * m), m = mean of gray (of the only
//    channel when C = 1) summed in double in row-major order;
//  - saturation: clamp(s * x + (1 - s) * gray);
//  - hue: torchvision's _rgb2hsv, H' = fract(H + h), _hsv2rgb, clamp;
// with gray = 0.299 R + 0.587 G + 0.114 B and clamp to [0, 1]. (1 - c) and
// (1 - s) are computed in double on the host, as the reference does.
//
// Each stage is a Func over (x, y, n) whose value is the image's pixel as a
// Tuple of its C channels; its pure definition copies the previous stage and
// one guarded update per adjustment overwrites it. The guards depend only on
// n, so Halide hoists them out of the pixel loops: an image pays for the
// adjustment it draws, not for all four.
//
//===----------------------------------------------------------------------===//
#include "Halide.h"

#include <vector>

namespace {

using namespace Halide;

/// ITU-R BT.601 luma weights, as simclr.color_jitter defines gray.
constexpr float kGrayRed = 0.299f;
constexpr float kGrayGreen = 0.587f;
constexpr float kGrayBlue = 0.114f;
/// Adjustment codes of the ops buffer, numbered as torchvision's fn_idx.
enum Adjustment { kBrightness = 0, kContrast, kSaturation, kHue, kNone };
constexpr int kStages = 4;
/// Rows of the factors buffer.
enum FactorField {
  kBrightnessFactor = 0,
  kContrastFactor,
  kContrastComplement,
  kSaturationFactor,
  kSaturationComplement,
  kHueShift,
};
/// The HSV hexcone has six sectors of 1/6 turn each.
constexpr float kHueSectors = 6.0f;

Expr clampUnit(Expr value) { return clamp(value, 0.0f, 1.0f); }

/// torchvision's _blend: clamp(factor * x + complement * other).
Expr blend(Expr value, Expr other, Expr factor, Expr complement) {
  return clampUnit(factor * value + complement * other);
}

Expr grayOf(const std::vector<Expr> &rgb) {
  return kGrayRed * rgb[0] + kGrayGreen * rgb[1] + kGrayBlue * rgb[2];
}

/// torchvision's _rgb2hsv, hue shift and _hsv2rgb for one pixel, as
/// ref::hueImage (Augment.cpp) writes them.
std::vector<Expr> shiftHue(const std::vector<Expr> &rgb, Expr shift) {
  Expr r = rgb[0], g = rgb[1], b = rgb[2];
  Expr maxc = max(r, max(g, b)), minc = min(r, min(g, b));
  Expr equal = maxc == minc;
  Expr range = maxc - minc;
  Expr s = range / select(equal, 1.0f, maxc);
  Expr divisor = select(equal, 1.0f, range);
  Expr rc = (maxc - r) / divisor, gc = (maxc - g) / divisor,
       bc = (maxc - b) / divisor;
  Expr h = select(maxc == r, bc - gc, maxc == g, 2.0f + rc - bc, 4.0f + gc - rc);
  // fmod(h / 6 + 1, 1) of a value in [5/6, 11/6]: the fractional part.
  Expr wrapped = h / kHueSectors + 1.0f;
  h = wrapped - floor(wrapped);
  Expr shifted = h + shift;
  Expr hue = shifted - floor(shifted);

  Expr sector = floor(hue * kHueSectors);
  Expr f = hue * kHueSectors - sector;
  Expr i = cast<int32_t>(sector) % 6; // Halide's % is Euclidean: 0..5.
  Expr v = maxc;
  Expr p = clampUnit(v * (1.0f - s));
  Expr q = clampUnit(v * (1.0f - s * f));
  Expr t = clampUnit(v * (1.0f - s * (1.0f - f)));
  Expr red = select(i == 0, v, i == 1, q, i == 2, p, i == 3, p, i == 4, t, v);
  Expr green = select(i == 0, t, i == 1, v, i == 2, v, i == 3, q, i == 4, p, p);
  Expr blue = select(i == 0, p, i == 1, p, i == 2, t, i == 3, v, i == 4, v, q);
  return {clampUnit(red), clampUnit(green), clampUnit(blue)};
}

class ColorJitter : public Generator<ColorJitter> {
public:
  /// Floats per vector; 0 picks the target's natural width.
  GeneratorParam<int> vectorWidth{"vector_width", 0};
  /// Images per parallel task: amortizes the thread pool's per-task cost.
  GeneratorParam<int> imagesPerTask{"images_per_task", 8};
  /// 1 (brightness and contrast only) or 3 (RGB, all four adjustments).
  GeneratorParam<int> channels{"channels", 3};

  Input<Buffer<float>> input{"input", 4};
  /// ops(k, n): the adjustment of stage k of image n (Adjustment).
  Input<Buffer<int32_t>> ops{"ops", 2};
  /// factors(field, n), fields as FactorField.
  Input<Buffer<float>> factors{"factors", 2};
  Output<Buffer<float>> output{"output", 4};

  void generate() {
    // Algorithm
    numChannels = channels;
    width = input.dim(0).extent();
    height = input.dim(1).extent();

    std::vector<Expr> initial;
    for (int ch = 0; ch < numChannels; ++ch)
      initial.push_back(input(x, y, ch, n));
    Func previous("jitter_input");
    define(previous, x, y, initial);

    for (int k = 0; k < kStages; ++k) {
      Expr op = ops(k, n);
      Func stage("jitter_stage_" + std::to_string(k));
      Func mean("jitter_mean_" + std::to_string(k));

      // The contrast mean, summed only for images whose stage k is contrast,
      // in double and row-major order like the reference.
      RDom meanDomain(0, width, 0, height, "mean_domain");
      meanDomain.where(op == kContrast);
      mean(n) = cast<double>(0);
      mean(n) += cast<double>(
          grayOrOnly(pixelAt(previous, meanDomain.x, meanDomain.y)));
      Expr contrastMean = cast<float>(mean(n) / cast<double>(width * height));

      define(stage, x, y, pixelAt(previous, x, y));
      std::vector<RDom> domains;
      for (int adjustment = kBrightness; adjustment <= kHue; ++adjustment) {
        if (numChannels == 1 && adjustment >= kSaturation)
          break;
        RDom domain(0, width, 0, height, "domain_" + std::to_string(k) + "_" +
                                             std::to_string(adjustment));
        domain.where(op == adjustment);
        std::vector<Expr> values = pixelAt(previous, domain.x, domain.y);
        std::vector<Expr> adjusted;
        if (adjustment == kHue) {
          adjusted = shiftHue(values, factors(kHueShift, n));
        } else {
          Expr gray = grayOrOnly(values);
          for (const Expr &value : values) {
            if (adjustment == kBrightness)
              adjusted.push_back(clampUnit(factors(kBrightnessFactor, n) * value));
            else if (adjustment == kContrast)
              adjusted.push_back(blend(value, contrastMean,
                                       factors(kContrastFactor, n),
                                       factors(kContrastComplement, n)));
            else
              adjusted.push_back(blend(value, gray, factors(kSaturationFactor, n),
                                       factors(kSaturationComplement, n)));
          }
        }
        define(stage, domain.x, domain.y, adjusted);
        domains.push_back(domain);
      }
      stages.push_back({stage, mean, domains});
      previous = stage;
    }

    std::vector<Expr> channelValues = pixelAt(previous, x, y);
    output(x, y, c, n) = numChannels == 1 ? channelValues[0] : mux(c, channelValues);
  }

  void schedule() {
    // Schedule
    // host (x86-64 AVX-512, natural 16 floats per vector, 2 cores): per image,
    // each stage's copy and guarded updates run vectorized over x (the
    // generated Stmt shows each guard as one `if` around its update's
    // loops); images in parallel; storage once per task, not per image.
    // About 1.2 us per 1x28x28 image (brightness, contrast) and 5.3 us per
    // 3x32x32 (all four) at 1 thread.
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
    for (StageFuncs &funcs : stages) {
      // Stored once per task (one allocation, not one per image).
      funcs.mean.store_at(output, task).compute_at(output, n);
      funcs.stage.store_at(output, task).compute_at(output, n).vectorize(x, vector, TailStrategy::GuardWithIf);
      for (size_t u = 0; u < funcs.domains.size(); ++u)
        funcs.stage.update(static_cast<int>(u))
            .vectorize(funcs.domains[u].x, vector, TailStrategy::GuardWithIf);
    }
  }

private:
  struct StageFuncs {
    Func stage, mean;
    std::vector<RDom> domains;
  };

  /// The channels of func's pixel (px, py) of image n.
  std::vector<Expr> pixelAt(Func func, Expr px, Expr py) {
    std::vector<Expr> values;
    for (int ch = 0; ch < numChannels; ++ch)
      values.push_back(numChannels == 1 ? Expr(func(px, py, n)) : func(px, py, n)[ch]);
    return values;
  }

  /// Defines (or updates) func at (px, py, n) with one value per channel.
  void define(Func func, Expr px, Expr py, const std::vector<Expr> &values) {
    if (numChannels == 1)
      func(px, py, n) = values[0];
    else
      func(px, py, n) = Tuple(values);
  }

  Expr grayOrOnly(const std::vector<Expr> &values) {
    return numChannels == 1 ? values[0] : grayOf(values);
  }

  Var x{"x"}, y{"y"}, c{"c"}, n{"n"}, task{"task"};
  int numChannels = 3;
  Expr width, height;
  std::vector<StageFuncs> stages;
};

} // namespace

HALIDE_REGISTER_GENERATOR(ColorJitter, simclr_color_jitter)
