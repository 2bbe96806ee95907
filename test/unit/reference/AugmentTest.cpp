//===- AugmentTest.cpp - Tests for the reference augmentation kernels -----===//
//
// Hand-computed pixel formulas, draw-order pinning (sampled parameters for a
// fixed key are written down here, so any change to the documented draw
// order or to Philox fails), determinism, and per-image independence of the
// batch size.
//
//===----------------------------------------------------------------------===//
#include "simclr/Reference/Augment.h"

#include "TestUtil.h"

#include <functional>
#include <set>

namespace simclr::ref {
namespace {

using testing::take;
using testing::TensorD;

/// Hand-computed results of a few double operations: a few ulps.
constexpr double kExact = 1e-12;
/// float kernels against the double ones on O(1) pixels: a few float ulps.
constexpr double kFloatTolerance = 1e-5;

/// An arbitrary fixed key for the pinned draws below.
const RngKey kKey = keyFromSeed(0x5eed2024);

/// Image `n` of a batch, as a batch of one.
TensorD imageOf(const TensorD &x, int64_t n) { return take(slice(x, 0, n, 1)); }

/// A batch of `n` images of `c` x `h` x `w` pixels uniform in [0, 1).
TensorD randomImages(int64_t n, int64_t c, int64_t h, int64_t w,
                     uint64_t seed) {
  std::mt19937_64 rng(seed);
  return testing::randomTensor({n, c, h, w}, rng, 0.0, 1.0);
}

/// n copies of one image.
TensorD repeat(const TensorD &image, int64_t n) {
  std::vector<const TensorD *> copies(static_cast<size_t>(n), &image);
  return take(concat(copies, 0));
}

//===----------------------------------------------------------------------===//
// Every random op: determinism and independence of the batch
//===----------------------------------------------------------------------===//

using RandomOp = std::function<Expected<TensorD>(const TensorD &, RngKey)>;

struct NamedOp {
  const char *name;
  RandomOp op;
};

std::vector<NamedOp> randomOps() {
  return {
      {"randomResizedCrop",
       [](const TensorD &x, RngKey key) {
         return randomResizedCrop(x, key, {0.08, 1.0}, {0.75, 4.0 / 3.0}, 5, 6);
       }},
      {"horizontalFlip",
       [](const TensorD &x, RngKey key) {
         return horizontalFlip(x, key, 0.5);
       }},
      {"colorJitter",
       [](const TensorD &x, RngKey key) {
         return colorJitter(x, key,
                            ColorJitterOptions{0.4, 0.4, 0.4, 0.1, 0.8});
       }},
      {"randomGrayscale",
       [](const TensorD &x, RngKey key) {
         return randomGrayscale(x, key, 0.5);
       }},
      {"gaussianBlur",
       [](const TensorD &x, RngKey key) {
         return gaussianBlur(x, key, 3, {0.1, 2.0}, 0.5);
       }},
  };
}

TEST(AugmentTest, SameKeyGivesTheSameBytes) {
  TensorD x = randomImages(4, 3, 8, 8, 1);
  for (const NamedOp &op : randomOps()) {
    TensorD a = take(op.op(x, kKey)), b = take(op.op(x, kKey));
    EXPECT_EQ(a.data, b.data) << op.name;
    EXPECT_NE(take(op.op(x, keyFromSeed(7))).data, a.data)
        << op.name << ": another key should change some image";
  }
}

TEST(AugmentTest, ImageResultsDoNotDependOnTheBatchSize) {
  TensorD five = randomImages(5, 3, 8, 8, 2);
  TensorD three = take(slice(five, 0, 0, 3));
  for (const NamedOp &op : randomOps()) {
    TensorD fromFive = take(op.op(five, kKey));
    TensorD fromThree = take(op.op(three, kKey));
    EXPECT_EQ(take(slice(fromFive, 0, 0, 3)).data, fromThree.data) << op.name;
  }
}

TEST(AugmentTest, ImagesOfABatchDrawIndependently) {
  // Eight copies of one image: every op treats at least two differently,
  // because image n draws from counter n.
  TensorD x = repeat(randomImages(1, 3, 8, 8, 3), 8);
  for (const NamedOp &op : randomOps()) {
    TensorD y = take(op.op(x, kKey));
    std::set<std::vector<double>> distinct;
    for (int64_t n = 0; n < 8; ++n)
      distinct.insert(imageOf(y, n).data);
    EXPECT_GT(distinct.size(), 1u) << op.name;
  }
}

TEST(AugmentTest, FloatFollowsTheSameDraws) {
  TensorD x = randomImages(3, 3, 8, 8, 4);
  Tensor<float> xf = x.cast<float>();
  TensorD crop =
      take(randomResizedCrop(x, kKey, {0.08, 1.0}, {0.75, 1.25}, 5, 5));
  Tensor<float> cropF =
      take(randomResizedCrop(xf, kKey, {0.08, 1.0}, {0.75, 1.25}, 5, 5));
  testing::expectTensorNear(cropF, crop.data, kFloatTolerance);
  TensorD jitter =
      take(colorJitter(x, kKey, ColorJitterOptions{0.4, 0.4, 0.4, 0.1, 1.0}));
  Tensor<float> jitterF =
      take(colorJitter(xf, kKey, ColorJitterOptions{0.4, 0.4, 0.4, 0.1, 1.0}));
  testing::expectTensorNear(jitterF, jitter.data, kFloatTolerance);
  TensorD blur = take(gaussianBlur(x, kKey, 5, {0.1, 2.0}, 1.0));
  Tensor<float> blurF = take(gaussianBlur(xf, kKey, 5, {0.1, 2.0}, 1.0));
  testing::expectTensorNear(blurF, blur.data, kFloatTolerance);
}

//===----------------------------------------------------------------------===//
// Random resized crop
//===----------------------------------------------------------------------===//

TEST(CropTest, RoundsHalfToEvenAsPython) {
  EXPECT_EQ(roundHalfToEven(0.5), 0);
  EXPECT_EQ(roundHalfToEven(1.5), 2);
  EXPECT_EQ(roundHalfToEven(2.5), 2);
  EXPECT_EQ(roundHalfToEven(2.4999), 2);
  EXPECT_EQ(roundHalfToEven(2.5001), 3);
  EXPECT_EQ(roundHalfToEven(7.0), 7);
  EXPECT_EQ(roundHalfToEven(-0.5), 0);
  EXPECT_EQ(roundHalfToEven(-1.5), -2);
}

TEST(CropTest, BilinearUpsample2x2To4x4) {
  // Per axis, scale 1/2: src = (d + 0.5)/2 - 0.5 = -0.25 (clamped to 0),
  // 0.25, 0.75, 1.25 (index clamped to 1), so the taps are (0: 1),
  // (0: 0.75, 1: 0.25), (0: 0.25, 1: 0.75), (1: 1). Rows of [[0, 1], [2, 3]]
  // become [0, .25, .75, 1] and [2, 2.25, 2.75, 3], then mix the same way.
  TensorD x({1, 1, 2, 2}, {0, 1, 2, 3});
  TensorD y = take(resizedCrop(x, CropWindow{0, 0, 2, 2}, 4, 4));
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 1, 4, 4}));
  testing::expectTensorNear(y,
                            {0.0, 0.25, 0.75, 1.0,  //
                             0.5, 0.75, 1.25, 1.5,  //
                             1.5, 1.75, 2.25, 2.5,  //
                             2.0, 2.25, 2.75, 3.0}, //
                            kExact);
}

