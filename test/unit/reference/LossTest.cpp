//===- LossTest.cpp - Tests for reference NT-Xent and its primitives ------===//
#include "TestUtil.h"

namespace simclr::ref {
namespace {

using testing::take;
using testing::TensorD;

/// Double results of O(1..10) sums: rounding stays far below this.
constexpr double kClose = 1e-12;

TEST(NtXentTest, TwoPairsByHand) {
  // Unit directions (1,0), (0,1), (0.6,0.8), (-1,0); rows 0/2 and 1/3 pair up.
  TensorD z({4, 2}, {1, 0, 0, 2, 3, 4, -1, 0});
  constexpr double kTau = 0.5;
  // Cosines: c01 = 0, c02 = 0.6, c03 = -1, c12 = 0.8, c13 = 0, c23 = -0.6;
  // s = cosine / tau.
  double s01 = 0 / kTau, s02 = 0.6 / kTau, s03 = -1 / kTau;
  double s12 = 0.8 / kTau, s13 = 0 / kTau, s23 = -0.6 / kTau;
  double loss0 = -s02 + std::log(std::exp(s01) + std::exp(s02) + std::exp(s03));
  double loss1 = -s13 + std::log(std::exp(s01) + std::exp(s12) + std::exp(s13));
  double loss2 = -s02 + std::log(std::exp(s02) + std::exp(s12) + std::exp(s23));
  double loss3 = -s13 + std::log(std::exp(s03) + std::exp(s13) + std::exp(s23));
  double expected = (loss0 + loss1 + loss2 + loss3) / 4;
  TensorD loss = take(ntXent(z, kTau));
  EXPECT_TRUE(loss.shape.empty());
  testing::expectTensorNear(loss, {expected}, kClose);
}

/// -reduceMean(gatherPositives(maskedScaledLogSoftmax(zn zn^T, 1/tau))).
TensorD decomposedNtXent(const TensorD &z, double tau) {
  TensorD zn = take(l2Normalize(z));
  TensorD s = take(matmul(zn, zn, false, true));
  TensorD logProbs = take(maskedScaledLogSoftmax(s, 1 / tau));
  return scale(take(reduceMean(take(gatherPositives(logProbs)))), -1.0);
}

TEST(NtXentTest, EqualsItsDecomposition) {
  std::mt19937_64 rng(31);
  TensorD z = testing::randomTensor({6, 5}, rng);
  constexpr double kTau = 0.2;
  testing::expectTensorNear(take(ntXent(z, kTau)),
                            decomposedNtXent(z, kTau).data, kClose);
}

TEST(NtXentTest, BackwardEqualsChainedPrimitiveBackwards) {
  std::mt19937_64 rng(32);
  TensorD z = testing::randomTensor({8, 3}, rng);
  constexpr double kTau = 0.3;
  constexpr double kUpstream = 1.7;
  TensorD dloss = TensorD::scalar(kUpstream);
  TensorD direct = take(ntXentBackward(dloss, z, kTau));

  TensorD zn = take(l2Normalize(z));
  TensorD s = take(matmul(zn, zn, false, true));
  TensorD logProbs = take(maskedScaledLogSoftmax(s, 1 / kTau));
  TensorD dPositives =
      take(reduceMeanBackward(scaleBackward(dloss, -1.0), {8}));
  TensorD dLogProbs = take(gatherPositivesBackward(dPositives));
  TensorD ds =
      take(maskedScaledLogSoftmaxBackward(dLogProbs, logProbs, 1 / kTau));
  BinaryGrads<double> dzn = take(matmulBackward(ds, zn, zn, false, true));
  TensorD chained = take(l2NormalizeBackward(take(add(dzn.da, dzn.db)), z));
  EXPECT_LT(testing::relativeError(direct, chained), kClose);
}

class NtXentGradTest : public ::testing::TestWithParam<
                           std::tuple<std::vector<int64_t>, double>> {};

TEST_P(NtXentGradTest, BackwardMatchesFiniteDifferences) {
  auto [shape, tau] = GetParam();
  std::mt19937_64 rng(33);
  TensorD z = testing::randomTensor(shape, rng);
  constexpr double kUpstream = 1.7;
  TensorD dz = take(ntXentBackward(TensorD::scalar(kUpstream), z, tau));
  testing::expectGradientMatches(
      "dz", dz,
      [&, tau = tau](const TensorD &p) {
        return kUpstream * take(ntXent(p, tau)).at();
      },
      z);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, NtXentGradTest,
    ::testing::Values(std::make_tuple(std::vector<int64_t>{6, 4}, 0.5),
                      std::make_tuple(std::vector<int64_t>{10, 3}, 0.1),
                      std::make_tuple(std::vector<int64_t>{4, 7}, 1.0)));

/// NT-Xent in long double without the max-subtraction trick: exact enough to
/// judge the stable float and double kernels when nothing overflows.
long double straightforwardNtXent(const TensorD &z, long double tau) {
  int64_t rows = z.dim(0), dims = z.dim(1);
  std::vector<std::vector<long double>> zn(rows);
  for (int64_t i = 0; i < rows; ++i) {
    long double squares = 0;
    for (int64_t d = 0; d < dims; ++d)
      squares += static_cast<long double>(z.at(i, d)) * z.at(i, d);
    for (int64_t d = 0; d < dims; ++d)
      zn[i].push_back(z.at(i, d) / std::sqrt(squares));
  }
  auto sim = [&](int64_t i, int64_t k) {
    long double dot = 0;
    for (int64_t d = 0; d < dims; ++d)
      dot += zn[i][d] * zn[k][d];
    return dot / tau;
  };
  long double total = 0;
  for (int64_t i = 0; i < rows; ++i) {
    long double sum = 0;
    for (int64_t k = 0; k < rows; ++k)
      if (k != i)
        sum += std::exp(sim(i, k));
    total += -sim(i, (i + rows / 2) % rows) + std::log(sum);
  }
  return total / rows;
}

/// 2N = 8 rows of length 1000 that all point almost the same way, so every
/// similarity / tau is close to 1/tau.
TensorD alignedBatch(std::mt19937_64 &rng) {
  constexpr double kLength = 1000;
  constexpr double kSpread = 0.05;
  TensorD base = testing::randomTensor({16}, rng);
  TensorD z = testing::randomTensor({8, 16}, rng, -kSpread, kSpread);
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t d = 0; d < 16; ++d)
      z.at(i, d) = kLength * (base.at(d) + z.at(i, d));
  return z;
}

TEST(NtXentTest, SmallTemperatureMatchesLongDouble) {
  std::mt19937_64 rng(34);
  TensorD z = alignedBatch(rng);
  constexpr double kTau = 0.05;
  double expected = static_cast<double>(straightforwardNtXent(z, kTau));
  double lossDouble = take(ntXent(z, kTau)).at();
  float lossFloat = take(ntXent(z.cast<float>(), kTau)).at();
  ASSERT_TRUE(std::isfinite(lossDouble));
  ASSERT_TRUE(std::isfinite(lossFloat));
  // The loss is a difference of terms near 1/tau = 20: double keeps ~1e-14
  // of that, float ~1e-6 (dividing by tau amplifies cosine rounding 20x).
  EXPECT_NEAR(lossDouble, expected, 1e-10);
  EXPECT_NEAR(lossFloat, expected, 1e-4);
  // Including s[i,i] would shift the loss by about log(8/7); make sure the
  // case is sensitive to it.
  EXPECT_GT(expected, 1.0);
}

TEST(NtXentTest, TinyTemperatureStaysFiniteInFloat) {
  // s/tau reaches 1000: exp() of it overflows float and double unless the
  // row maximum is subtracted first.
  std::mt19937_64 rng(35);
  TensorD z = alignedBatch(rng);
  constexpr double kTau = 1e-3;
  double lossDouble = take(ntXent(z, kTau)).at();
  float lossFloat = take(ntXent(z.cast<float>(), kTau)).at();
  ASSERT_TRUE(std::isfinite(lossDouble));
  ASSERT_TRUE(std::isfinite(lossFloat));
  // Float cosines carry ~1e-7 error, times 1/tau = 1000.
  EXPECT_NEAR(lossFloat, lossDouble,
              1e-2 * std::max(1.0, std::abs(lossDouble)));
  Tensor<float> dz =
      take(ntXentBackward(Tensor<float>::scalar(1.0f), z.cast<float>(), kTau));
  for (float v : dz.data)
    ASSERT_TRUE(std::isfinite(v));
}

TEST(NtXentTest, RejectsOddBatchAndBadTemperature) {
  Expected<TensorD> odd = ntXent(TensorD::zeros({3, 2}), 0.5);
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.status().message().find("ntXent"), std::string::npos);
  EXPECT_NE(odd.status().message().find("[3, 2]"), std::string::npos);
  EXPECT_FALSE(ntXent(TensorD::full({4, 2}, 1.0), 0.0));
  EXPECT_FALSE(
      ntXentBackward(TensorD::zeros({1}), TensorD::full({4, 2}, 1.0), 0.5))
      << "dloss must be rank 0";
}

