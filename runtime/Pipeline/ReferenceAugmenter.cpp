//===- ReferenceAugmenter.cpp - An Augmenter on the reference kernels -----===//
//
// Applies an AugmentationPolicy with lib/Reference's plain-loop kernels in
// float32, exactly as the compiled graph does (frontend's
// buildAugmentedViews): image_to_float, then policy step i with key
// foldIn(viewKey, i); normalize draws nothing but still occupies its index.
// The policy is checked once with the op verifiers' rules; the checks that
// need the images' channels or size run at augment time.
//
//===----------------------------------------------------------------------===//

#include "simclr/Reference/Augment.h"
#include "simclr/Reference/Kernels.h"
#include "simclr/Runtime/Augmenter.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace simclr {
namespace {

/// Largest hue shift torchvision's ColorJitter accepts (the op verifier's).
constexpr double kMaxHueShift = 0.5;

/// The spec-file name of an augmentation kind.
const char *kindName(AugmentationKind kind) {
  switch (kind) {
  case AugmentationKind::kRandomResizedCrop:
    return "random_resized_crop";
  case AugmentationKind::kHorizontalFlip:
    return "horizontal_flip";
  case AugmentationKind::kColorJitter:
    return "color_jitter";
  case AugmentationKind::kRandomGrayscale:
    return "random_grayscale";
  case AugmentationKind::kGaussianBlur:
    return "gaussian_blur";
  case AugmentationKind::kNormalize:
    return "normalize";
  }
  return "unknown";
}

/// Shortest readable form of a double ("0.7", not "0.700000").
std::string num(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

/// "augment[i] (kind): problem", the one-line error of policy step i.
Status stepError(size_t index, const AugmentationStep &step,
                 const std::string &problem) {
  return invalidArgument("augment[" + std::to_string(index) + "] (" +
                         kindName(step.kind) + "): " + problem);
}

std::string rangeProblem(const char *name, const std::array<double, 2> &range,
                         bool bounded) {
  return std::string(name) + " = [" + num(range[0]) + ", " + num(range[1]) +
         "] must satisfy 0 < lo <= hi" + (bounded ? " <= 1" : "");
}

/// 0 < lo <= hi (<= 1 when bounded); written so that NaN fails.
bool rangeOk(const std::array<double, 2> &range, bool bounded) {
  return range[0] > 0.0 && range[0] <= range[1] &&
         (!bounded || range[1] <= 1.0);
}

bool probabilityOk(double p) { return p >= 0.0 && p <= 1.0; }

/// The checks that need no image: those of the op verifiers on attributes.
Status checkStep(size_t index, const AugmentationStep &step) {
  auto fail = [&](const std::string &problem) {
    return stepError(index, step, problem);
  };
  bool hasProbability = step.kind != AugmentationKind::kRandomResizedCrop &&
                        step.kind != AugmentationKind::kNormalize;
  if (hasProbability && !probabilityOk(step.probability))
    return fail("probability p = " + num(step.probability) +
                " must be in [0, 1]");
  switch (step.kind) {
  case AugmentationKind::kRandomResizedCrop:
    if (!rangeOk(step.scale, /*bounded=*/true))
      return fail(rangeProblem("scale", step.scale, true));
    if (!rangeOk(step.ratio, /*bounded=*/false))
      return fail(rangeProblem("ratio", step.ratio, false));
    if (step.size && ((*step.size)[0] < 1 || (*step.size)[1] < 1))
      return fail("size = [" + std::to_string((*step.size)[0]) + ", " +
                  std::to_string((*step.size)[1]) + "] must be positive");
    return Status::ok();
  case AugmentationKind::kColorJitter: {
    struct Factor {
      const char *name;
      double value;
    };
    for (Factor factor : {Factor{"brightness", step.brightness},
                          Factor{"contrast", step.contrast},
                          Factor{"saturation", step.saturation}})
      if (!(factor.value >= 0.0))
        return fail(std::string(factor.name) + " = " + num(factor.value) +
                    " must be >= 0");
    if (!(step.hue >= 0.0 && step.hue <= kMaxHueShift))
      return fail("hue = " + num(step.hue) + " must be in [0, 0.5]");
    return Status::ok();
  }
  case AugmentationKind::kGaussianBlur:
    if (step.kernelSize < 1 || step.kernelSize % 2 == 0)
      return fail("kernel_size = " + std::to_string(step.kernelSize) +
                  " must be odd and positive");
    if (!rangeOk(step.sigma, /*bounded=*/false))
      return fail(rangeProblem("sigma", step.sigma, false));
    return Status::ok();
  case AugmentationKind::kNormalize:
    if (step.mean.empty() || step.mean.size() != step.std.size())
      return fail("mean and std need one entry per channel, got " +
                  std::to_string(step.mean.size()) + " and " +
                  std::to_string(step.std.size()));
    for (size_t c = 0; c < step.std.size(); ++c)
      if (!(step.std[c] > 0.0))
        return fail("std[" + std::to_string(c) + "] = " + num(step.std[c]) +
                    " must be > 0");
    return Status::ok();
  case AugmentationKind::kHorizontalFlip:
  case AugmentationKind::kRandomGrayscale:
    return Status::ok();
  }
  return fail("unknown augmentation kind");
}

/// The checks that need the view's channels and size at step `index`.
Status checkStepOnImages(size_t index, const AugmentationStep &step,
                         int64_t channels, int64_t height, int64_t width) {
  auto fail = [&](const std::string &problem) {
    return stepError(index, step, problem);
  };
  switch (step.kind) {
  case AugmentationKind::kColorJitter:
    if (channels != 1 && channels != 3)
      return fail("expects 1 or 3 channels, got " + std::to_string(channels));
    if (channels == 1 && (step.saturation > 0.0 || step.hue > 0.0))
      return fail("saturation and hue need 3 channels; the input has 1");
    return Status::ok();
  case AugmentationKind::kRandomGrayscale:
    if (channels != 3)
      return fail("expects 3 channels, got " + std::to_string(channels));
    return Status::ok();
  case AugmentationKind::kGaussianBlur: {
    // Reflect padding of radius r needs r < side: K <= 2 * side - 1.
    int64_t side = std::min(height, width);
    if (step.kernelSize > 2 * side - 1)
      return fail("kernel_size = " + std::to_string(step.kernelSize) +
                  " is too large for a " + std::to_string(height) + "x" +
                  std::to_string(width) +
                  " image (reflect padding needs kernel_size <= " +
                  std::to_string(2 * side - 1) + ")");
    return Status::ok();
  }
  case AugmentationKind::kNormalize:
    if (static_cast<int64_t>(step.mean.size()) != channels)
      return fail("mean and std need " + std::to_string(channels) +
                  " entries (one per channel), got " +
                  std::to_string(step.mean.size()) + " and " +
                  std::to_string(step.std.size()));
    return Status::ok();
  case AugmentationKind::kRandomResizedCrop:
  case AugmentationKind::kHorizontalFlip:
    return Status::ok();
  }
  return Status::ok();
}

/// Applies policy step `step` to x with `key`.
Expected<ref::Tensor<float>> applyStep(const AugmentationStep &step,
                                       const ref::Tensor<float> &x,
                                       RngKey key) {
  switch (step.kind) {
  case AugmentationKind::kRandomResizedCrop: {
    std::array<int64_t, 2> size =
        step.size.value_or(std::array<int64_t, 2>{x.dim(2), x.dim(3)});
    return ref::randomResizedCrop(x, key, step.scale, step.ratio, size[0],
                                  size[1]);
  }
  case AugmentationKind::kHorizontalFlip:
    return ref::horizontalFlip(x, key, step.probability);
  case AugmentationKind::kColorJitter: {
    ref::ColorJitterOptions options;
    options.brightness = step.brightness;
    options.contrast = step.contrast;
    options.saturation = step.saturation;
    options.hue = step.hue;
    options.p = step.probability;
    return ref::colorJitter(x, key, options);
  }
  case AugmentationKind::kRandomGrayscale:
    return ref::randomGrayscale(x, key, step.probability);
  case AugmentationKind::kGaussianBlur:
    return ref::gaussianBlur(x, key, step.kernelSize, step.sigma,
                             step.probability);
  case AugmentationKind::kNormalize:
    return ref::normalize(x, step.mean, step.std);
  }
  return internalError("unknown augmentation kind");
}

class ReferenceAugmenter final : public Augmenter {
public:
  explicit ReferenceAugmenter(AugmentationPolicy policy)
      : policy(std::move(policy)) {}

  std::pair<int64_t, int64_t> outputSize(int64_t height,
                                         int64_t width) const override {
    // As the graph builder: a crop without a size keeps its input's size.
    for (const AugmentationStep &step : policy)
      if (step.kind == AugmentationKind::kRandomResizedCrop && step.size) {
        height = (*step.size)[0];
        width = (*step.size)[1];
      }
    return {height, width};
  }

  Status augmentView(const ImageBatchView &images, RngKey viewKey, float *out,
                     int64_t outElements) override {
    if (!images.pixels || images.count < 1 || images.channels < 1 ||
        images.height < 1 || images.width < 1)
      return invalidArgument(
          "reference augmenter: expected a non-empty image batch, got " +
          std::to_string(images.count) + "x" + std::to_string(images.channels) +
          "x" + std::to_string(images.height) + "x" +
          std::to_string(images.width));
    auto [outH, outW] = outputSize(images.height, images.width);
    int64_t needed = images.count * images.channels * outH * outW;
    if (!out || outElements < needed)
      return invalidArgument("reference augmenter: the output holds " +
                             std::to_string(outElements) +
                             " floats, the view needs " +
                             std::to_string(needed));

    int64_t inElements =
        images.count * images.channels * images.height * images.width;
    ref::Tensor<float> pixels(
        {images.count, images.channels, images.height, images.width},
        std::vector<float>(images.pixels, images.pixels + inElements));
    Expected<ref::Tensor<float>> x = ref::imageToFloat(pixels);
    if (!x)
      return x.takeStatus().withContext("reference augmenter");
    for (size_t index = 0; index < policy.size(); ++index) {
      const AugmentationStep &step = policy[index];
      SIMCLR_RETURN_IF_ERROR(
          checkStepOnImages(index, step, x->dim(1), x->dim(2), x->dim(3)));
      Expected<ref::Tensor<float>> y =
          applyStep(step, *x, foldIn(viewKey, index));
      if (!y)
        return stepError(index, step, y.status().message());
      x = std::move(y);
    }
    if (x->numElements() != needed)
      return internalError(
          "reference augmenter: produced " + std::to_string(x->numElements()) +
          " floats, outputSize promised " + std::to_string(needed));
    std::copy(x->data.begin(), x->data.end(), out);
    return Status::ok();
  }

private:
  AugmentationPolicy policy;
};

} // namespace

Expected<std::unique_ptr<Augmenter>>
createReferenceAugmenter(AugmentationPolicy policy) {
  for (size_t index = 0; index < policy.size(); ++index)
    SIMCLR_RETURN_IF_ERROR(checkStep(index, policy[index]));
  return std::unique_ptr<Augmenter>(
      std::make_unique<ReferenceAugmenter>(std::move(policy)));
}

} // namespace simclr
