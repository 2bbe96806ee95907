//===- Baselines.cpp - Raw-pixel features ---------------------------------===//
#include "simclr/Eval/Baselines.h"

namespace simclr::eval {

/// Pixel bytes map to [0, 1] as torchvision's ToTensor does.
constexpr float kPixelScale = 1.0f / 255.0f;

Expected<FeatureMatrix> rawPixelFeatures(const ImageDataset &dataset) {
  if (dataset.count < 1 || dataset.imageBytes() < 1)
    return invalidArgument("raw-pixel features: the dataset is empty");
  if (static_cast<int64_t>(dataset.labels.size()) != dataset.count)
    return invalidArgument("raw-pixel features: " +
                           std::to_string(dataset.labels.size()) +
                           " labels for " + std::to_string(dataset.count) +
                           " images");
  if (static_cast<int64_t>(dataset.pixels.size()) !=
      dataset.count * dataset.imageBytes())
    return invalidArgument("raw-pixel features: pixel buffer size does not "
                           "match the image count and shape");
  FeatureMatrix features;
  features.count = dataset.count;
  features.dim = dataset.imageBytes();
  features.values.resize(dataset.pixels.size());
  for (size_t i = 0; i < dataset.pixels.size(); ++i)
    features.values[i] = dataset.pixels[i] * kPixelScale;
  features.labels = dataset.labels;
  return features;
}

} // namespace simclr::eval
