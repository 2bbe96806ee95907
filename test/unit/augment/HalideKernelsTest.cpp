//===- HalideKernelsTest.cpp - Each Halide generator vs its reference -----===//
//
// Every AOT-compiled kernel of runtime/Augment/generators against the fixed
// transform of lib/Reference/Augment.cpp (or Kernels.h's normalize), in
// float32, on random images and random per-image parameters: odd sizes, one
// and three channels, crop windows touching the image's edges, small and
// large blur sigmas, hue shifts that wrap around.
//
// Tolerances. Both sides evaluate the same float32 formulas in the same
// order; they differ only where the compilers do: Halide contracts a * b + c
// into one fused multiply-add on this host and may evaluate x / 6 as a
// multiply, the reference (ISO C++, baseline x86-64) does not. That changes
// a result by about one float ulp per operation; on [0, 1] pixels that is
// below 1e-6 after a handful of operations.
//
//===----------------------------------------------------------------------===//
#include "simclr/Reference/Augment.h"
#include "simclr/Reference/Kernels.h"

#include "HalideBuffer.h"
#include "simclr_halide_blur.h"
#include "simclr_halide_crop_f32.h"
#include "simclr_halide_crop_u8.h"
#include "simclr_halide_flip.h"
#include "simclr_halide_grayscale.h"
#include "simclr_halide_jitter_c1.h"
#include "simclr_halide_jitter_c3.h"
#include "simclr_halide_normalize.h"
#include "simclr_halide_to_float.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace simclr {
namespace {

using FloatBuffer = Halide::Runtime::Buffer<float>;
using Tensor = ref::Tensor<float>;

/// Bilinear taps and blends, a few fused multiply-adds deep: a few ulps of
/// values in [0, 1].
constexpr double kInterpolationTolerance = 1e-6;
/// Color adjustments: up to four chained stages of a few ulps each (hue adds
/// three divisions and two fractional parts); clamping never amplifies.
/// Measured worst case 2.1e-6 over the 36 images below.
constexpr double kJitterTolerance = 5e-6;
/// Blur: two K-term dot products of weights summing to 1.
constexpr double kBlurTolerance = 1e-6;
/// Pointwise kernels whose one operation rounds identically: exact.
constexpr double kExact = 0.0;

Tensor randomImages(int64_t n, int64_t c, int64_t h, int64_t w, std::mt19937 &rng) {
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  Tensor x = Tensor::zeros({n, c, h, w});
  for (float &value : x.data)
    value = unit(rng);
  return x;
}

/// A Halide view (x, y, c, n) of an NCHW tensor.
FloatBuffer view(Tensor &x) {
  return FloatBuffer(x.data.data(), static_cast<int>(x.dim(3)), static_cast<int>(x.dim(2)),
                     static_cast<int>(x.dim(1)), static_cast<int>(x.dim(0)));
}

Tensor imageOf(const Tensor &x, int64_t n) {
  int64_t size = x.dim(1) * x.dim(2) * x.dim(3);
  return Tensor({1, x.dim(1), x.dim(2), x.dim(3)},
                std::vector<float>(x.data.begin() + n * size, x.data.begin() + (n + 1) * size));
}

/// Image n of `expected` (a batch of one) against image n of `actual`.
void expectImageNear(const Tensor &expected, const Tensor &actual, int64_t n, double tolerance) {
  int64_t size = expected.numElements();
  ASSERT_EQ(actual.numElements() % size, 0);
  double worst = 0;
  for (int64_t i = 0; i < size; ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(expected.data[i]) -
                                      actual.data[static_cast<size_t>(n * size + i)]));
  EXPECT_LE(worst, tolerance) << "image " << n;
}

/// The uint8 batch as float32 pixels / 255, as ref::imageToFloat.
Tensor toFloatImages(const std::vector<uint8_t> &pixels, int64_t n, int64_t c, int64_t h,
                     int64_t w) {
  Tensor x = Tensor::zeros({n, c, h, w});
  for (size_t i = 0; i < pixels.size(); ++i)
    x.data[i] = static_cast<float>(pixels[i]);
  Expected<Tensor> y = ref::imageToFloat(x);
  EXPECT_TRUE(y.hasValue());
  return y.hasValue() ? std::move(*y) : x;
}

template <typename T> T take(Expected<T> value) {
  EXPECT_TRUE(value.hasValue()) << value.status().toString();
  return std::move(*value);
}

