//===- HalideAugmenterTest.cpp - HalideAugmenter vs the reference views ---===//
//
// Whole views of the SimCLR policies (CIFAR-10, STL-10 with blur,
// Fashion-MNIST) from createHalideAugmenter against createReferenceAugmenter
// (runtime/Pipeline, lib/Reference's kernels), determinism over Halide
// thread counts and batch sizes, and the errors a user can cause.
//
// Tolerance. Random parameters are sampled by the same functions on both
// sides, so every draw (window, flip, order, factors, sigma) is identical and
// only float rounding differs (HalideKernelsTest.cpp: a few ulps per kernel,
// from fused multiply-adds). Chained over crop, jitter, grayscale and blur
// that stays below 1e-5 on [0, 1] pixels; normalize then divides by std >=
// 0.24 (CIFAR) or 0.353 (Fashion-MNIST), so views are compared within
// 1e-5 / 0.24 ~ 4.2e-5, rounded up to kViewTolerance.
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/HalideAugmenter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <random>
#include <vector>

namespace simclr {
namespace {

constexpr double kViewTolerance = 5e-5;

AugmentationStep crop(int64_t size, double scaleLo) {
  AugmentationStep step;
  step.kind = AugmentationKind::kRandomResizedCrop;
  step.scale = {scaleLo, 1.0};
  step.size = std::array<int64_t, 2>{size, size};
  return step;
}

AugmentationStep withProbability(AugmentationKind kind, double p) {
  AugmentationStep step;
  step.kind = kind;
  step.probability = p;
  return step;
}

AugmentationStep jitter(double b, double c, double s, double h) {
  AugmentationStep step = withProbability(AugmentationKind::kColorJitter, 0.8);
  step.brightness = b;
  step.contrast = c;
  step.saturation = s;
  step.hue = h;
  return step;
}

AugmentationStep normalize(std::vector<double> mean, std::vector<double> stddev) {
  AugmentationStep step;
  step.kind = AugmentationKind::kNormalize;
  step.mean = std::move(mean);
  step.std = std::move(stddev);
  return step;
}

/// SimCLR's CIFAR-10 policy (Chen et al. 2020, appendix B.9).
AugmentationPolicy cifarPolicy() {
  return {crop(32, 0.08), withProbability(AugmentationKind::kHorizontalFlip, 0.5),
          jitter(0.4, 0.4, 0.4, 0.1), withProbability(AugmentationKind::kRandomGrayscale, 0.2),
          normalize({0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616})};
}

/// The STL-10 policy: CIFAR's plus a 9-tap Gaussian blur.
AugmentationPolicy stl10Policy() {
  AugmentationStep blur = withProbability(AugmentationKind::kGaussianBlur, 0.5);
  blur.kernelSize = 9;
  blur.sigma = {0.1, 2.0};
  return {crop(96, 0.08),
          withProbability(AugmentationKind::kHorizontalFlip, 0.5),
          jitter(0.4, 0.4, 0.4, 0.1),
          withProbability(AugmentationKind::kRandomGrayscale, 0.2),
          blur,
          normalize({0.4467, 0.4398, 0.4066}, {0.2603, 0.2566, 0.2713})};
}

/// Fashion-MNIST: one channel, brightness and contrast only.
AugmentationPolicy fashionPolicy() {
  return {crop(28, 0.2), withProbability(AugmentationKind::kHorizontalFlip, 0.5),
          jitter(0.4, 0.4, 0.0, 0.0), normalize({0.2860}, {0.3530})};
}

struct Batch {
  std::vector<uint8_t> pixels;
  ImageBatchView view;
};

Batch randomBatch(int64_t n, int64_t c, int64_t h, int64_t w, uint32_t seed) {
  Batch batch;
  std::mt19937 rng(seed);
  batch.pixels.resize(static_cast<size_t>(n * c * h * w));
  // Smooth images with noise, so crops and blurs see structure.
  for (int64_t i = 0; i < n * c; ++i)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        double base = 127.5 + 100.0 * std::sin(0.3 * x + 0.2 * y + static_cast<double>(i));
        batch.pixels[static_cast<size_t>((i * h + y) * w + x)] =
            static_cast<uint8_t>(std::min(255.0, std::max(0.0, base + (rng() % 41) - 20.0)));
      }
  batch.view = ImageBatchView{batch.pixels.data(), n, c, h, w};
  return batch;
}

/// View `key` of `batch` from the augmenter `create` makes for `policy`.
template <typename Create>
std::vector<float> viewOf(Create create, const AugmentationPolicy &policy, const Batch &batch,
                          RngKey key) {
  Expected<std::unique_ptr<Augmenter>> augmenter = create(policy);
  EXPECT_TRUE(augmenter.hasValue()) << augmenter.status().toString();
  if (!augmenter)
    return {};
  auto [h, w] = (*augmenter)->outputSize(batch.view.height, batch.view.width);
  std::vector<float> out(static_cast<size_t>(batch.view.count * batch.view.channels * h * w));
  Status status = (*augmenter)->augmentView(batch.view, key, out.data(),
                                            static_cast<int64_t>(out.size()));
  EXPECT_TRUE(status.isOk()) << status.toString();
  return out;
}

std::vector<float> halideView(const AugmentationPolicy &policy, const Batch &batch, RngKey key) {
  return viewOf(createHalideAugmenter, policy, batch, key);
}

void expectMatchesReference(const AugmentationPolicy &policy, const Batch &batch) {
  for (uint64_t view = 0; view < 2; ++view) {
    RngKey key = foldIn(keyFromSeed(20240601), view);
    std::vector<float> actual = halideView(policy, batch, key);
    std::vector<float> expected = viewOf(createReferenceAugmenter, policy, batch, key);
    ASSERT_EQ(expected.size(), actual.size());
    double worst = 0;
    for (size_t i = 0; i < actual.size(); ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(actual[i]) - expected[i]));
    EXPECT_LE(worst, kViewTolerance) << "view " << view;
    ::testing::Test::RecordProperty("max_abs_difference_view" + std::to_string(view), std::to_string(worst));
  }
}

