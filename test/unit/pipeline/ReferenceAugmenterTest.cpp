//===- ReferenceAugmenterTest.cpp - Tests for createReferenceAugmenter ----===//
//
// The augmenter against direct kernel calls (bit for bit), its output size
// rule, and every policy error with its exact message.
//
//===----------------------------------------------------------------------===//
#include "PipelineTestUtil.h"

#include <string>

namespace simclr {
namespace {

using testing::fullPolicy;
using testing::makeDataset;

std::unique_ptr<Augmenter> makeAugmenter(AugmentationPolicy policy) {
  Expected<std::unique_ptr<Augmenter>> augmenter =
      createReferenceAugmenter(std::move(policy));
  EXPECT_TRUE(augmenter.hasValue()) << augmenter.status().toString();
  return augmenter ? std::move(*augmenter) : nullptr;
}

/// The message of createReferenceAugmenter's failure on `policy`.
std::string createError(AugmentationPolicy policy) {
  Expected<std::unique_ptr<Augmenter>> augmenter =
      createReferenceAugmenter(std::move(policy));
  if (augmenter)
    return "(no error)";
  EXPECT_EQ(augmenter.status().code(), StatusCode::kInvalidArgument);
  return augmenter.status().message();
}

/// The message of augmentView's failure on a 2-image batch of `dataset`.
std::string augmentError(AugmentationPolicy policy, const ImageDataset &data) {
  std::unique_ptr<Augmenter> augmenter = makeAugmenter(std::move(policy));
  if (!augmenter)
    return "(no augmenter)";
  constexpr int64_t kImages = 2;
  ImageBatchView images{data.pixels.data(), kImages, data.channels, data.height,
                        data.width};
  auto [h, w] = augmenter->outputSize(data.height, data.width);
  std::vector<float> out(static_cast<size_t>(kImages * data.channels * h * w));
  Status status = augmenter->augmentView(images, keyFromSeed(1), out.data(),
                                         static_cast<int64_t>(out.size()));
  return status ? "(no error)" : status.message();
}

TEST(ReferenceAugmenter, MatchesDirectKernelCalls) {
  constexpr int64_t kImages = 5;
  ImageDataset data = makeDataset(kImages, 3, 8, 8);
  std::unique_ptr<Augmenter> augmenter = makeAugmenter(fullPolicy());
  ASSERT_TRUE(augmenter);
  ASSERT_EQ(augmenter->outputSize(8, 8),
            std::make_pair(int64_t(6), int64_t(6)));
  ImageBatchView images{data.pixels.data(), kImages, 3, 8, 8};
  for (uint64_t seed : {1u, 2u, 3u}) {
    RngKey key = keyFromSeed(seed);
    std::vector<float> out(kImages * 3 * 6 * 6);
    ASSERT_TRUE(augmenter->augmentView(images, key, out.data(),
                                       static_cast<int64_t>(out.size())));
    EXPECT_TRUE(testing::bitwiseEqual(
        out, testing::fullPolicyByHand(data.pixels.data(), kImages, key)))
        << "seed " << seed;
  }
}

TEST(ReferenceAugmenter, EmptyPolicyIsImageToFloat) {
  ImageDataset data = makeDataset(2, 1, 4, 4);
  std::unique_ptr<Augmenter> augmenter = makeAugmenter({});
  ASSERT_TRUE(augmenter);
  std::vector<float> out(2 * 16);
  ImageBatchView images{data.pixels.data(), 2, 1, 4, 4};
  ASSERT_TRUE(augmenter->augmentView(images, keyFromSeed(0), out.data(), 32));
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(out[i], static_cast<float>(data.pixels[i]) / 255.0f) << i;
}

TEST(ReferenceAugmenter, OutputSizeIsTheLastCropSize) {
  AugmentationStep crop;
  crop.kind = AugmentationKind::kRandomResizedCrop;
  AugmentationStep flip;
  flip.kind = AugmentationKind::kHorizontalFlip;
  // No crop, or a crop without a size: the input's size.
  EXPECT_EQ(makeAugmenter({flip})->outputSize(28, 30),
            std::make_pair(int64_t(28), int64_t(30)));
  EXPECT_EQ(makeAugmenter({crop, flip})->outputSize(28, 30),
            std::make_pair(int64_t(28), int64_t(30)));
  // A sized crop followed by an unsized one keeps the first crop's size.
  AugmentationStep sized = crop;
  sized.size = std::array<int64_t, 2>{12, 10};
  EXPECT_EQ(makeAugmenter({sized, crop, flip})->outputSize(28, 30),
            std::make_pair(int64_t(12), int64_t(10)));
  AugmentationStep other = crop;
  other.size = std::array<int64_t, 2>{5, 7};
  EXPECT_EQ(makeAugmenter({sized, other})->outputSize(28, 30),
            std::make_pair(int64_t(5), int64_t(7)));

  // And the view really has that size.
  ImageDataset data = makeDataset(2, 1, 28, 30);
  std::unique_ptr<Augmenter> augmenter = makeAugmenter({sized, crop});
  std::vector<float> out(2 * 12 * 10);
  ImageBatchView images{data.pixels.data(), 2, 1, 28, 30};
  EXPECT_TRUE(augmenter->augmentView(images, keyFromSeed(4), out.data(),
                                     static_cast<int64_t>(out.size())));
}

TEST(ReferenceAugmenter, RejectsInvalidPolicies) {
  AugmentationStep crop;
  crop.kind = AugmentationKind::kRandomResizedCrop;
  AugmentationStep flip;
  flip.kind = AugmentationKind::kHorizontalFlip;
  AugmentationStep jitter;
  jitter.kind = AugmentationKind::kColorJitter;
  AugmentationStep blur;
  blur.kind = AugmentationKind::kGaussianBlur;
  AugmentationStep normalize;
  normalize.kind = AugmentationKind::kNormalize;
  normalize.mean = {0.5};
  normalize.std = {0.25};

  AugmentationStep step = flip;
  step.probability = 1.5;
  EXPECT_EQ(
      createError({crop, step}),
      "augment[1] (horizontal_flip): probability p = 1.5 must be in [0, 1]");
  step = crop;
  step.scale = {0.5, 0.2};
  EXPECT_EQ(createError({step}), "augment[0] (random_resized_crop): scale = "
                                 "[0.5, 0.2] must satisfy 0 < lo <= hi <= 1");
  step = crop;
  step.ratio = {0.0, 1.0};
  EXPECT_EQ(createError({step}), "augment[0] (random_resized_crop): ratio = "
                                 "[0, 1] must satisfy 0 < lo <= hi");
  step = crop;
  step.size = std::array<int64_t, 2>{0, 4};
  EXPECT_EQ(createError({step}),
            "augment[0] (random_resized_crop): size = [0, 4] must be positive");
  step = jitter;
  step.contrast = -0.1;
  EXPECT_EQ(createError({step}),
            "augment[0] (color_jitter): contrast = -0.1 must be >= 0");
  step = jitter;
  step.hue = 0.7;
  EXPECT_EQ(createError({step}),
            "augment[0] (color_jitter): hue = 0.7 must be in [0, 0.5]");
  step = blur;
  step.kernelSize = 4;
  EXPECT_EQ(
      createError({step}),
      "augment[0] (gaussian_blur): kernel_size = 4 must be odd and positive");
  step = blur;
  step.sigma = {0.0, 1.0};
  EXPECT_EQ(createError({step}), "augment[0] (gaussian_blur): sigma = [0, 1] "
                                 "must satisfy 0 < lo <= hi");
  step = normalize;
  step.std = {0.25, 0.5};
  EXPECT_EQ(createError({step}), "augment[0] (normalize): mean and std need "
                                 "one entry per channel, got 1 and 2");
  step = normalize;
  step.std = {0.0};
  EXPECT_EQ(createError({step}),
            "augment[0] (normalize): std[0] = 0 must be > 0");
}

TEST(ReferenceAugmenter, RejectsPoliciesThatDoNotFitTheImages) {
  ImageDataset gray = makeDataset(2, 1, 4, 4);
  AugmentationStep jitter;
  jitter.kind = AugmentationKind::kColorJitter;
  jitter.saturation = 0.4;
  EXPECT_EQ(augmentError({jitter}, gray),
            "augment[0] (color_jitter): saturation and hue need 3 channels; "
            "the input has 1");
  AugmentationStep grayscale;
  grayscale.kind = AugmentationKind::kRandomGrayscale;
  EXPECT_EQ(augmentError({grayscale}, gray),
            "augment[0] (random_grayscale): expects 3 channels, got 1");
  AugmentationStep normalize;
  normalize.kind = AugmentationKind::kNormalize;
  normalize.mean = {0.5, 0.5, 0.5};
  normalize.std = {0.2, 0.2, 0.2};
  EXPECT_EQ(augmentError({normalize}, gray),
            "augment[0] (normalize): mean and std need 1 entries (one per "
            "channel), got 3 and 3");
  // The blur sees the crop's 2x2 output, not the 4x4 input.
  AugmentationStep crop;
  crop.kind = AugmentationKind::kRandomResizedCrop;
  crop.size = std::array<int64_t, 2>{2, 2};
  AugmentationStep blur;
  blur.kind = AugmentationKind::kGaussianBlur;
  blur.kernelSize = 5;
  EXPECT_EQ(augmentError({crop, blur}, gray),
            "augment[1] (gaussian_blur): kernel_size = 5 is too large for a "
            "2x2 image (reflect padding needs kernel_size <= 3)");
  EXPECT_EQ(augmentError({blur}, makeDataset(2, 2, 4, 4)), "(no error)");
}

TEST(ReferenceAugmenter, RejectsSmallOutputBuffers) {
  ImageDataset data = makeDataset(2, 1, 4, 4);
  std::unique_ptr<Augmenter> augmenter = makeAugmenter({});
  std::vector<float> out(31);
  ImageBatchView images{data.pixels.data(), 2, 1, 4, 4};
  Status status =
      augmenter->augmentView(images, keyFromSeed(0), out.data(), 31);
  EXPECT_EQ(
      status.message(),
      "reference augmenter: the output holds 31 floats, the view needs 32");
}

} // namespace
} // namespace simclr