TEST(MaskedScaledLogSoftmaxTest, HandComputed) {
  TensorD s({2, 2}, {7, 1, 2, -3});
  // Each row has one off-diagonal entry, whose log-probability is 0.
  testing::expectTensorNear(take(maskedScaledLogSoftmax(s, 3.0)), {0, 0, 0, 0},
                            kClose);
  TensorD s3({3, 3}, {100, 1, 2, 0, 100, 0, 5, 5, -100});
  TensorD out = take(maskedScaledLogSoftmax(s3, 2.0));
  double lse0 = std::log(std::exp(2.0) + std::exp(4.0));
  testing::expectTensorNear(out,
                            {0, 2 - lse0, 4 - lse0, std::log(0.5), 0,
                             std::log(0.5), std::log(0.5), std::log(0.5), 0},
                            kClose);
}

TEST(MaskedScaledLogSoftmaxTest, BackwardMatchesFiniteDifferences) {
  std::mt19937_64 rng(36);
  constexpr double kScale = 2.0;
  TensorD s = testing::randomTensor({6, 6}, rng);
  TensorD r = testing::randomTensor({6, 6}, rng);
  TensorD out = take(maskedScaledLogSoftmax(s, kScale));
  TensorD ds = take(maskedScaledLogSoftmaxBackward(r, out, kScale));
  testing::expectGradientMatches(
      "ds", ds,
      [&](const TensorD &p) {
        return testing::dot(take(maskedScaledLogSoftmax(p, kScale)), r);
      },
      s);
}

