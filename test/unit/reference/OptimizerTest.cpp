//===- OptimizerTest.cpp - Tests for reference optimizers and LR schedule -===//
#include "TestUtil.h"

namespace simclr::ref {
namespace {

using testing::TensorD;

/// Expected values below are written out by hand; only double rounding of a
/// few operations separates them from the kernels.
constexpr double kClose = 1e-12;

TEST(SgdTest, TwoStepsWithMomentumAndWeightDecay) {
  TensorD p({2}, {1, -2});
  TensorD buf = TensorD::zeros({2});
  SgdOptions options{/*learningRate=*/0.1, /*momentum=*/0.9,
                     /*weightDecay=*/0.01};
  ASSERT_TRUE(sgdStep(p, TensorD({2}, {0.5, 0.25}), buf, options));
  // g = [0.5 + 0.01, 0.25 - 0.02] = [0.51, 0.23] = buf; p -= 0.1 * buf.
  testing::expectTensorNear(buf, {0.51, 0.23}, kClose);
  testing::expectTensorNear(p, {0.949, -2.023}, kClose);
  ASSERT_TRUE(sgdStep(p, TensorD({2}, {-0.1, 0.3}), buf, options));
  // g = [-0.1 + 0.00949, 0.3 - 0.02023] = [-0.09051, 0.27977];
  // buf = 0.9 * [0.51, 0.23] + g = [0.36849, 0.48677].
  testing::expectTensorNear(buf, {0.36849, 0.48677}, kClose);
  testing::expectTensorNear(p, {0.949 - 0.036849, -2.023 - 0.048677}, kClose);
}

TEST(AdamWTest, TwoSteps) {
  TensorD p({2}, {1, -0.5});
  TensorD m = TensorD::zeros({2});
  TensorD v = TensorD::zeros({2});
  AdamWOptions options{/*learningRate=*/0.01, /*beta1=*/0.9, /*beta2=*/0.999,
                       /*epsilon=*/1e-8, /*weightDecay=*/0.1};
  ASSERT_TRUE(adamWStep(p, TensorD({2}, {0.2, -0.1}), m, v, 1, options));
  // Step 1: decay by 1 - 0.001; mhat = g and sqrt(vhat) = |g|, so the step
  // is lr * g / (|g| + eps).
  testing::expectTensorNear(m, {0.02, -0.01}, kClose);
  testing::expectTensorNear(v, {4e-5, 1e-5}, kClose);
  double pa = 0.999 - 0.01 * 0.2 / (0.2 + 1e-8);
  double pb = -0.4995 + 0.01 * 0.1 / (0.1 + 1e-8);
  testing::expectTensorNear(p, {pa, pb}, kClose);

  ASSERT_TRUE(adamWStep(p, TensorD({2}, {0.1, 0.3}), m, v, 2, options));
  // Step 2: m = [0.018 + 0.01, -0.009 + 0.03]; v = [3.996e-5 + 1e-5,
  // 9.99e-6 + 9e-5]; bias corrections 1 - 0.81 and 1 - 0.998001.
  testing::expectTensorNear(m, {0.028, 0.021}, kClose);
  testing::expectTensorNear(v, {4.996e-5, 9.999e-5}, kClose);
  double qa = pa * 0.999 -
              0.01 * (0.028 / 0.19) / (std::sqrt(4.996e-5 / 0.001999) + 1e-8);
  double qb = pb * 0.999 -
              0.01 * (0.021 / 0.19) / (std::sqrt(9.999e-5 / 0.001999) + 1e-8);
  testing::expectTensorNear(p, {qa, qb}, kClose);
  EXPECT_FALSE(adamWStep(p, TensorD({2}, {0, 0}), m, v, 0, options))
      << "steps are 1-based";
}

TEST(LarsTest, TwoStepsWithLayerAdaptation) {
  TensorD p({2}, {3, 4});
  TensorD velocity = TensorD::zeros({2});
  LarsOptions options{/*learningRate=*/2, /*momentum=*/0.9,
                      /*weightDecay=*/0.1, /*eta=*/0.001,
                      /*layerAdaptation=*/true};
  ASSERT_TRUE(larsStep(p, TensorD({2}, {0.3, -0.4}), velocity, options));
  // g = [0.3 + 0.3, -0.4 + 0.4] = [0.6, 0]; trust = 0.001 * 5 / 0.6;
  // v = 2 * trust * g = [0.01, 0].
  testing::expectTensorNear(velocity, {0.01, 0}, kClose);
  testing::expectTensorNear(p, {2.99, 4}, kClose);

  ASSERT_TRUE(larsStep(p, TensorD({2}, {0.1, 0.2}), velocity, options));
  // g = [0.1 + 0.299, 0.2 + 0.4]; ||p||^2 = 2.99^2 + 16 = 24.9401,
  // ||g||^2 = 0.399^2 + 0.36 = 0.519201.
  double trust = 0.001 * std::sqrt(24.9401) / std::sqrt(0.519201);
  double va = 0.9 * 0.01 + 2 * trust * 0.399;
  double vb = 2 * trust * 0.6;
  testing::expectTensorNear(velocity, {va, vb}, kClose);
  testing::expectTensorNear(p, {2.99 - va, 4 - vb}, kClose);
}

TEST(LarsTest, ExcludedParametersSkipAdaptationAndWeightDecay) {
  TensorD p({2}, {3, 4});
  TensorD velocity = TensorD::zeros({2});
  LarsOptions options{/*learningRate=*/2, /*momentum=*/0.9,
                      /*weightDecay=*/0.1, /*eta=*/0.001,
                      /*layerAdaptation=*/false};
  ASSERT_TRUE(larsStep(p, TensorD({2}, {0.3, -0.4}), velocity, options));
  // Plain momentum with lr 2: v = [0.6, -0.8].
  testing::expectTensorNear(p, {2.4, 4.8}, kClose);
  ASSERT_TRUE(larsStep(p, TensorD({2}, {0.1, 0.2}), velocity, options));
  // v = 0.9 * [0.6, -0.8] + 2 * [0.1, 0.2] = [0.74, -0.32].
  testing::expectTensorNear(velocity, {0.74, -0.32}, kClose);
  testing::expectTensorNear(p, {1.66, 5.12}, kClose);
}

TEST(LarsTest, ZeroParameterNormFallsBackToTrustOne) {
  TensorD p = TensorD::zeros({2});
  TensorD velocity = TensorD::zeros({2});
  LarsOptions options{/*learningRate=*/2, /*momentum=*/0.9,
                      /*weightDecay=*/0.1, /*eta=*/0.001,
                      /*layerAdaptation=*/true};
  ASSERT_TRUE(larsStep(p, TensorD({2}, {1, -1}), velocity, options));
  testing::expectTensorNear(p, {-2, 2}, kClose);
}

TEST(OptimizerTest, RejectsMismatchedState) {
  TensorD p = TensorD::zeros({2, 3});
  TensorD buf = TensorD::zeros({3, 2});
  Status status = sgdStep(p, TensorD::zeros({2, 3}), buf, SgdOptions{});
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("momentumBuffer"), std::string::npos);
  EXPECT_NE(status.message().find("[3, 2]"), std::string::npos);
  TensorD velocity = TensorD::zeros({2, 3});
  EXPECT_FALSE(larsStep(p, TensorD::zeros({6}), velocity, LarsOptions{}));
}

/// SimCLR's LR for batch 4096: 0.3 * 4096 / 256.
constexpr double kBaseLr = 4.8;

double lrAt(int64_t step, double finalLr, int64_t warmup, int64_t total) {
  return testing::take(lrWarmupCosine(step, kBaseLr, finalLr, warmup, total));
}

TEST(LrScheduleTest, WarmupThenCosine) {
  constexpr int64_t kWarmup = 10, kTotal = 110;
  EXPECT_NEAR(lrAt(0, 0, kWarmup, kTotal), 0, kClose);
  EXPECT_NEAR(lrAt(5, 0, kWarmup, kTotal), 2.4, kClose);
  EXPECT_NEAR(lrAt(9, 0, kWarmup, kTotal), 4.32, kClose);
  EXPECT_NEAR(lrAt(10, 0, kWarmup, kTotal), kBaseLr, kClose);
  // Cosine midpoint: half-way between baseLr and finalLr.
  EXPECT_NEAR(lrAt(60, 0, kWarmup, kTotal), 2.4, kClose);
  EXPECT_NEAR(lrAt(60, 0.2, kWarmup, kTotal), 2.5, kClose);
  EXPECT_NEAR(lrAt(35, 0, kWarmup, kTotal), 2.4 * (1 + std::sqrt(0.5)), kClose);
  EXPECT_NEAR(lrAt(110, 0.2, kWarmup, kTotal), 0.2, kClose);
  EXPECT_NEAR(lrAt(500, 0.2, kWarmup, kTotal), 0.2, kClose);
}

TEST(LrScheduleTest, DegenerateSchedules) {
  // No warm-up starts at baseLr; no decay phase holds baseLr.
  EXPECT_NEAR(lrAt(0, 0, 0, 100), kBaseLr, kClose);
  EXPECT_NEAR(lrAt(10, 0, 10, 10), kBaseLr, kClose);
  EXPECT_NEAR(lrAt(50, 0, 10, 10), kBaseLr, kClose);
  EXPECT_FALSE(lrWarmupCosine(-1, kBaseLr, 0, 10, 100));
  EXPECT_FALSE(lrWarmupCosine(0, kBaseLr, 0, 10, 5));
}

} // namespace
} // namespace simclr::ref
