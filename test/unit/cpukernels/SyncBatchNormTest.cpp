//===- SyncBatchNormTest.cpp - Synchronized batch norm = batch norm -------===//
//
// The oracle of Cpu/SyncBatchNorm.h is the batch-norm CPU templates on the
// whole batch (themselves checked against the reference in CpuKernelTest):
// a batch split in two "replicas" (rows [0, n1) and [n1, n)), statistics
// of each half, the two statistics added (what all_reduce_sum does) and
// the apply on each half must give batchNormTrainForward's output and batch
// statistics, batchNormTrainBackward's gradients and runningStatsUpdate's
// running statistics on the whole batch. Rows are outermost in every
// layout, so a half is a contiguous range of elements. Shapes are odd
// (uneven halves, c not a power of two, hw = 1), in NCHW (X = 1), a blocked
// layout (X = 4) and NHWC (X = c), with prologue and epilogue hooks.
//
//===----------------------------------------------------------------------===//
#include "simclr/Kernels/Cpu/CpuKernels.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace simclr::cpu {
namespace {

using Floats = std::vector<float>;
using Doubles = std::vector<double>;

/// Two replicas against one batch: the same float formulas on sums that
/// differ only by the order of double additions (and, forward, by the
/// unshifted variance: E[x^2] - E[x]^2 in double loses ~1e-16 * E[x^2] /
/// var, far below float). What remains is a few float roundings (2^-24 ~
/// 6e-8 each), so 1e-5 catches any wrong formula or count (off by O(1))
/// with margin; measured maxima are printed.
constexpr double kSyncTol = 1e-5;

Floats randomFloats(size_t count, unsigned seed, double lo = -1.0,
                    double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Floats values(count);
  for (float &value : values)
    value = static_cast<float>(dist(rng));
  return values;
}

/// max |a - e| / (|e| + max|e|) (CpuKernelTest's measure), printed.
double maxRelativeError(const Floats &actual, const Floats &expected,
                        const std::string &what) {
  double scale = 0;
  for (float value : expected)
    scale = std::max(scale, std::fabs(static_cast<double>(value)));
  double worst = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = expected[i], a = actual[i];
    worst = std::max(worst, std::fabs(a - e) / (std::fabs(e) + scale));
  }
  std::printf("  %-28s max relative error %.3g\n", what.c_str(), worst);
  return worst;
}

/// A prologue (x * 1.5 - 0.25, as fused elementwise work) and an epilogue
/// (a leaky ReLU whose slope depends on the element of the whole batch: a
/// replica's index i is element offset + i).
struct Prologue {
  const float *input;
  float operator()(int64_t i) const { return input[i] * 1.5f - 0.25f; }
};
struct Epilogue {
  int64_t offset = 0;
  float operator()(int64_t i, float r) const {
    return r < 0.0f ? 0.01f * static_cast<float>((offset + i) % 7) * r : r;
  }
};

