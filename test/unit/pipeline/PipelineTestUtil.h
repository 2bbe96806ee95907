//===- PipelineTestUtil.h - Datasets and oracles for pipelines -*- C++ -*-===//
#ifndef SIMCLR_TEST_UNIT_PIPELINE_PIPELINETESTUTIL_H
#define SIMCLR_TEST_UNIT_PIPELINE_PIPELINETESTUTIL_H

#include "simclr/Reference/Augment.h"
#include "simclr/Reference/Kernels.h"
#include "simclr/Runtime/Augmenter.h"
#include "simclr/Runtime/Dataset.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace simclr::testing {

/// A synthetic dataset: every pixel a fixed function of (image, position)
/// spread over 0..255, label = image % 10.
inline ImageDataset makeDataset(int64_t count, int64_t channels, int64_t height,
                                int64_t width) {
  ImageDataset data;
  data.count = count;
  data.channels = channels;
  data.height = height;
  data.width = width;
  data.pixels.resize(static_cast<size_t>(count * data.imageBytes()));
  // Coprime multipliers make neighbouring pixels and images differ.
  constexpr uint32_t kImageStride = 97, kPixelStride = 37;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t p = 0; p < data.imageBytes(); ++p)
      data.pixels[static_cast<size_t>(i * data.imageBytes() + p)] =
          static_cast<uint8_t>((i * kImageStride + p * kPixelStride) % 256);
  constexpr int32_t kClasses = 10;
  for (int64_t i = 0; i < count; ++i)
    data.labels.push_back(static_cast<int32_t>(i % kClasses));
  return data;
}

/// Every kind of step, for 3-channel 8x8 images: crop to 6x6, flip, full
/// color jitter, grayscale, 3x3 blur, normalize.
inline AugmentationPolicy fullPolicy() {
  AugmentationPolicy policy(6);
  policy[0].kind = AugmentationKind::kRandomResizedCrop;
  policy[0].scale = {0.3, 1.0};
  policy[0].size = std::array<int64_t, 2>{6, 6};
  policy[1].kind = AugmentationKind::kHorizontalFlip;
  policy[1].probability = 0.5;
  policy[2].kind = AugmentationKind::kColorJitter;
  policy[2].brightness = 0.4;
  policy[2].contrast = 0.4;
  policy[2].saturation = 0.4;
  policy[2].hue = 0.1;
  policy[2].probability = 0.8;
  policy[3].kind = AugmentationKind::kRandomGrayscale;
  policy[3].probability = 0.2;
  policy[4].kind = AugmentationKind::kGaussianBlur;
  policy[4].kernelSize = 3;
  policy[4].probability = 0.5;
  policy[5].kind = AugmentationKind::kNormalize;
  policy[5].mean = {0.5, 0.4, 0.3};
  policy[5].std = {0.25, 0.2, 0.3};
  return policy;
}

/// examples/fashion-mnist.toml's policy: crop 0.2-1 (28x28), flip,
/// jitter b/c 0.4 p 0.8, normalize with the training-set statistics.
inline AugmentationPolicy fashionMnistPolicy() {
  AugmentationPolicy policy(4);
  policy[0].kind = AugmentationKind::kRandomResizedCrop;
  policy[0].scale = {0.2, 1.0};
  policy[1].kind = AugmentationKind::kHorizontalFlip;
  policy[1].probability = 0.5;
  policy[2].kind = AugmentationKind::kColorJitter;
  policy[2].brightness = 0.4;
  policy[2].contrast = 0.4;
  policy[2].probability = 0.8;
  policy[3].kind = AugmentationKind::kNormalize;
  policy[3].mean = {0.2860};
  policy[3].std = {0.3530};
  return policy;
}

template <typename T> T take(Expected<T> value) {
  EXPECT_TRUE(value.hasValue()) << value.status().toString();
  if (!value.hasValue())
    return T();
  return std::move(*value);
}

/// fullPolicy() applied to uint8 images by direct kernel calls, written out
/// step by step: the oracle of the augmenter and the pipeline.
inline std::vector<float> fullPolicyByHand(const uint8_t *pixels, int64_t n,
                                           RngKey viewKey) {
  constexpr int64_t kChannels = 3, kSide = 8, kCropSide = 6;
  std::vector<float> values(pixels, pixels + n * kChannels * kSide * kSide);
  ref::Tensor<float> x({n, kChannels, kSide, kSide}, values);
  x = take(ref::imageToFloat(x));
  x = take(ref::randomResizedCrop(x, foldIn(viewKey, 0), {0.3, 1.0},
                                  {3.0 / 4.0, 4.0 / 3.0}, kCropSide,
                                  kCropSide));
  x = take(ref::horizontalFlip(x, foldIn(viewKey, 1), 0.5));
  ref::ColorJitterOptions jitter{0.4, 0.4, 0.4, 0.1, 0.8};
  x = take(ref::colorJitter(x, foldIn(viewKey, 2), jitter));
  x = take(ref::randomGrayscale(x, foldIn(viewKey, 3), 0.2));
  x = take(ref::gaussianBlur(x, foldIn(viewKey, 4), 3, {0.1, 2.0}, 0.5));
  x = take(ref::normalize(x, {0.5, 0.4, 0.3}, {0.25, 0.2, 0.3}));
  return x.data;
}

/// True when the two float buffers are equal bit for bit.
inline bool bitwiseEqual(const std::vector<float> &a,
                         const std::vector<float> &b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

} // namespace simclr::testing

#endif // SIMCLR_TEST_UNIT_PIPELINE_PIPELINETESTUTIL_H
