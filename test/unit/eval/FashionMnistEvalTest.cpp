//===- FashionMnistEvalTest.cpp - Raw-pixel baselines on the real data ----===//
//
// Subset test: 10000 train / 2000 test images, kNN on raw pixels (seconds).
// Full run (60000 / 10000, kNN, linear probe, PCA picture, a 64-dim kNN
// timing): set SIMCLR_EVAL_FULL=1; it prints the table docs record and takes
// minutes, so ctest skips it.
//
//===----------------------------------------------------------------------===//
#include "simclr/Eval/Baselines.h"
#include "simclr/Eval/EmbeddingPlot.h"
#include "simclr/Eval/EvalReport.h"
#include "simclr/Eval/Knn.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

namespace simclr::eval {
namespace {

/// Raw-pixel kNN-20 on a 10000-image subset measures 80.9% (84.4% on the
/// full set); 75% catches a broken pipeline. The weighted kNN-200 measures
/// 73.7% here (79.1% on the full set): raw-pixel cosines of the nearest
/// neighbours are all close to 1, so exp(s / 0.07) weighs 200 neighbours
/// almost equally, and the subset has few per class.
constexpr double kSubsetMinimumMajorityTop1 = 0.75;
constexpr double kSubsetMinimumWeightedTop1 = 0.70;

bool haveFashionMnist() {
  return std::ifstream(std::string(kDefaultFashionMnistDir) +
                       "/train-images-idx3-ubyte.gz")
      .good();
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

TEST(EvalFashionMnistTest, RawPixelKnnOnSubset) {
  if (!haveFashionMnist())
    GTEST_SKIP() << "no Fashion-MNIST at " << kDefaultFashionMnistDir;
  auto train = readFashionMnist(kDefaultFashionMnistDir, Split::kTrain);
  auto test = readFashionMnist(kDefaultFashionMnistDir, Split::kTest);
  ASSERT_TRUE(train && test);
  auto trainSubset = subset(*train, 0, 10000);
  auto testSubset = subset(*test, 0, 2000);
  ASSERT_TRUE(trainSubset && testSubset);
  auto trainFeatures = rawPixelFeatures(*trainSubset);
  auto testFeatures = rawPixelFeatures(*testSubset);
  ASSERT_TRUE(trainFeatures && testFeatures);
  EXPECT_EQ(trainFeatures->dim, 784);
  auto results = knnClassifyMany(
      *trainFeatures, *testFeatures,
      {KnnOptions::weighted(), KnnOptions::majority()});
  ASSERT_TRUE(results) << results.status().toString();
  std::printf("raw pixels, 10000/2000: kNN-200 weighted %.4f, kNN-20 %.4f\n",
              (*results)[0].top1(), (*results)[1].top1());
  EXPECT_GT((*results)[0].top1(), kSubsetMinimumWeightedTop1);
  EXPECT_GT((*results)[1].top1(), kSubsetMinimumMajorityTop1);
}

TEST(EvalFashionMnistTest, FullRawPixelBaseline) {
  if (!std::getenv("SIMCLR_EVAL_FULL"))
    GTEST_SKIP() << "set SIMCLR_EVAL_FULL=1 for the full (minutes-long) run";
  if (!haveFashionMnist())
    GTEST_SKIP() << "no Fashion-MNIST at " << kDefaultFashionMnistDir;
  auto train = readFashionMnist(kDefaultFashionMnistDir, Split::kTrain);
  auto test = readFashionMnist(kDefaultFashionMnistDir, Split::kTest);
  ASSERT_TRUE(train && test);
  auto trainFeatures = rawPixelFeatures(*train);
  auto testFeatures = rawPixelFeatures(*test);
  ASSERT_TRUE(trainFeatures && testFeatures);

  LinearProbeOptions linear;
  auto lastFit = std::chrono::steady_clock::now();
  linear.onFit = [&](const LinearFit &fit, double validationTop1) {
    std::printf("  fit wd %g: %d iterations, max|g| %.2e (%s), loss %.6f, "
                "validation %.4f, %.1f s\n",
                fit.weightDecay, fit.iterations, fit.gradientMaxNorm,
                lbfgsStopName(fit.stop), fit.loss, validationTop1,
                secondsSince(lastFit));
    std::fflush(stdout);
    lastFit = std::chrono::steady_clock::now();
  };
  auto row = evaluateFeatures("raw pixels", *trainFeatures, *testFeatures,
                              true, linear);
  ASSERT_TRUE(row) << row.status().toString();
  std::printf("%s", formatEvalTable({*row}).c_str());
  std::printf("kNN (both) %.2f s, linear probe %.2f s\n", row->knnSeconds,
              row->linearSeconds);

  const char *dir = std::getenv("SIMCLR_TEST_TMPDIR");
  if (dir) {
    EmbeddingPlotOptions plot;
    plot.classNames = test->classNames;
    plot.title = "Fashion-MNIST test set, raw pixels";
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(writeEmbeddingPlotSvg(std::string(dir) + "/raw-pixels-pca.svg",
                                      *testFeatures, plot));
    std::printf("PCA picture %.2f s: %s/raw-pixels-pca.svg\n",
                secondsSince(start), dir);
    ASSERT_TRUE(writeEvalReportJson(std::string(dir) + "/raw-pixels.json",
                                    {*row}));
  }

  // The kNN budget of the brief: 60000 x 10000 features of dim 64.
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto random = [&](int64_t count) {
    FeatureMatrix f;
    f.count = count;
    f.dim = 64;
    f.values.resize(count * 64);
    for (float &v : f.values)
      v = normal(rng);
    f.labels.resize(count);
    for (int64_t i = 0; i < count; ++i)
      f.labels[i] = static_cast<int32_t>(i % 10);
    return f;
  };
  FeatureMatrix a = random(60000), b = random(10000);
  auto start = std::chrono::steady_clock::now();
  auto knn = knnClassifyMany(a, b,
                             {KnnOptions::weighted(), KnnOptions::majority()});
  ASSERT_TRUE(knn);
  std::printf("kNN-200 + kNN-20, 60000 x 10000 x 64: %.2f s\n",
              secondsSince(start));
}

} // namespace
} // namespace simclr::eval
