//===- SyncBatchNorm.h - CPU kernels of synchronized batch norm -----------===//
//
// The statistics and apply halves of batch norm that a data-parallel step
// runs around an all_reduce_sum of the statistics (issue 13); semantics
// are those of the simclr ops of the same name (SimclrDataParallelOps.td).
// Tensors are Channel.h's [n, c, hw] in channel blocks of X. A statistics
// buffer is 3 x c doubles, row-major: stats[k * c + ch] with rows
// (sum a, sum b, element count), so that the buffers of several replicas
// add element by element. Sums use Channel.h's deterministic row blocks
// (independent of the thread count); workspaces are sized by
// simclr/Kernels/Scratch.h.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_SYNCBATCHNORM_H
#define SIMCLR_KERNELS_CPU_SYNCBATCHNORM_H

#include "simclr/Kernels/Cpu/Channel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace simclr {
namespace cpu {
namespace detail {

/// Mean and biased variance of channel ch from summed statistics (count =
/// row 2, which the caller keeps >= 1).
inline void meanAndVariance(const double *stats, int64_t c, int64_t ch,
                            double &mean, double &var) {
  const double count = stats[2 * c + ch];
  mean = stats[ch] / count;
  var = std::max(stats[c + ch] / count - mean * mean, 0.0);
}

} // namespace detail

/// batch_norm_statistics: stats = [sum x, sum x^2, n*hw] per channel, in
/// double and unshifted, x (prologue) [n, c, hw]. Workspace:
/// channelSumsScratchBytes(n, c, hw).
template <int64_t X, typename Pro>
inline void batchNormStatistics(int64_t n, int64_t c, int64_t hw, Pro x,
                                double *stats, void *workspace) {
  double *partial =
      Workspace(workspace).take<double>(detail::channelPartials(n, c, hw));
  detail::channelSums2<X>(
      n, c, hw, [&](int64_t i, int64_t) { return static_cast<double>(x(i)); },
      [&](int64_t i, int64_t) {
        const double v = static_cast<double>(x(i));
        return v * v;
      },
      stats, stats + c, partial);
  const double count = static_cast<double>(n * hw);
  for (int64_t ch = 0; ch < c; ++ch)
    stats[2 * c + ch] = count;
}

/// batch_norm_apply: mean and biased var from summed `stats` (in double),
/// y = epi(i, (x - mean) / sqrt(var + eps) * gamma + beta); batchMean and
/// batchVar get mean and var. Workspace: channelCoefficientsScratchBytes(c).
template <int64_t X, typename Pro, typename Epi>
inline void batchNormApply(int64_t n, int64_t c, int64_t hw, Pro x,
                           const float *gamma, const float *beta,
                           const double *stats, double eps, float *y,
                           float *batchMean, float *batchVar, void *workspace,
                           Epi epi) {
  Workspace carve(workspace);
  float *meanF = carve.take<float>(c);
  float *invStdF = carve.take<float>(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean, var;
    detail::meanAndVariance(stats, c, ch, mean, var);
    meanF[ch] = static_cast<float>(mean);
    invStdF[ch] = static_cast<float>(1.0 / std::sqrt(var + eps));
    batchMean[ch] = meanF[ch];
    batchVar[ch] = static_cast<float>(var);
  }
  const float *mean = meanF;
  const float *invStd = invStdF;
  float *out = y;
  detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
    out[i] = epi(i, (x(i) - mean[ch]) * invStd[ch] * gamma[ch] + beta[ch]);
  });
}

/// running_stats_from_sums: runningStatsUpdate with the batch mean and
/// variance of `stats` (rounded to float as batchNormApply rounds them)
/// and count = stats row 2; the unbiased correction divides by
/// max(count - 1, 1). In place allowed, as runningStatsUpdate.
inline void runningStatsFromSums(int64_t c, const float *runningMean,
                                 const float *runningVar, const double *stats,
                                 double momentum, float *newMean,
                                 float *newVar) {
  const float m = static_cast<float>(momentum);
  const float keep = 1.0f - m;
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean, var;
    detail::meanAndVariance(stats, c, ch, mean, var);
    const double count = stats[2 * c + ch];
    const float correction = static_cast<float>(count) /
                             static_cast<float>(std::max(count - 1.0, 1.0));
    const float newM = keep * runningMean[ch] + m * static_cast<float>(mean);
    const float newV =
        keep * runningVar[ch] + m * static_cast<float>(var) * correction;
    newMean[ch] = newM;
    newVar[ch] = newV;
  }
}