template <int64_t X>
void checkTwoReplicas(int64_t n1, int64_t n2, int64_t c, int64_t hw) {
  SCOPED_TRACE("X=" + std::to_string(X) + " n1=" + std::to_string(n1) +
               " n2=" + std::to_string(n2) + " c=" + std::to_string(c) +
               " hw=" + std::to_string(hw));
  std::printf("X=%lld halves %lld + %lld, c=%lld, hw=%lld\n",
              static_cast<long long>(X), static_cast<long long>(n1),
              static_cast<long long>(n2), static_cast<long long>(c),
              static_cast<long long>(hw));
  const double eps = 1e-5, momentum = 0.1;
  const int64_t n = n1 + n2, count = n * c * hw;
  const int64_t half[2] = {n1, n2};
  const int64_t offset[2] = {0, n1 * c * hw};
  // An offset mean, as activations after a convolution can have.
  const Floats x = randomFloats(count, 51, 0.5, 3.0);
  const Floats gamma = randomFloats(c, 52, 0.5, 1.5);
  const Floats beta = randomFloats(c, 53);
  const Floats dy = randomFloats(count, 54);
  const Floats runMean = randomFloats(c, 55), runVar = randomFloats(c, 56, 0, 2);

  // The whole batch.
  Floats y(count), mean(c), var(c), dx(count), dgamma(c), dbeta(c);
  std::vector<unsigned char> whole(
      kernels::channelStatisticsScratchBytes(n, c, hw));
  batchNormTrainForward<X>(n, c, hw, Prologue{x.data()}, gamma.data(),
                           beta.data(), eps, y.data(), mean.data(), var.data(),
                           whole.data(), Epilogue{});
  batchNormTrainBackward<X>(n, c, hw, Prologue{dy.data()}, x.data(),
                            gamma.data(), mean.data(), var.data(), eps,
                            dx.data(), dgamma.data(), dbeta.data(),
                            whole.data(), Epilogue{});
  Floats newMean(c), newVar(c);
  runningStatsUpdate(c, runMean.data(), runVar.data(), mean.data(), var.data(),
                     momentum, n * hw, newMean.data(), newVar.data());

  // Two replicas: statistics of each half, summed, applied to each half.
  Doubles stats[2] = {Doubles(3 * c), Doubles(3 * c)};
  for (int r = 0; r < 2; ++r) {
    std::vector<unsigned char> ws(
        kernels::channelSumsScratchBytes(half[r], c, hw));
    batchNormStatistics<X>(half[r], c, hw, Prologue{x.data() + offset[r]},
                           stats[r].data(), ws.data());
  }
  Doubles sum(3 * c);
  for (int64_t k = 0; k < 3 * c; ++k)
    sum[k] = stats[0][k] + stats[1][k];
  for (int64_t ch = 0; ch < c; ++ch)
    EXPECT_EQ(sum[2 * c + ch], static_cast<double>(n * hw)) << "count row";

  Floats ySync(count), meanSync[2] = {Floats(c), Floats(c)},
                       varSync[2] = {Floats(c), Floats(c)};
  std::vector<unsigned char> coef(kernels::channelCoefficientsScratchBytes(c));
  for (int r = 0; r < 2; ++r)
    batchNormApply<X>(half[r], c, hw, Prologue{x.data() + offset[r]},
                      gamma.data(), beta.data(), sum.data(), eps,
                      ySync.data() + offset[r], meanSync[r].data(),
                      varSync[r].data(), coef.data(), Epilogue{offset[r]});
  EXPECT_LE(maxRelativeError(ySync, y, "forward output"), kSyncTol);
  EXPECT_LE(maxRelativeError(meanSync[0], mean, "batch mean"), kSyncTol);
  EXPECT_LE(maxRelativeError(varSync[0], var, "batch var"), kSyncTol);
  // Every replica derives the same statistics from the same sums.
  EXPECT_EQ(meanSync[0], meanSync[1]);
  EXPECT_EQ(varSync[0], varSync[1]);

  Floats newMeanSync(c), newVarSync(c);
  runningStatsFromSums(c, runMean.data(), runVar.data(), sum.data(), momentum,
                       newMeanSync.data(), newVarSync.data());
  EXPECT_LE(maxRelativeError(newMeanSync, newMean, "running mean"), kSyncTol);
  EXPECT_LE(maxRelativeError(newVarSync, newVar, "running var"), kSyncTol);

  // Backward, with the (global) forward statistics.
  Doubles gradStats[2] = {Doubles(3 * c), Doubles(3 * c)};
  for (int r = 0; r < 2; ++r) {
    std::vector<unsigned char> ws(
        kernels::channelSumsScratchBytes(half[r], c, hw));
    batchNormBackwardStatistics<X>(
        half[r], c, hw, Prologue{dy.data() + offset[r]}, x.data() + offset[r],
        meanSync[r].data(), varSync[r].data(), eps, gradStats[r].data(),
        ws.data());
  }
  Doubles gradSum(3 * c);
  for (int64_t k = 0; k < 3 * c; ++k)
    gradSum[k] = gradStats[0][k] + gradStats[1][k];
  Floats dxSync(count), dgammaSync[2] = {Floats(c), Floats(c)},
                        dbetaSync[2] = {Floats(c), Floats(c)};
  for (int r = 0; r < 2; ++r)
    batchNormBackwardApply<X>(
        half[r], c, hw, Prologue{dy.data() + offset[r]}, x.data() + offset[r],
        gamma.data(), meanSync[r].data(), varSync[r].data(), gradSum.data(),
        eps, dxSync.data() + offset[r], dgammaSync[r].data(),
        dbetaSync[r].data(), coef.data(), Epilogue{offset[r]});
  EXPECT_LE(maxRelativeError(dxSync, dx, "grad input"), kSyncTol);
  EXPECT_LE(maxRelativeError(dgammaSync[0], dgamma, "grad scale"), kSyncTol);
  EXPECT_LE(maxRelativeError(dbetaSync[0], dbeta, "grad shift"), kSyncTol);
  EXPECT_EQ(dgammaSync[0], dgammaSync[1]);
  EXPECT_EQ(dbetaSync[0], dbetaSync[1]);
}

TEST(CpuKernelSyncBatchNormTest, TwoReplicasMatchOneBatchNchw) {
  checkTwoReplicas<1>(3, 4, 5, 9);
  checkTwoReplicas<1>(6, 11, 3, 1);  // N x C features.
  checkTwoReplicas<1>(5, 4, 3, 1000); // Several reduction row blocks.
}

TEST(CpuKernelSyncBatchNormTest, TwoReplicasMatchOneBatchBlockedAndNhwc) {
  checkTwoReplicas<4>(3, 4, 8, 9);
  checkTwoReplicas<6>(4, 3, 6, 25);
  checkTwoReplicas<5>(9, 8, 5, 1);
}

TEST(CpuKernelSyncBatchNormTest, StatisticsAreIndependentOfThreadCount) {
  const int64_t n = 9, c = 5, hw = 1000;
  const Floats x = randomFloats(n * c * hw, 61);
  const Floats mean = randomFloats(c, 62), var = randomFloats(c, 63, 0.5, 1);
  std::vector<unsigned char> ws(kernels::channelSumsScratchBytes(n, c, hw));
  Doubles first, firstGrad;
  const int defaultThreads = omp_get_max_threads();
  for (int threads : {1, 2, 7}) {
    omp_set_num_threads(threads);
    Doubles stats(3 * c), grad(3 * c);
    batchNormStatistics<1>(n, c, hw, Load{x.data()}, stats.data(), ws.data());
    batchNormBackwardStatistics<1>(n, c, hw, Load{x.data()}, x.data(),
                                   mean.data(), var.data(), 1e-5, grad.data(),
                                   ws.data());
    if (first.empty()) {
      first = stats;
      firstGrad = grad;
    }
    EXPECT_EQ(stats, first) << threads << " threads";
    EXPECT_EQ(grad, firstGrad) << threads << " threads";
  }
  omp_set_num_threads(defaultThreads);
}

} // namespace
} // namespace simclr::cpu
