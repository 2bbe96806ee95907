//===- HalideAugmenter.cpp - Augmenter on AOT-compiled Halide kernels -----===//
//
// augmentView runs one kernel per policy step over the whole batch, reading
// the previous step's float32 result and writing the next into two scratch
// buffers in turn; the last kernel writes the caller's `out`. The uint8 to
// float conversion is fused into a leading crop, else it is a kernel of its
// own. Per-image parameters are sampled on the host with lib/Reference's
// sampling functions (HalideAugmenter.h), then handed to the kernels as
// small per-image buffers.
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/HalideAugmenter.h"

#include "simclr/Reference/Augment.h"

#include "HalideBuffer.h"
#include "HalideRuntime.h"
#include "simclr_halide_blur.h"
#include "simclr_halide_crop_f32.h"
#include "simclr_halide_crop_u8.h"
#include "simclr_halide_flip.h"
#include "simclr_halide_grayscale.h"
#include "simclr_halide_jitter_c1.h"
#include "simclr_halide_jitter_c3.h"
#include "simclr_halide_normalize.h"
#include "simclr_halide_to_float.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace simclr {
namespace {

using FloatBuffer = Halide::Runtime::Buffer<float>;


// Layouts of the per-image parameter buffers, as the generators declare them
// (runtime/Augment/generators).
constexpr int kWindowFields = 4;     // top, left, height, width
constexpr int kJitterStages = 4;     // ops(k, n)
constexpr int32_t kJitterNone = 4;   // "no adjustment" op code
constexpr int kJitterFactorFields = 6;
enum JitterFactor {
  kBrightnessFactor = 0,
  kContrastFactor,
  kContrastComplement,
  kSaturationFactor,
  kSaturationComplement,
  kHueShift,
};

/// Extents of the batch as it enters a step.
struct Shape {
  int64_t count, channels, height, width;
  int64_t elements() const { return count * channels * height * width; }
};

Status kernelStatus(const char *kernel, int result) {
  if (result == 0)
    return Status::ok();
  return internalError(std::string("halide augmenter: kernel ") + kernel +
                       " failed with Halide error " + std::to_string(result));
}

FloatBuffer wrap(float *data, const Shape &shape) {
  return FloatBuffer(data, static_cast<int>(shape.width), static_cast<int>(shape.height),
                     static_cast<int>(shape.channels), static_cast<int>(shape.count));
}

class HalideAugmenter final : public Augmenter {
public:
  explicit HalideAugmenter(AugmentationPolicy policy) : policy(std::move(policy)) {}

  std::pair<int64_t, int64_t> outputSize(int64_t height, int64_t width) const override {
    for (const AugmentationStep &step : policy)
      if (step.kind == AugmentationKind::kRandomResizedCrop && step.size) {
        height = (*step.size)[0];
        width = (*step.size)[1];
      }
    return {height, width};
  }

  Status augmentView(const ImageBatchView &images, RngKey viewKey, float *out,
                     int64_t outElements) override;

private:
  /// Runs step `index` from `in` (float32 of shape `shape`, or the uint8
  /// images when `in` is null) to `dst`, updating `shape`.
  Status runStep(size_t index, const ImageBatchView &images, const float *in, Shape &shape,
                 RngKey stepKey, float *dst);