//===----------------------------------------------------------------------===//
// Conversion, crop
//===----------------------------------------------------------------------===//

TEST(HalideKernels, ToFloatDividesBy255) {
  std::mt19937 rng(1);
  std::vector<uint8_t> pixels(2 * 3 * 5 * 7);
  for (uint8_t &p : pixels)
    p = static_cast<uint8_t>(rng());
  pixels[0] = 0;
  pixels[1] = 255;
  Halide::Runtime::Buffer<const uint8_t> input(pixels.data(), 7, 5, 3, 2);
  Tensor y = Tensor::zeros({2, 3, 5, 7});
  FloatBuffer output = view(y);
  ASSERT_EQ(simclr_halide_to_float(input, output), 0);
  Tensor expected = toFloatImages(pixels, 2, 3, 5, 7);
  for (size_t i = 0; i < pixels.size(); ++i)
    EXPECT_NEAR(y.data[i], expected.data[i], kExact) << i;
}

struct CropCase {
  int64_t channels, height, width, outHeight, outWidth;
};

class HalideCrop : public ::testing::TestWithParam<CropCase> {};

/// Windows of every kind: whole image, corners, single pixels, random.
std::vector<ref::CropWindow> cropWindows(const CropCase &c, std::mt19937 &rng) {
  std::vector<ref::CropWindow> windows = {
      {0, 0, c.height, c.width},
      {c.height - 1, c.width - 1, 1, 1},
      {0, c.width - 2, c.height, 2},
      {c.height - 3, 0, 3, c.width},
  };
  for (int i = 0; i < 6; ++i) {
    int64_t h = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(c.height));
    int64_t w = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(c.width));
    int64_t top = static_cast<int64_t>(rng() % static_cast<uint32_t>(c.height - h + 1));
    int64_t left = static_cast<int64_t>(rng() % static_cast<uint32_t>(c.width - w + 1));
    windows.push_back({top, left, h, w});
  }
  return windows;
}

