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

/// Applies policy step `step` to x with `key`; image n of x is image
/// firstImage + n of the step's global batch.
Expected<ref::Tensor<float>> applyStep(const AugmentationStep &step,
                                       const ref::Tensor<float> &x,
                                       RngKey key, uint64_t firstImage) {
  switch (step.kind) {
  case AugmentationKind::kRandomResizedCrop: {
    std::array<int64_t, 2> size =
        step.size.value_or(std::array<int64_t, 2>{x.dim(2), x.dim(3)});
    return ref::randomResizedCrop(x, key, step.scale, step.ratio, size[0],
                                  size[1], firstImage);
  }
  case AugmentationKind::kHorizontalFlip:
    return ref::horizontalFlip(x, key, step.probability, firstImage);
  case AugmentationKind::kColorJitter: {
    ref::ColorJitterOptions options;
    options.brightness = step.brightness;
    options.contrast = step.contrast;
    options.saturation = step.saturation;
    options.hue = step.hue;
    options.p = step.probability;
    return ref::colorJitter(x, key, options, firstImage);
  }
  case AugmentationKind::kRandomGrayscale:
    return ref::randomGrayscale(x, key, step.probability, firstImage);
  case AugmentationKind::kGaussianBlur:
    return ref::gaussianBlur(x, key, step.kernelSize, step.sigma,
                             step.probability, firstImage);
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
        images.height < 1 || images.width < 1 || images.firstIndex < 0)
      return invalidArgument(
          "reference augmenter: expected a non-empty image batch, got " +
          std::to_string(images.count) + "x" + std::to_string(images.channels) +
          "x" + std::to_string(images.height) + "x" +
          std::to_string(images.width) + " from position " +
          std::to_string(images.firstIndex));
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
          validateAugmentationStepOnImages(index, step, x->dim(1), x->dim(2), x->dim(3)));
      Expected<ref::Tensor<float>> y =
          applyStep(step, *x, foldIn(viewKey, index),
                    static_cast<uint64_t>(images.firstIndex));
      if (!y)
        return y.takeStatus().withContext("augment[" + std::to_string(index) + "] (" +
                                          augmentationKindName(step.kind) + ")");
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
    SIMCLR_RETURN_IF_ERROR(validateAugmentationStep(index, policy[index]));
  return std::unique_ptr<Augmenter>(
      std::make_unique<ReferenceAugmenter>(std::move(policy)));
}

} // namespace simclr
