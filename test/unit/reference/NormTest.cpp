//===- NormTest.cpp - Tests for reference batch norm and L2 normalization -===//
#include "TestUtil.h"

namespace simclr::ref {
namespace {

using testing::take;
using testing::TensorD;

/// Closed-form values computed in double; only rounding separates them.
constexpr double kClose = 1e-12;
/// PyTorch's BatchNorm default eps, used where a realistic eps is wanted.
constexpr double kBatchNormEps = 1e-5;

TEST(BatchNormTest, KnownVector) {
  TensorD x({4, 1}, {1, 2, 3, 4});
  TensorD gamma({1}, {2});
  TensorD beta({1}, {1});
  BatchNormTrainResult<double> r =
      take(batchNormTrain(x, gamma, beta, kBatchNormEps));
  // mean 2.5; biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25.
  testing::expectTensorNear(r.batchMean, {2.5}, kClose);
  testing::expectTensorNear(r.batchVar, {1.25}, kClose);
  double invStd = 1 / std::sqrt(1.25 + kBatchNormEps);
  testing::expectTensorNear(r.y,
                            {-1.5 * invStd * 2 + 1, -0.5 * invStd * 2 + 1,
                             0.5 * invStd * 2 + 1, 1.5 * invStd * 2 + 1},
                            kClose);
}

TEST(BatchNormTest, FourDimensionalStatisticsArePerChannel) {
  // x[2,2,1,2]: channel 0 holds {1,3} and {5,7}; channel 1 {10,10} and {20,40}.
  TensorD x({2, 2, 1, 2}, {1, 3, 10, 10, 5, 7, 20, 40});
  TensorD gamma({2}, {1, 1});
  TensorD beta({2}, {0, 0});
  BatchNormTrainResult<double> r = take(batchNormTrain(x, gamma, beta, 0.0));
  testing::expectTensorNear(r.batchMean, {4, 20}, kClose);
  // (9+1+1+9)/4 = 5 and (100+100+0+400)/4 = 150.
  testing::expectTensorNear(r.batchVar, {5, 150}, kClose);
  EXPECT_NEAR(r.y.at(1, 1, 0, 1), 20 / std::sqrt(150.0), kClose);
}

TEST(BatchNormTest, RunningStatsUseUnbiasedVariance) {
  TensorD runningMean({2}, {0, 1});
  TensorD runningVar({2}, {1, 2});
  TensorD batchMean({2}, {2, 3});
  TensorD batchVar({2}, {1.25, 0.5});
  constexpr double kMomentum = 0.1;
  constexpr int64_t kCount = 4;
  ASSERT_TRUE(runningStatsUpdate(runningMean, runningVar, batchMean, batchVar,
                                 kCount, kMomentum));
  testing::expectTensorNear(runningMean, {0.9 * 0 + 0.1 * 2, 0.9 * 1 + 0.1 * 3},
                            kClose);
  testing::expectTensorNear(
      runningVar, {0.9 * 1 + 0.1 * 1.25 * 4 / 3, 0.9 * 2 + 0.1 * 0.5 * 4 / 3},
      kClose);
  EXPECT_FALSE(runningStatsUpdate(runningMean, runningVar, batchMean, batchVar,
                                  1, kMomentum))
      << "count 1 has no unbiased variance";
}

TEST(BatchNormTest, InferenceUsesGivenStatistics) {
  TensorD x({2, 2}, {1, 2, 3, 4});
  TensorD gamma({2}, {2, 3});
  TensorD beta({2}, {0.5, -1});
  TensorD mean({2}, {1, 1});
  TensorD var({2}, {4, 9});
  TensorD y = take(batchNormInference(x, gamma, beta, mean, var, 0.0));
  testing::expectTensorNear(
      y, {0 * 2 + 0.5, 1.0 / 3 * 3 - 1, 2.0 / 2 * 2 + 0.5, 3.0 / 3 * 3 - 1},
      kClose);
}

class BatchNormGradTest
    : public ::testing::TestWithParam<std::vector<int64_t>> {};

TEST_P(BatchNormGradTest, BackwardMatchesFiniteDifferences) {
  std::mt19937_64 rng(77);
  TensorD x = testing::randomTensor(GetParam(), rng, -2, 3);
  int64_t channels = x.dim(1);
  TensorD gamma = testing::randomTensor({channels}, rng, 0.5, 1.5);
  TensorD beta = testing::randomTensor({channels}, rng);
  BatchNormTrainResult<double> fwd =
      take(batchNormTrain(x, gamma, beta, kBatchNormEps));
  TensorD r = testing::randomTensor(x.shape, rng);
  BatchNormGrads<double> grads = take(batchNormTrainBackward(
      r, x, gamma, fwd.batchMean, fwd.batchVar, kBatchNormEps));
  auto loss = [&](const TensorD &xp, const TensorD &g, const TensorD &b) {
    return testing::dot(take(batchNormTrain(xp, g, b, kBatchNormEps)).y, r);
  };
  testing::expectGradientMatches(
      "dx", grads.dx, [&](const TensorD &p) { return loss(p, gamma, beta); },
      x);
  testing::expectGradientMatches(
      "dgamma", grads.dgamma,
      [&](const TensorD &p) { return loss(x, p, beta); }, gamma);
  testing::expectGradientMatches(
      "dbeta", grads.dbeta, [&](const TensorD &p) { return loss(x, gamma, p); },
      beta);
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormGradTest,
                         ::testing::Values(std::vector<int64_t>{5, 3},
                                           std::vector<int64_t>{3, 2, 3, 5},
                                           std::vector<int64_t>{2, 4, 1, 1}));

TEST(BatchNormTest, RejectsBadShapes) {
  TensorD x = TensorD::zeros({4, 3});
  TensorD good = TensorD::zeros({3});
  TensorD bad = TensorD::zeros({2});
  Expected<BatchNormTrainResult<double>> r = batchNormTrain(x, bad, good, 0.0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("batchNormTrain"), std::string::npos);
  EXPECT_NE(r.status().message().find("gamma"), std::string::npos);
  EXPECT_FALSE(batchNormTrain(TensorD::zeros({1, 3}), good, good, 0.0))
      << "one value per channel";
  EXPECT_FALSE(batchNormTrain(TensorD::zeros({2, 3, 4}), good, good, 0.0))
      << "rank 3";
}

TEST(L2NormalizeTest, UnitRowsAndZeroRow) {
  TensorD x({2, 2}, {3, 4, 0, 0});
  TensorD y = take(l2Normalize(x));
  // A zero row divides by eps and stays zero, as F.normalize.
  testing::expectTensorNear(y, {0.6, 0.8, 0, 0}, kClose);
}

TEST(NormalizeTest, PerChannel) {
  // x[1,2,1,2]: channel 0 {1, 3} with mean 1, std 2; channel 1 {5, 9} with
  // mean 5, std 4.
  TensorD x({1, 2, 1, 2}, {1, 3, 5, 9});
  testing::expectTensorNear(take(normalize(x, {1, 5}, {2, 4})), {0, 1, 0, 1},
                            kClose);
  EXPECT_FALSE(normalize(x, {1}, {2})) << "one mean for two channels";
  EXPECT_FALSE(normalize(x, {1, 5}, {2, 0})) << "std must be positive";
  EXPECT_FALSE(normalize(TensorD::zeros({2, 2}), {0, 0}, {1, 1}));
}

TEST(SumToChannelsTest, TwoAndFourDimensional) {
  TensorD x2({2, 2}, {1, 2, 3, 4});
  testing::expectTensorNear(take(sumToChannels(x2)), {4, 6}, kClose);
  // x[2,2,1,2]: channel 0 holds {1,2} and {5,6}; channel 1 {3,4} and {7,8}.
  TensorD x4({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  testing::expectTensorNear(take(sumToChannels(x4)), {14, 22}, kClose);
  EXPECT_FALSE(sumToChannels(TensorD::zeros({3})));
}

TEST(L2NormalizeTest, BackwardMatchesFiniteDifferences) {
  std::mt19937_64 rng(3);
  TensorD x = testing::randomTensor({5, 7}, rng);
  TensorD r = testing::randomTensor({5, 7}, rng);
  TensorD dx = take(l2NormalizeBackward(r, x));
  testing::expectGradientMatches(
      "dx", dx,
      [&](const TensorD &p) { return testing::dot(take(l2Normalize(p)), r); },
      x);
}

TEST(L2NormalizeTest, ClampedRowIsLinear) {
  // Row norm 5e-15 < eps: y = x / eps, so dx = dy / eps exactly.
  constexpr double kTinyScale = 1e-15;
  TensorD x({1, 2}, {3 * kTinyScale, 4 * kTinyScale});
  TensorD dy({1, 2}, {0.25, -0.5});
  TensorD dx = take(l2NormalizeBackward(dy, x));
  testing::expectTensorNear(
      dx, {0.25 / kL2NormalizeDefaultEps, -0.5 / kL2NormalizeDefaultEps}, 1.0);
  testing::expectTensorNear(take(l2Normalize(x)), {3e-3, 4e-3}, kClose);
}

} // namespace
} // namespace simclr::ref