TEST(CropTest, BilinearDownsampleAveragesBlocks) {
  // Scale 2: src = 2 (d + 0.5) - 0.5 = 0.5 and 2.5, halfway between pixel
  // pairs, so each output is the mean of a 2x2 block.
  TensorD x({1, 1, 4, 4},
            {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  TensorD y = take(resizedCrop(x, CropWindow{0, 0, 4, 4}, 2, 2));
  testing::expectTensorNear(y, {2.5, 4.5, 10.5, 12.5}, kExact);
}

TEST(CropTest, WindowOffsetsIntoTheImage) {
  TensorD x({1, 2, 3, 4}, {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                           12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  TensorD y = take(resizedCrop(x, CropWindow{1, 2, 2, 2}, 2, 2));
  testing::expectTensorNear(y, {6, 7, 10, 11, 18, 19, 22, 23}, kExact);
}

TEST(CropTest, FullScaleUnitRatioIsTheIdentityOnASquare) {
  // area = 25, aspect = exp(0) = 1: w = h = 5, top = left = 0, and a 5 -> 5
  // resize samples exactly at the pixel centres.
  TensorD x = randomImages(3, 3, 5, 5, 10);
  TensorD y = take(randomResizedCrop(x, kKey, {1.0, 1.0}, {1.0, 1.0}, 5, 5));
  EXPECT_EQ(y.data, x.data);
  ImageStream stream(kKey, 0);
  EXPECT_EQ(sampleCropWindow(stream, 5, 5, {1.0, 1.0}, {1.0, 1.0}),
            (CropWindow{0, 0, 5, 5}));
  EXPECT_EQ(stream.drawsConsumed(), 4u);
}

TEST(CropTest, FallbackIsTheCentralCropWithClampedRatio) {
  // Area 32 with aspect 1 gives w = h = round(5.66) = 6 > 4 on every
  // attempt: 20 draws, then the central crop with ratio clamped to 1.
  ImageStream wide(kKey, 0);
  EXPECT_EQ(sampleCropWindow(wide, 4, 8, {1.0, 1.0}, {1.0, 1.0}),
            (CropWindow{0, 2, 4, 4}));
  EXPECT_EQ(wide.drawsConsumed(), 20u);
  ImageStream tall(kKey, 0);
  EXPECT_EQ(sampleCropWindow(tall, 8, 4, {1.0, 1.0}, {1.0, 1.0}),
            (CropWindow{2, 0, 4, 4}));
  // Inside the ratio range the fallback is the whole image.
  ImageStream square(kKey, 0);
  EXPECT_EQ(sampleCropWindow(square, 4, 5, {1.0, 1.0}, {0.5, 2.0}).height, 4);
}

TEST(CropTest, SamplingFollowsTheDocumentedDrawOrder) {
  // Replays the documented order with the stream's primitives.
  const Range scale = {0.08, 1.0}, ratio = {0.75, 4.0 / 3.0};
  for (uint64_t n = 0; n < 16; ++n) {
    ImageStream replay(kKey, n);
    CropWindow expected;
    for (int attempt = 0; attempt < kCropAttempts; ++attempt) {
      double area = 32.0 * 24.0 * replay.uniform(scale[0], scale[1]);
      double aspect =
          std::exp(replay.uniform(std::log(ratio[0]), std::log(ratio[1])));
      int64_t w = roundHalfToEven(std::sqrt(area * aspect));
      int64_t h = roundHalfToEven(std::sqrt(area / aspect));
      if (w > 0 && w <= 24 && h > 0 && h <= 32) {
        int64_t top = replay.randint(0, 32 - h);
        expected = CropWindow{top, replay.randint(0, 24 - w), h, w};
        break;
      }
    }
    ImageStream stream(kKey, n);
    EXPECT_EQ(sampleCropWindow(stream, 32, 24, scale, ratio), expected)
        << "image " << n;
    EXPECT_EQ(stream.drawsConsumed(), replay.drawsConsumed()) << "image " << n;
  }
}

TEST(CropTest, PinnedCropParameters) {
  // Recorded from this implementation for a tall 32x12 image, where many
  // attempts fail: a change to Philox, the stream layout, uniform/randint or
  // the draw order changes these numbers. Draw counts: 4 = first attempt
  // fits, 4 + 2a = attempt a fits, 20 = torchvision's fallback (image 6:
  // w = 12, h = round(12 / 0.75) = 16, centred).
  struct Pinned {
    CropWindow window;
    uint64_t draws;
  };
  const std::vector<Pinned> expected = {
      {{0, 1, 11, 9}, 18},   {{0, 0, 14, 12}, 4},  {{20, 1, 12, 11}, 8},
      {{17, 0, 11, 12}, 22}, {{19, 0, 13, 10}, 6}, {{20, 0, 11, 11}, 6},
      {{8, 0, 16, 12}, 20},  {{6, 2, 11, 10}, 4}};
  for (size_t n = 0; n < expected.size(); ++n) {
    ImageStream stream(kKey, n);
    CropWindow window =
        sampleCropWindow(stream, 32, 12, {0.25, 1.0}, {0.75, 4.0 / 3.0});
    EXPECT_EQ(window, expected[n].window)
        << "image " << n << ": {" << window.top << ", " << window.left << ", "
        << window.height << ", " << window.width << "}";
    EXPECT_EQ(stream.drawsConsumed(), expected[n].draws) << "image " << n;
  }
}

TEST(CropTest, EachImageIsTheResizeOfItsSampledWindow) {
  TensorD x = randomImages(4, 3, 12, 10, 11);
  TensorD y =
      take(randomResizedCrop(x, kKey, {0.08, 1.0}, {0.75, 4.0 / 3.0}, 6, 7));
  EXPECT_EQ(y.shape, (std::vector<int64_t>{4, 3, 6, 7}));
  for (int64_t n = 0; n < 4; ++n) {
    ImageStream stream(kKey, static_cast<uint64_t>(n));
    CropWindow window =
        sampleCropWindow(stream, 12, 10, {0.08, 1.0}, {0.75, 4.0 / 3.0});
    EXPECT_EQ(imageOf(y, n).data,
              take(resizedCrop(imageOf(x, n), window, 6, 7)).data)
        << "image " << n;
  }
}

TEST(CropTest, RejectsBadOptions) {
  TensorD x = TensorD::zeros({1, 1, 4, 4});
  EXPECT_FALSE(randomResizedCrop(x, kKey, {0.5, 1.5}, {1.0, 1.0}, 2, 2));
  EXPECT_FALSE(randomResizedCrop(x, kKey, {0.0, 1.0}, {1.0, 1.0}, 2, 2));
  EXPECT_FALSE(randomResizedCrop(x, kKey, {0.5, 1.0}, {2.0, 1.0}, 2, 2));
  EXPECT_FALSE(randomResizedCrop(x, kKey, {0.5, 1.0}, {1.0, 1.0}, 0, 2));
  EXPECT_FALSE(randomResizedCrop(TensorD::zeros({1, 4, 4}), kKey, {0.5, 1.0},
                                 {1.0, 1.0}, 2, 2));
  EXPECT_FALSE(resizedCrop(x, CropWindow{1, 0, 4, 4}, 2, 2));
}

//===----------------------------------------------------------------------===//
// Horizontal flip and grayscale
//===----------------------------------------------------------------------===//

TEST(FlipTest, AlwaysAndNever) {
  TensorD x({2, 1, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  testing::expectTensorNear(take(horizontalFlip(x, kKey, 1.0)),
                            {3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}, kExact);
  EXPECT_EQ(take(horizontalFlip(x, kKey, 0.0)).data, x.data);
}

TEST(FlipTest, FlipsWhenDrawZeroIsBelowP) {
  TensorD x = randomImages(32, 2, 3, 4, 12);
  TensorD flipped = take(horizontalFlip(x, kKey, 1.0));
  TensorD y = take(horizontalFlip(x, kKey, 0.5));
  int flips = 0;
  for (int64_t n = 0; n < 32; ++n) {
    bool flip = ImageStream(kKey, static_cast<uint64_t>(n)).uniform() < 0.5;
    flips += flip;
    EXPECT_EQ(imageOf(y, n).data, imageOf(flip ? flipped : x, n).data)
        << "image " << n;
  }
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, 32);
}

TEST(GrayscaleTest, PrimaryColoursGiveTheirLumaWeights) {
  // One 1x1 image each of pure red, green and blue.
  TensorD x({3, 3, 1, 1}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  testing::expectTensorNear(
      take(toGrayscale(x)),
      {0.299, 0.299, 0.299, 0.587, 0.587, 0.587, 0.114, 0.114, 0.114}, kExact);
  EXPECT_EQ(take(randomGrayscale(x, kKey, 1.0)).data,
            take(toGrayscale(x)).data);
  EXPECT_EQ(take(randomGrayscale(x, kKey, 0.0)).data, x.data);
}

TEST(GrayscaleTest, ChoosesByDrawZeroAndNeedsRgb) {
  TensorD x = randomImages(16, 3, 2, 2, 13);
  TensorD gray = take(toGrayscale(x));
  TensorD y = take(randomGrayscale(x, kKey, 0.2));
  for (int64_t n = 0; n < 16; ++n) {
    bool chosen = ImageStream(kKey, static_cast<uint64_t>(n)).uniform() < 0.2;
    EXPECT_EQ(imageOf(y, n).data, imageOf(chosen ? gray : x, n).data);
  }
  EXPECT_FALSE(randomGrayscale(TensorD::zeros({1, 1, 2, 2}), kKey, 0.5));
  EXPECT_FALSE(randomGrayscale(x, kKey, 1.5));
}

//===----------------------------------------------------------------------===//
// Color jitter
//===----------------------------------------------------------------------===//

TEST(ColorJitterTest, BrightnessScalesAndClamps) {
  TensorD x({1, 1, 1, 3}, {0.2, 0.5, 0.8});
  testing::expectTensorNear(take(adjustBrightness(x, 1.5)), {0.3, 0.75, 1.0},
                            kExact);
  testing::expectTensorNear(take(adjustBrightness(x, 0.5)), {0.1, 0.25, 0.4},
                            kExact);
}

TEST(ColorJitterTest, ContrastBlendsWithTheMeanGray) {
  // One channel: mean 0.5, c = 0.5: 0.5 x + 0.25.
  TensorD gray({1, 1, 2, 2}, {0, 1, 0.2, 0.8});
  testing::expectTensorNear(take(adjustContrast(gray, 0.5)),
                            {0.25, 0.75, 0.35, 0.65}, kExact);
  // RGB: pixels pure red and black, mean gray 0.299 / 2 = 0.1495; c = 2:
  // 2 x - 0.1495, clamped.
  TensorD rgb({1, 3, 1, 2}, {1, 0, 0, 0, 0, 0});
  testing::expectTensorNear(take(adjustContrast(rgb, 2.0)),
                            {1.0, 0.0, 0.0, 0.0, 0.0, 0.0}, kExact);
  testing::expectTensorNear(
      take(adjustContrast(rgb, 0.5)),
      {0.57475, 0.07475, 0.07475, 0.07475, 0.07475, 0.07475}, kExact);
}

TEST(ColorJitterTest, SaturationBlendsWithThePixelGray) {
  TensorD x = randomImages(2, 3, 3, 3, 14);
  EXPECT_EQ(take(adjustSaturation(x, 1.0)).data, x.data);
  testing::expectTensorNear(take(adjustSaturation(x, 0.0)),
                            take(toGrayscale(x)).data, kExact);
  // Pure red, s = 0.5: 0.5 * (1, 0, 0) + 0.5 * 0.299.
  TensorD red({1, 3, 1, 1}, {1, 0, 0});
  testing::expectTensorNear(take(adjustSaturation(red, 0.5)),
                            {0.6495, 0.1495, 0.1495}, kExact);
}

TEST(ColorJitterTest, HueShiftRotatesTheColourWheel) {
  TensorD red({1, 3, 1, 1}, {1, 0, 0});
  testing::expectTensorNear(take(adjustHue(red, 1.0 / 3.0)), {0, 1, 0}, kExact);
  testing::expectTensorNear(take(adjustHue(red, -1.0 / 3.0)), {0, 0, 1},
                            kExact);
  // (0.2, 0.4, 0.6) has H = 7/12, S = 2/3, V = 0.6; half a turn gives
  // H = 1/12: sector 0 with f = 1/2, so (V, V(1 - S/2), V(1 - S)).
  TensorD blue({1, 3, 1, 1}, {0.2, 0.4, 0.6});
  testing::expectTensorNear(take(adjustHue(blue, 0.5)), {0.6, 0.4, 0.2},
                            kExact);
  // Grays have no hue; a zero shift round-trips every colour.
  TensorD grays({1, 3, 1, 2}, {0.3, 1, 0.3, 1, 0.3, 1});
  EXPECT_EQ(take(adjustHue(grays, 0.25)).data, grays.data);
  TensorD x = randomImages(2, 3, 4, 4, 15);
  testing::expectTensorNear(take(adjustHue(x, 0.0)), x.data, kExact);
}

TEST(ColorJitterTest, SamplingFollowsTheDocumentedDrawOrder) {
  ColorJitterOptions options{0.4, 0.3, 0.2, 0.1, 0.8};
  for (uint64_t n = 0; n < 16; ++n) {
    ImageStream replay(kKey, n);
    bool apply = replay.uniform() < 0.8;
    std::array<ColorAdjustment, 4> order = {
        ColorAdjustment::kBrightness, ColorAdjustment::kContrast,
        ColorAdjustment::kSaturation, ColorAdjustment::kHue};
    for (int i = 3; i >= 1; --i)
      std::swap(order[i], order[replay.randint(0, i)]);
    double b = replay.uniform(0.6, 1.4), c = replay.uniform(0.7, 1.3),
           s = replay.uniform(0.8, 1.2), h = replay.uniform(-0.1, 0.1);

    ImageStream stream(kKey, n);
    ColorJitterParams params = sampleColorJitter(stream, options);
    EXPECT_EQ(stream.drawsConsumed(), 8u);
    EXPECT_EQ(params.apply, apply);
    EXPECT_EQ(params.order, order);
    EXPECT_EQ(params.brightness, b);
    EXPECT_EQ(params.contrast, c);
    EXPECT_EQ(params.saturation, s);
    EXPECT_EQ(params.hue, h);
  }
}

TEST(ColorJitterTest, EveryOrderIsDrawn) {
  std::set<std::array<ColorAdjustment, 4>> orders;
  for (uint64_t n = 0; n < 2000; ++n) {
    ImageStream stream(kKey, n);
    orders.insert(sampleColorJitter(stream, ColorJitterOptions{}).order);
  }
  EXPECT_EQ(orders.size(), 24u);
}

TEST(ColorJitterTest, AppliesTheSampledAdjustmentsInOrder) {
  ColorJitterOptions options{0.4, 0.4, 0.4, 0.1, 0.8};
  TensorD x = randomImages(6, 3, 4, 5, 16);
  TensorD y = take(colorJitter(x, kKey, options));
  int applied = 0;
  for (int64_t n = 0; n < 6; ++n) {
    ImageStream stream(kKey, static_cast<uint64_t>(n));
    ColorJitterParams params = sampleColorJitter(stream, options);
    TensorD expected = imageOf(x, n);
    if (params.apply) {
      ++applied;
      for (ColorAdjustment adjustment : params.order) {
        if (adjustment == ColorAdjustment::kBrightness)
          expected = take(adjustBrightness(expected, params.brightness));
        else if (adjustment == ColorAdjustment::kContrast)
          expected = take(adjustContrast(expected, params.contrast));
        else if (adjustment == ColorAdjustment::kSaturation)
          expected = take(adjustSaturation(expected, params.saturation));
        else
          expected = take(adjustHue(expected, params.hue));
      }
    }
    EXPECT_EQ(imageOf(y, n).data, expected.data) << "image " << n;
  }
  EXPECT_GT(applied, 0);
}

TEST(ColorJitterTest, ZeroRangesAreSkipped) {
  // Only brightness has a range: every applied image is exactly the
  // brightness adjustment, whatever the sampled order.
  ColorJitterOptions options{0.5, 0, 0, 0, 1.0};
  TensorD x = randomImages(4, 3, 3, 3, 17);
  TensorD y = take(colorJitter(x, kKey, options));
  for (int64_t n = 0; n < 4; ++n) {
    ImageStream stream(kKey, static_cast<uint64_t>(n));
    double b = sampleColorJitter(stream, options).brightness;
    EXPECT_EQ(imageOf(y, n).data,
              take(adjustBrightness(imageOf(x, n), b)).data);
  }
  EXPECT_EQ(
      take(colorJitter(x, kKey, ColorJitterOptions{0.5, 0.5, 0.5, 0.5, 0.0}))
          .data,
      x.data);
}

TEST(ColorJitterTest, OneChannelImagesGetBrightnessAndContrast) {
  TensorD x = randomImages(3, 1, 4, 4, 18);
  EXPECT_TRUE(colorJitter(x, kKey, ColorJitterOptions{0.4, 0.4, 0, 0, 1.0}));
  EXPECT_FALSE(colorJitter(x, kKey, ColorJitterOptions{0.4, 0.4, 0.4, 0, 1.0}));
  EXPECT_FALSE(colorJitter(x, kKey, ColorJitterOptions{0, 0, 0, 0.1, 1.0}));
  TensorD rgb = randomImages(1, 3, 2, 2, 19);
  EXPECT_FALSE(colorJitter(rgb, kKey, ColorJitterOptions{0, 0, 0, 0.6, 1.0}));
  EXPECT_FALSE(colorJitter(rgb, kKey, ColorJitterOptions{-0.1, 0, 0, 0, 1.0}));
  EXPECT_FALSE(colorJitter(randomImages(1, 2, 2, 2, 20), kKey,
                           ColorJitterOptions{0.4, 0, 0, 0, 1.0}));
}

//===----------------------------------------------------------------------===//
// Gaussian blur
//===----------------------------------------------------------------------===//

/// The K = 3, sigma = 1 kernel: e = (exp(-1/2), 1, exp(-1/2)), normalized.
constexpr double kBlurEdge = 0.274068619061197;
constexpr double kBlurCentre = 0.45186276187760605;

TEST(BlurTest, KernelWeights) {
  std::vector<double> kernel = gaussianKernel1d<double>(3, 1.0);
  ASSERT_EQ(kernel.size(), 3u);
  EXPECT_NEAR(kernel[0], kBlurEdge, kExact);
  EXPECT_NEAR(kernel[1], kBlurCentre, kExact);
  EXPECT_NEAR(kernel[2], kBlurEdge, kExact);
  std::vector<double> wide = gaussianKernel1d<double>(9, 2.0);
  double sum = 0;
  for (double weight : wide)
    sum += weight;
  EXPECT_NEAR(sum, 1.0, kExact);
  EXPECT_NEAR(wide[0] / wide[4], std::exp(-2.0), kExact);
}

TEST(BlurTest, ImpulseShowsReflectPadding) {
  // A centre impulse on 3x3: the horizontal pass gives row 1 =
  // (k0 + k2, k1, k0 + k2) because column -1 reflects to column 1 (and 3 to
  // 1); the vertical pass does the same, so y = outer(v, v) with
  // v = (2 k0, k1, 2 k0). Zero padding would give k0 instead of 2 k0.
  TensorD x({1, 1, 3, 3}, {0, 0, 0, 0, 1, 0, 0, 0, 0});
  std::array<double, 3> v = {2 * kBlurEdge, kBlurCentre, 2 * kBlurEdge};
  std::vector<double> expected;
  for (double row : v)
    for (double col : v)
      expected.push_back(row * col);
  testing::expectTensorNear(take(blurWithSigma(x, 3, 1.0)), expected, kExact);
}

TEST(BlurTest, TinySigmaIsTheIdentityAndConstantsStay) {
  TensorD x = randomImages(2, 3, 5, 6, 21);
  testing::expectTensorNear(take(blurWithSigma(x, 5, 0.01)), x.data, kExact);
  TensorD flat = TensorD::full({1, 2, 4, 4}, 0.375);
  testing::expectTensorNear(take(blurWithSigma(flat, 7, 1.5)), flat.data,
                            kExact);
}

TEST(BlurTest, SamplingDrawsApplyThenSigma) {
  for (uint64_t n = 0; n < 8; ++n) {
    ImageStream replay(kKey, n), stream(kKey, n);
    bool apply = replay.uniform() < 0.5;
    double sigma = replay.uniform(0.1, 2.0);
    GaussianBlurParams params = sampleGaussianBlur(stream, {0.1, 2.0}, 0.5);
    EXPECT_EQ(params.apply, apply);
    EXPECT_EQ(params.sigma, sigma);
    EXPECT_EQ(stream.drawsConsumed(), 2u);
  }
}

TEST(BlurTest, EachChosenImageIsBlurredWithItsSigma) {
  TensorD x = randomImages(8, 3, 6, 6, 22);
  TensorD y = take(gaussianBlur(x, kKey, 5, {0.1, 2.0}, 0.5));
  int blurred = 0;
  for (int64_t n = 0; n < 8; ++n) {
    ImageStream stream(kKey, static_cast<uint64_t>(n));
    GaussianBlurParams params = sampleGaussianBlur(stream, {0.1, 2.0}, 0.5);
    TensorD image = imageOf(x, n);
    TensorD expected =
        params.apply ? take(blurWithSigma(image, 5, params.sigma)) : image;
    blurred += params.apply;
    EXPECT_EQ(imageOf(y, n).data, expected.data) << "image " << n;
  }
  EXPECT_GT(blurred, 0);
  EXPECT_LT(blurred, 8);
}

TEST(BlurTest, RejectsBadGeometry) {
  TensorD x = TensorD::zeros({1, 1, 3, 3});
  EXPECT_FALSE(blurWithSigma(x, 4, 1.0));
  EXPECT_FALSE(blurWithSigma(x, 7, 1.0));
  EXPECT_TRUE(blurWithSigma(x, 5, 1.0));
  EXPECT_FALSE(gaussianBlur(x, kKey, 3, {2.0, 1.0}, 0.5));
  EXPECT_FALSE(gaussianBlur(x, kKey, 3, {0.0, 1.0}, 0.5));
  EXPECT_FALSE(gaussianBlur(x, kKey, 3, {0.1, 1.0}, -0.5));
}

} // namespace
} // namespace simclr::ref