/// batch_norm_backward_statistics: stats = [sum dy, sum dy * xhat, n*hw]
/// per channel with xhat = (x - mean) / sqrt(var + eps), dy (prologue) and
/// x [n, c, hw], accumulated in double. Workspace:
/// channelSumsScratchBytes(n, c, hw).
template <int64_t X, typename Pro>
inline void batchNormBackwardStatistics(int64_t n, int64_t c, int64_t hw,
                                        Pro dy, const float *x,
                                        const float *batchMean,
                                        const float *batchVar, double eps,
                                        double *stats, void *workspace) {
  double *partial =
      Workspace(workspace).take<double>(detail::channelPartials(n, c, hw));
  detail::channelSums2<X>(
      n, c, hw, [&](int64_t i, int64_t) { return static_cast<double>(dy(i)); },
      [&](int64_t i, int64_t ch) {
        return static_cast<double>(dy(i)) *
               (static_cast<double>(x[i]) - static_cast<double>(batchMean[ch]));
      },
      stats, stats + c, partial);
  const double count = static_cast<double>(n * hw);
  for (int64_t ch = 0; ch < c; ++ch) {
    stats[c + ch] *= 1.0 / std::sqrt(static_cast<double>(batchVar[ch]) + eps);
    stats[2 * c + ch] = count;
  }
}

/// batch_norm_backward_apply: batchNormTrainBackward with the sums and
/// count of the summed `gradStats`: dbeta = row 0, dgamma = row 1 and
/// dx = epiOnDx(i, gamma/sqrt(var + eps)/M * (M*dy - dbeta - xhat*dgamma)),
/// M = row 2. Workspace: channelCoefficientsScratchBytes(c).
template <int64_t X, typename Pro, typename Epi>
inline void batchNormBackwardApply(int64_t n, int64_t c, int64_t hw, Pro dy,
                                   const float *x, const float *gamma,
                                   const float *batchMean,
                                   const float *batchVar,
                                   const double *gradStats, double eps,
                                   float *dx, float *dgamma, float *dbeta,
                                   void *workspace, Epi epiOnDx) {
  Workspace carve(workspace);
  float *coefA = carve.take<float>(c);
  float *coefB = carve.take<float>(c);
  float *coefK = carve.take<float>(c);
  // dx = a * (dy - b - (x - mean) * k) with a = gamma*invStd,
  // b = dbeta/M, k = invStd * dgamma/M (as batchNormTrainBackward).
  for (int64_t ch = 0; ch < c; ++ch) {
    const double sumDy = gradStats[ch];
    const double sumDyXhat = gradStats[c + ch];
    const double count = gradStats[2 * c + ch];
    const double invStd =
        1.0 / std::sqrt(static_cast<double>(batchVar[ch]) + eps);
    dbeta[ch] = static_cast<float>(sumDy);
    dgamma[ch] = static_cast<float>(sumDyXhat);
    coefA[ch] = static_cast<float>(static_cast<double>(gamma[ch]) * invStd);
    coefB[ch] = static_cast<float>(sumDy / count);
    coefK[ch] = static_cast<float>(invStd * sumDyXhat / count);
  }
  const float *a = coefA, *b = coefB, *k = coefK;
  const float *mean = batchMean;
  const float *xin = x;
  float *out = dx;
  detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
    out[i] = epiOnDx(i, a[ch] * (dy(i) - b[ch] - (xin[i] - mean[ch]) * k[ch]));
  });
}

} // namespace cpu
} // namespace simclr

#endif // SIMCLR_KERNELS_CPU_SYNCBATCHNORM_H