TEST_P(HalideCrop, MatchesReferenceResizedCrop) {
  const CropCase &c = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(c.channels * 1000 + c.height * 10 + c.outWidth));
  std::vector<ref::CropWindow> windows = cropWindows(c, rng);
  const int64_t n = static_cast<int64_t>(windows.size());

  std::vector<uint8_t> pixels(static_cast<size_t>(n * c.channels * c.height * c.width));
  for (uint8_t &p : pixels)
    p = static_cast<uint8_t>(rng());
  Tensor x = toFloatImages(pixels, n, c.channels, c.height, c.width);

  Halide::Runtime::Buffer<int32_t> windowBuffer(4, static_cast<int>(n));
  for (int i = 0; i < n; ++i) {
    windowBuffer(0, i) = static_cast<int32_t>(windows[i].top);
    windowBuffer(1, i) = static_cast<int32_t>(windows[i].left);
    windowBuffer(2, i) = static_cast<int32_t>(windows[i].height);
    windowBuffer(3, i) = static_cast<int32_t>(windows[i].width);
  }
  Tensor fromFloat = Tensor::zeros({n, c.channels, c.outHeight, c.outWidth});
  Tensor fromBytes = fromFloat;
  FloatBuffer outFloat = view(fromFloat), outBytes = view(fromBytes);
  ASSERT_EQ(simclr_halide_crop_f32(view(x), windowBuffer, static_cast<int32_t>(c.outWidth),
                                   static_cast<int32_t>(c.outHeight), outFloat),
            0);
  Halide::Runtime::Buffer<const uint8_t> input(pixels.data(), static_cast<int>(c.width),
                                               static_cast<int>(c.height),
                                               static_cast<int>(c.channels), static_cast<int>(n));
  ASSERT_EQ(simclr_halide_crop_u8(input, windowBuffer, static_cast<int32_t>(c.outWidth),
                                  static_cast<int32_t>(c.outHeight), outBytes),
            0);
  for (int64_t i = 0; i < n; ++i) {
    Tensor expected =
        take(ref::resizedCrop(imageOf(x, i), windows[static_cast<size_t>(i)], c.outHeight, c.outWidth));
    expectImageNear(expected, fromFloat, i, kInterpolationTolerance);
    expectImageNear(expected, fromBytes, i, kInterpolationTolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, HalideCrop,
                         ::testing::Values(CropCase{1, 28, 28, 28, 28}, CropCase{3, 13, 17, 9, 11},
                                           CropCase{3, 7, 5, 23, 19}, CropCase{1, 9, 31, 32, 3}));

//===----------------------------------------------------------------------===//
// Flip, grayscale, normalize
//===----------------------------------------------------------------------===//

TEST(HalideKernels, FlipMirrorsFlaggedImages) {
  std::mt19937 rng(2);
  for (int64_t channels : {1, 3}) {
    Tensor x = randomImages(5, channels, 7, 13, rng);
    Halide::Runtime::Buffer<uint8_t> flags(5);
    const uint8_t pattern[5] = {1, 0, 0, 1, 1};
    for (int i = 0; i < 5; ++i)
      flags(i) = pattern[i];
    Tensor y = Tensor::zeros(x.shape);
    FloatBuffer output = view(y);
    ASSERT_EQ(simclr_halide_flip(view(x), flags, output), 0);
    for (int64_t i = 0; i < 5; ++i) {
      // p = 1 flips and p = 0 keeps every image, whatever the key.
      Tensor expected =
          take(ref::horizontalFlip(imageOf(x, i), keyFromSeed(0), pattern[i] ? 1.0 : 0.0));
      expectImageNear(expected, y, i, kExact);
    }
  }
}

TEST(HalideKernels, GrayscaleConvertsFlaggedImages) {
  std::mt19937 rng(3);
  Tensor x = randomImages(4, 3, 9, 11, rng);
  Halide::Runtime::Buffer<uint8_t> flags(4);
  const uint8_t pattern[4] = {0, 1, 1, 0};
  for (int i = 0; i < 4; ++i)
    flags(i) = pattern[i];
  Tensor y = Tensor::zeros(x.shape);
  FloatBuffer output = view(y);
  ASSERT_EQ(simclr_halide_grayscale(view(x), flags, output), 0);
  for (int64_t i = 0; i < 4; ++i) {
    Tensor expected = pattern[i] ? take(ref::toGrayscale(imageOf(x, i))) : imageOf(x, i);
    // gray is two multiply-adds: contraction may change its last bit.
    expectImageNear(expected, y, i, kInterpolationTolerance);
  }
}

TEST(HalideKernels, NormalizeMatchesReference) {
  std::mt19937 rng(4);
  Tensor x = randomImages(3, 3, 5, 9, rng);
  std::vector<double> mean = {0.4914, 0.4822, 0.4465}, stddev = {0.247, 0.243, 0.261};
  FloatBuffer meanBuffer(3), stdBuffer(3);
  for (int c = 0; c < 3; ++c) {
    meanBuffer(c) = static_cast<float>(mean[c]);
    stdBuffer(c) = static_cast<float>(stddev[c]);
  }
  Tensor y = Tensor::zeros(x.shape);
  FloatBuffer output = view(y);
  ASSERT_EQ(simclr_halide_normalize(view(x), meanBuffer, stdBuffer, output), 0);
  Tensor expected = take(ref::normalize(x, mean, stddev));
  for (size_t i = 0; i < y.data.size(); ++i)
    EXPECT_EQ(y.data[i], expected.data[i]) << i;
}

//===----------------------------------------------------------------------===//
// Color jitter
//===----------------------------------------------------------------------===//

/// The reference's fixed adjustments of one image in `order` (4 = none).
Tensor referenceJitter(Tensor image, const int32_t order[4], const double factors[4]) {
  for (int k = 0; k < 4; ++k) {
    switch (order[k]) {
    case 0:
      image = take(ref::adjustBrightness(image, factors[0]));
      break;
    case 1:
      image = take(ref::adjustContrast(image, factors[1]));
      break;
    case 2:
      image = take(ref::adjustSaturation(image, factors[2]));
      break;
    case 3:
      image = take(ref::adjustHue(image, factors[3]));
      break;
    default:
      break;
    }
  }
  return image;
}

void runJitterCase(int64_t channels, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t n = 12;
  Tensor x = randomImages(n, channels, 11, 13, rng);
  // A few saturated pixels and gray pixels (max == min in _rgb2hsv).
  x.data[0] = 1.0f;
  x.data[1] = 0.0f;
  if (channels == 3)
    for (int c = 0; c < 3; ++c)
      x.data[static_cast<size_t>(c * 11 * 13 + 5)] = 0.25f;

  const int adjustments = channels == 3 ? 4 : 2;
  std::uniform_real_distribution<double> factor(0.0, 2.0), hue(-0.5, 0.5);
  Halide::Runtime::Buffer<int32_t> ops(4, static_cast<int>(n));
  FloatBuffer factors(6, static_cast<int>(n));
  std::vector<std::array<int32_t, 4>> orders;
  std::vector<std::array<double, 4>> values;
  for (int i = 0; i < n; ++i) {
    std::array<int32_t, 4> order = {0, 1, 2, 3};
    std::shuffle(order.begin(), order.end(), rng);
    for (int32_t &op : order)
      if (op >= adjustments || (i % 5 == 4 && op == 1))
        op = 4; // skipped: C = 1, or a zero-range option
    if (i == 0)
      order = {4, 4, 4, 4}; // not applied
    // Hue shifts at the extremes wrap around the colour circle.
    double shift = i == 1 ? 0.5 : i == 2 ? -0.5 : hue(rng);
    std::array<double, 4> f = {factor(rng), factor(rng), factor(rng), shift};
    for (int k = 0; k < 4; ++k)
      ops(k, i) = order[k];
    factors(0, i) = static_cast<float>(f[0]);
    factors(1, i) = static_cast<float>(f[1]);
    factors(2, i) = static_cast<float>(1.0 - f[1]);
    factors(3, i) = static_cast<float>(f[2]);
    factors(4, i) = static_cast<float>(1.0 - f[2]);
    factors(5, i) = static_cast<float>(f[3]);
    orders.push_back(order);
    values.push_back(f);
  }
  Tensor y = Tensor::zeros(x.shape);
  FloatBuffer output = view(y);
  int result = channels == 3 ? simclr_halide_jitter_c3(view(x), ops, factors, output)
                             : simclr_halide_jitter_c1(view(x), ops, factors, output);
  ASSERT_EQ(result, 0);
  for (int64_t i = 0; i < n; ++i)
    expectImageNear(referenceJitter(imageOf(x, i), orders[i].data(), values[i].data()), y, i,
                    kJitterTolerance);
}

TEST(HalideKernels, JitterRgbMatchesReferenceAdjustments) {
  for (uint32_t seed : {5u, 6u, 7u})
    runJitterCase(3, seed);
}

TEST(HalideKernels, JitterGrayMatchesReferenceAdjustments) {
  for (uint32_t seed : {8u, 9u})
    runJitterCase(1, seed);
}

//===----------------------------------------------------------------------===//
// Gaussian blur
//===----------------------------------------------------------------------===//

struct BlurCase {
  int64_t channels, height, width, kernelSize;
};

class HalideBlur : public ::testing::TestWithParam<BlurCase> {};

TEST_P(HalideBlur, MatchesReferenceBlurWithSigma) {
  const BlurCase &c = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(c.kernelSize * 100 + c.height));
  // Small sigma (nearly the identity), moderate, large (nearly a box), and
  // one image the draw leaves alone (the identity kernel).
  const std::vector<double> sigmas = {0.1, 0.7, 2.0, 25.0, 0.0};
  const int64_t n = static_cast<int64_t>(sigmas.size());
  Tensor x = randomImages(n, c.channels, c.height, c.width, rng);
  FloatBuffer weights(static_cast<int>(c.kernelSize), static_cast<int>(n));
  for (int i = 0; i < n; ++i) {
    std::vector<float> kernel(static_cast<size_t>(c.kernelSize), 0.0f);
    if (sigmas[i] > 0.0)
      kernel = ref::gaussianKernel1d<float>(c.kernelSize, sigmas[i]);
    else
      kernel[static_cast<size_t>(c.kernelSize / 2)] = 1.0f;
    for (int k = 0; k < c.kernelSize; ++k)
      weights(k, i) = kernel[static_cast<size_t>(k)];
  }
  Tensor y = Tensor::zeros(x.shape);
  FloatBuffer output = view(y);
  ASSERT_EQ(simclr_halide_blur(view(x), weights, output), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (sigmas[i] > 0.0)
      expectImageNear(take(ref::blurWithSigma(imageOf(x, i), c.kernelSize, sigmas[i])), y, i,
                      kBlurTolerance);
    else
      expectImageNear(imageOf(x, i), y, i, kExact);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, HalideBlur,
                         ::testing::Values(BlurCase{3, 13, 17, 3}, BlurCase{3, 5, 7, 9},
                                           BlurCase{1, 28, 28, 9}, BlurCase{3, 96, 96, 9},
                                           BlurCase{1, 1, 9, 1}));

} // namespace
} // namespace simclr