TEST(GatherPositivesTest, ForwardAndBackward) {
  TensorD m({4, 4},
            {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33});
  // p(i) = (i + 2) mod 4.
  testing::expectTensorNear(take(gatherPositives(m)), {2, 13, 20, 31}, kClose);
  std::mt19937_64 rng(37);
  TensorD r = testing::randomTensor({4}, rng);
  testing::expectGradientMatches(
      "dm", take(gatherPositivesBackward(r)),
      [&](const TensorD &p) {
        return testing::dot(take(gatherPositives(p)), r);
      },
      m);
  EXPECT_FALSE(gatherPositives(TensorD::zeros({3, 3})));
}

TEST(ReduceMeanTest, ForwardAndBackward) {
  TensorD x({2, 2}, {1, 2, 3, 6});
  testing::expectTensorNear(take(reduceMean(x)), {3}, kClose);
  constexpr double kUpstream = 0.8;
  std::mt19937_64 rng(38);
  TensorD y = testing::randomTensor({3, 5}, rng);
  testing::expectGradientMatches(
      "dx", take(reduceMeanBackward(TensorD::scalar(kUpstream), y.shape)),
      [&](const TensorD &p) { return kUpstream * take(reduceMean(p)).at(); },
      y);
}

} // namespace
} // namespace simclr::ref