TEST(HalideAugmenter, CifarPolicyMatchesReference) {
  expectMatchesReference(cifarPolicy(), randomBatch(64, 3, 32, 32, 1));
}

TEST(HalideAugmenter, Stl10PolicyWithBlurMatchesReference) {
  expectMatchesReference(stl10Policy(), randomBatch(12, 3, 96, 96, 2));
}

TEST(HalideAugmenter, FashionMnistPolicyMatchesReference) {
  expectMatchesReference(fashionPolicy(), randomBatch(64, 1, 28, 28, 3));
}

TEST(HalideAugmenter, PolicyWithoutLeadingCropConvertsFirst) {
  // Odd sizes, an upscaling crop in the middle and blur after it.
  AugmentationStep blur = withProbability(AugmentationKind::kGaussianBlur, 0.7);
  blur.kernelSize = 5;
  blur.sigma = {0.1, 3.0};
  AugmentationPolicy policy = {withProbability(AugmentationKind::kHorizontalFlip, 0.5),
                               jitter(0.8, 0.8, 0.8, 0.5), crop(19, 0.3), blur,
                               withProbability(AugmentationKind::kRandomGrayscale, 0.5)};
  expectMatchesReference(policy, randomBatch(9, 3, 13, 11, 4));
  expectMatchesReference({}, randomBatch(3, 1, 5, 7, 5));
  expectMatchesReference({withProbability(AugmentationKind::kHorizontalFlip, 0.5)},
                         randomBatch(1, 1, 1, 1, 6));
}

/// Where the child run of IdenticalBytesForOneAndTwoThreads writes its view.
constexpr const char *kViewFileVariable = "SIMCLR_HALIDE_VIEW_FILE";

/// Helper of IdenticalBytesForOneAndTwoThreads, run by it in a child process
/// (HL_NUM_THREADS is read when Halide's pool starts, and the pool never
/// shrinks); skipped in an ordinary run.
TEST(HalideAugmenterChild, WriteStl10View) {
  const char *path = std::getenv(kViewFileVariable);
  if (!path)
    GTEST_SKIP() << "runs only as IdenticalBytesForOneAndTwoThreads' child";
  Batch batch = randomBatch(48, 3, 96, 96, 6);
  std::vector<float> view = halideView(stl10Policy(), batch, keyFromSeed(7));
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char *>(view.data()),
             static_cast<std::streamsize>(view.size() * sizeof(float)));
  ASSERT_TRUE(file.good());
}