  AugmentationPolicy policy;
  std::vector<float> scratch[2];
};

Status HalideAugmenter::runStep(size_t index, const ImageBatchView &images, const float *in,
                                Shape &shape, RngKey stepKey, float *dst) {
  const AugmentationStep &step = policy[index];
  const int count = static_cast<int>(shape.count);
  FloatBuffer input;
  if (in)
    input = wrap(const_cast<float *>(in), shape);
  // Image n of this batch is image firstIndex + n of the step's global batch.
  auto stream = [&](int n) {
    return ImageStream(stepKey, static_cast<uint64_t>(images.firstIndex + n));
  };

  switch (step.kind) {
  case AugmentationKind::kRandomResizedCrop: {
    Halide::Runtime::Buffer<int32_t> windows(kWindowFields, count);
    for (int n = 0; n < count; ++n) {
      ImageStream s = stream(n);
      ref::CropWindow w = ref::sampleCropWindow(s, shape.height, shape.width, step.scale, step.ratio);
      windows(0, n) = static_cast<int32_t>(w.top);
      windows(1, n) = static_cast<int32_t>(w.left);
      windows(2, n) = static_cast<int32_t>(w.height);
      windows(3, n) = static_cast<int32_t>(w.width);
    }
    Shape outShape = shape;
    if (step.size) {
      outShape.height = (*step.size)[0];
      outShape.width = (*step.size)[1];
    }
    FloatBuffer output = wrap(dst, outShape);
    int result;
    if (in) {
      result = simclr_halide_crop_f32(input, windows, static_cast<int32_t>(outShape.width),
                                      static_cast<int32_t>(outShape.height), output);
    } else {
      Halide::Runtime::Buffer<const uint8_t> pixels(images.pixels, static_cast<int>(images.width),
                                                    static_cast<int>(images.height),
                                                    static_cast<int>(images.channels), count);
      result = simclr_halide_crop_u8(pixels, windows, static_cast<int32_t>(outShape.width),
                                     static_cast<int32_t>(outShape.height), output);
    }
    shape = outShape;
    return kernelStatus(in ? "simclr_halide_crop_f32" : "simclr_halide_crop_u8", result);
  }
  case AugmentationKind::kHorizontalFlip:
  case AugmentationKind::kRandomGrayscale: {
    Halide::Runtime::Buffer<uint8_t> flags(count);
    for (int n = 0; n < count; ++n)
      flags(n) = stream(n).uniform() < step.probability ? 1 : 0;
    FloatBuffer output = wrap(dst, shape);
    if (step.kind == AugmentationKind::kHorizontalFlip)
      return kernelStatus("simclr_halide_flip", simclr_halide_flip(input, flags, output));
    return kernelStatus("simclr_halide_grayscale", simclr_halide_grayscale(input, flags, output));
  }
  case AugmentationKind::kColorJitter: {
    ref::ColorJitterOptions options{step.brightness, step.contrast, step.saturation, step.hue,
                                    step.probability};
    const double ranges[ref::kColorAdjustments] = {step.brightness, step.contrast,
                                                   step.saturation, step.hue};
    Halide::Runtime::Buffer<int32_t> ops(kJitterStages, count);
    FloatBuffer factors(kJitterFactorFields, count);
    for (int n = 0; n < count; ++n) {
      ImageStream s = stream(n);
      ref::ColorJitterParams params = ref::sampleColorJitter(s, options);
      for (int k = 0; k < kJitterStages; ++k) {
        int adjustment = static_cast<int>(params.order[static_cast<size_t>(k)]);
        ops(k, n) = params.apply && ranges[adjustment] > 0.0 ? adjustment : kJitterNone;
      }
      // The complements in double, as the reference's blend computes them.
      factors(kBrightnessFactor, n) = static_cast<float>(params.brightness);
      factors(kContrastFactor, n) = static_cast<float>(params.contrast);
      factors(kContrastComplement, n) = static_cast<float>(1.0 - params.contrast);
      factors(kSaturationFactor, n) = static_cast<float>(params.saturation);
      factors(kSaturationComplement, n) = static_cast<float>(1.0 - params.saturation);
      factors(kHueShift, n) = static_cast<float>(params.hue);
    }
    FloatBuffer output = wrap(dst, shape);
    if (shape.channels == 1)
      return kernelStatus("simclr_halide_jitter_c1", simclr_halide_jitter_c1(input, ops, factors, output));
    return kernelStatus("simclr_halide_jitter_c3", simclr_halide_jitter_c3(input, ops, factors, output));
  }
  case AugmentationKind::kGaussianBlur: {
    const int size = static_cast<int>(step.kernelSize);
    FloatBuffer weights(size, count);
    for (int n = 0; n < count; ++n) {
      ImageStream s = stream(n);
      ref::GaussianBlurParams params = ref::sampleGaussianBlur(s, step.sigma, step.probability);
      // The identity kernel copies the image exactly (generator comment).
      std::vector<float> kernel(static_cast<size_t>(size), 0.0f);
      if (params.apply)
        kernel = ref::gaussianKernel1d<float>(size, params.sigma);
      else
        kernel[static_cast<size_t>(size / 2)] = 1.0f;
      for (int i = 0; i < size; ++i)
        weights(i, n) = kernel[static_cast<size_t>(i)];
    }
    FloatBuffer output = wrap(dst, shape);
    return kernelStatus("simclr_halide_blur", simclr_halide_blur(input, weights, output));
  }
  case AugmentationKind::kNormalize: {
    const int channels = static_cast<int>(shape.channels);
    FloatBuffer mean(channels), stddev(channels);
    for (int ch = 0; ch < channels; ++ch) {
      mean(ch) = static_cast<float>(step.mean[static_cast<size_t>(ch)]);
      stddev(ch) = static_cast<float>(step.std[static_cast<size_t>(ch)]);
    }
    FloatBuffer output = wrap(dst, shape);
    return kernelStatus("simclr_halide_normalize", simclr_halide_normalize(input, mean, stddev, output));
  }
  }
  return internalError("halide augmenter: unknown step kind");
}

Status HalideAugmenter::augmentView(const ImageBatchView &images, RngKey viewKey, float *out,
                                    int64_t outElements) {
  if (!images.pixels || images.count < 1 || images.channels < 1 || images.height < 1 ||
      images.width < 1 || images.firstIndex < 0 || !out)
    return invalidArgument("halide augmenter: expected a non-empty image batch, got " +
                           std::to_string(images.count) + "x" + std::to_string(images.channels) +
                           "x" + std::to_string(images.height) + "x" +
                           std::to_string(images.width) + " from position " +
                           std::to_string(images.firstIndex));
  constexpr int64_t kMaxExtent = std::numeric_limits<int32_t>::max();
  Shape shape{images.count, images.channels, images.height, images.width};
  // Validate every step against the shape it will see, and size the buffers.
  int64_t largest = shape.elements();
  Shape walk = shape;
  for (size_t i = 0; i < policy.size(); ++i) {
    SIMCLR_RETURN_IF_ERROR(
        validateAugmentationStepOnImages(i, policy[i], walk.channels, walk.height, walk.width));
    if (policy[i].kind == AugmentationKind::kRandomResizedCrop && policy[i].size) {
      walk.height = (*policy[i].size)[0];
      walk.width = (*policy[i].size)[1];
    }
    largest = std::max(largest, walk.elements());
  }
  if (largest > kMaxExtent)
    return invalidArgument("halide augmenter: the batch has more than 2^31 - 1 elements");
  if (outElements < walk.elements())
    return invalidArgument("halide augmenter: the output holds " + std::to_string(outElements) +
                           " floats, the view needs " + std::to_string(walk.elements()));

  // Kernel calls: one per step, plus the conversion unless a crop leads.
  bool fusedConversion =
      !policy.empty() && policy.front().kind == AugmentationKind::kRandomResizedCrop;
  size_t calls = policy.size() + (fusedConversion ? 0 : 1);
  size_t call = 0;
  auto destination = [&]() -> float * {
    float *dst;
    if (call + 1 == calls) {
      dst = out;
    } else {
      std::vector<float> &buffer = scratch[call % 2];
      if (static_cast<int64_t>(buffer.size()) < largest)
        buffer.resize(static_cast<size_t>(largest));
      dst = buffer.data();
    }
    ++call;
    return dst;
  };

  const float *current = nullptr;
  if (!fusedConversion) {
    float *dst = destination();
    Halide::Runtime::Buffer<const uint8_t> pixels(
        images.pixels, static_cast<int>(images.width), static_cast<int>(images.height),
        static_cast<int>(images.channels), static_cast<int>(images.count));
    FloatBuffer output = wrap(dst, shape);
    SIMCLR_RETURN_IF_ERROR(kernelStatus("simclr_halide_to_float", simclr_halide_to_float(pixels, output)));
    current = dst;
  }
  for (size_t i = 0; i < policy.size(); ++i) {
    float *dst = destination();
    SIMCLR_RETURN_IF_ERROR(runStep(i, images, current, shape, foldIn(viewKey, i), dst));
    current = dst;
  }
  return Status::ok();
}

} // namespace

Expected<std::unique_ptr<Augmenter>> createHalideAugmenter(AugmentationPolicy policy) {
  for (size_t i = 0; i < policy.size(); ++i)
    SIMCLR_RETURN_IF_ERROR(validateAugmentationStep(i, policy[i]));
  return std::unique_ptr<Augmenter>(new HalideAugmenter(std::move(policy)));
}

void setHalideThreadCount(int threads) { halide_set_num_threads(std::max(threads, 1)); }

} // namespace simclr