TEST(HalideAugmenter, IdenticalBytesForOneAndTwoThreads) {
  const char *tmp = std::getenv("SIMCLR_TEST_TMPDIR");
  std::string dir = tmp ? tmp : "/tmp";
  // This test binary, run again with one test selected.
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> views;
  for (int threads : {1, 2}) {
    std::string path = dir + "/halide_view_" + std::to_string(threads) + ".bin";
    std::remove(path.c_str());
    std::string command = "HL_NUM_THREADS=" + std::to_string(threads) + " " + kViewFileVariable +
                          "=" + path + " '" + self +
                          "' --gtest_filter=HalideAugmenterChild.WriteStl10View > /dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream file(path, std::ios::binary);
    views.emplace_back(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    EXPECT_EQ(views.back().size(), 48u * 3 * 96 * 96 * sizeof(float)) << path;
  }
  EXPECT_TRUE(views[0] == views[1]);
}

TEST(HalideAugmenter, ImageDependsOnlyOnKeyIndexAndPixels) {
  Batch whole = randomBatch(16, 3, 32, 32, 8);
  Batch prefix = whole;
  prefix.view.pixels = prefix.pixels.data();
  prefix.view.count = 5;
  RngKey key = keyFromSeed(9);
  std::vector<float> all = halideView(cifarPolicy(), whole, key);
  std::vector<float> some = halideView(cifarPolicy(), prefix, key);
  ASSERT_EQ(some.size() * 16, all.size() * 5);
  EXPECT_EQ(std::memcmp(all.data(), some.data(), some.size() * sizeof(float)), 0);
}

// A data-parallel rank's share (issue 13): images [5, 16) augmented alone
// with firstIndex 5 are, bit for bit, those images of the whole batch.
TEST(HalideAugmenter, ShareWithFirstIndexEqualsThatPartOfTheWholeBatch) {
  Batch whole = randomBatch(16, 3, 32, 32, 8);
  constexpr int64_t kFirst = 5;
  Batch suffix = whole;
  suffix.view.pixels = suffix.pixels.data() + kFirst * 3 * 32 * 32;
  suffix.view.count = 16 - kFirst;
  suffix.view.firstIndex = kFirst;
  RngKey key = keyFromSeed(9);
  std::vector<float> all = halideView(cifarPolicy(), whole, key);
  std::vector<float> share = halideView(cifarPolicy(), suffix, key);
  ASSERT_EQ(share.size() * 16, all.size() * (16 - kFirst));
  EXPECT_EQ(std::memcmp(all.data() + (all.size() - share.size()), share.data(),
                        share.size() * sizeof(float)),
            0);
}

TEST(HalideAugmenter, OutputSizeIsTheLastCrop) {
  Expected<std::unique_ptr<Augmenter>> augmenter = createHalideAugmenter(
      {crop(24, 0.5), withProbability(AugmentationKind::kHorizontalFlip, 0.5), crop(16, 0.5)});
  ASSERT_TRUE(augmenter.hasValue());
  EXPECT_EQ((*augmenter)->outputSize(32, 40), (std::pair<int64_t, int64_t>{16, 16}));
  Expected<std::unique_ptr<Augmenter>> plain = createHalideAugmenter({});
  ASSERT_TRUE(plain.hasValue());
  EXPECT_EQ((*plain)->outputSize(32, 40), (std::pair<int64_t, int64_t>{32, 40}));
}

TEST(HalideAugmenter, InvalidPolicyNamesTheStep) {
  Expected<std::unique_ptr<Augmenter>> augmenter = createHalideAugmenter(
      {crop(32, 0.08), withProbability(AugmentationKind::kHorizontalFlip, 1.5)});
  ASSERT_FALSE(augmenter.hasValue());
  EXPECT_NE(augmenter.status().message().find("augment[1] (horizontal_flip)"), std::string::npos)
      << augmenter.status().message();

  AugmentationStep evenBlur = withProbability(AugmentationKind::kGaussianBlur, 0.5);
  evenBlur.kernelSize = 4;
  EXPECT_FALSE(createHalideAugmenter({evenBlur}).hasValue());
  EXPECT_FALSE(createHalideAugmenter({normalize({0.5}, {0.0})}).hasValue());
  EXPECT_FALSE(createHalideAugmenter({jitter(0.4, 0.4, 0.4, 0.6)}).hasValue());
}

TEST(HalideAugmenter, ImageDependentErrors) {
  Batch gray = randomBatch(2, 1, 8, 8, 10);
  Batch empty = gray;
  empty.view.count = 0;
  std::vector<float> out(2 * 3 * 32 * 32);
  auto run = [&](AugmentationPolicy policy, const Batch &batch, int64_t capacity) {
    Expected<std::unique_ptr<Augmenter>> augmenter = createHalideAugmenter(std::move(policy));
    EXPECT_TRUE(augmenter.hasValue());
    return (*augmenter)->augmentView(batch.view, keyFromSeed(1), out.data(), capacity);
  };
  int64_t capacity = static_cast<int64_t>(out.size());
  Status grayscale = run({withProbability(AugmentationKind::kRandomGrayscale, 0.2)}, gray, capacity);
  EXPECT_FALSE(grayscale.isOk());
  EXPECT_NE(grayscale.message().find("augment[0] (random_grayscale)"), std::string::npos);
  EXPECT_FALSE(run({jitter(0.4, 0.4, 0.4, 0.0)}, gray, capacity).isOk());
  EXPECT_FALSE(run({normalize({0.5, 0.5, 0.5}, {0.2, 0.2, 0.2})}, gray, capacity).isOk());
  AugmentationStep bigBlur = withProbability(AugmentationKind::kGaussianBlur, 0.5);
  bigBlur.kernelSize = 17; // > 2 * 8 - 1
  EXPECT_FALSE(run({bigBlur}, gray, capacity).isOk());
  EXPECT_FALSE(run({crop(32, 0.5)}, gray, 2 * 32 * 32 - 1).isOk());
  EXPECT_TRUE(run({crop(32, 0.5)}, gray, 2 * 32 * 32).isOk());
  EXPECT_FALSE(run({crop(32, 0.5)}, empty, capacity).isOk()); // as the reference
}

} // namespace
} // namespace simclr
