//===- SyncBatchNorm.cuh - CUDA kernels of synchronized batch norm -------===//
//
// The CUDA forms of simclr/Kernels/Cpu/SyncBatchNorm.h, same names and
// arguments after the leading `phase`, same 3 x c statistics buffer
// (stats[k * c + ch]). Launches (Launch.h):
//  - batchNormStatistics, batchNormBackwardStatistics: Channel.cuh's
//    partial sums (phase 0, the CPU's row blocks and workspace layout) and
//    their in-order combination into the statistics (phase 1), so the sums
//    agree with the CPU's to rounding and do not depend on the grid;
//  - batchNormApply, batchNormBackwardApply: per-channel coefficients from
//    the statistics (phase 0, one thread per channel), the per-element
//    pass (phase 1);
//  - runningStatsFromSums: one phase, one thread per channel.
// Conventions (phases, hooks, determinism) are in Common.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_SYNCBATCHNORM_CUH
#define SIMCLR_KERNELS_CUDA_SYNCBATCHNORM_CUH

#include "simclr/Kernels/Cuda/Channel.cuh"

namespace simclr {
namespace cuda {
namespace detail {

/// Mean and biased variance of channel ch from summed statistics.
__device__ inline void meanAndVariance(const double *stats, int64_t c,
                                       int64_t ch, double &mean, double &var) {
  const double count = stats[2 * c + ch];
  mean = stats[ch] / count;
  var = stats[c + ch] / count - mean * mean;
  var = var > 0.0 ? var : 0.0;
}

} // namespace detail

/// batch_norm_statistics (Cpu/SyncBatchNorm.h): two phases (partials,
/// combine). Workspace: channelSumsScratchBytes(n, c, hw).
template <int64_t X, typename Pro>
__device__ inline void batchNormStatistics(int phase, int64_t n, int64_t c,
                                           int64_t hw, Pro x, double *stats,
                                           void *workspace) {
  double *partial =
      Workspace(workspace).take<double>(detail::channelPartials(n, c, hw));
  if (phase == 0) {
    detail::channelPartialSums<X>(
        n, c, hw, [](int64_t) { return 0.0; },
        [&](int64_t i, double) { return static_cast<double>(x(i)); },
        [&](int64_t i, double) {
          const double v = static_cast<double>(x(i));
          return v * v;
        },
        partial);
  } else {
    const double count = static_cast<double>(n * hw);
    detail::combineChannelPartials(
        n, c, hw, partial, [&](int64_t ch, double sum, double sumSq) {
          stats[ch] = sum;
          stats[c + ch] = sumSq;
          stats[2 * c + ch] = count;
        });
  }
}

/// batch_norm_apply (Cpu/SyncBatchNorm.h): two phases (coefficients,
/// apply). Workspace: channelCoefficientsScratchBytes(c).
template <int64_t X, typename Pro, typename Epi>
__device__ inline void
batchNormApply(int phase, int64_t n, int64_t c, int64_t hw, Pro x,
               const float *gamma, const float *beta, const double *stats,
               double eps, float *y, float *batchMean, float *batchVar,
               void *workspace, Epi epi) {
  Workspace carve(workspace);
  float *meanF = carve.take<float>(c);
  float *invStdF = carve.take<float>(c);
  if (phase == 0) {
    for (int64_t ch = globalThreadIndex(); ch < c; ch += globalThreadCount()) {
      double mean, var;
      detail::meanAndVariance(stats, c, ch, mean, var);
      meanF[ch] = static_cast<float>(mean);
      invStdF[ch] = static_cast<float>(1.0 / sqrt(var + eps));
      batchMean[ch] = meanF[ch];
      batchVar[ch] = static_cast<float>(var);
    }
  } else {
    detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
      y[i] = epi(i, (x(i) - meanF[ch]) * invStdF[ch] * gamma[ch] + beta[ch]);
    });
  }
}

/// running_stats_from_sums (Cpu/SyncBatchNorm.h), one phase, one thread
/// per channel.
__device__ inline void
runningStatsFromSums(int phase, int64_t c, const float *runningMean,
                     const float *runningVar, const double *stats,
                     double momentum, float *newMean, float *newVar) {
  (void)phase;
  const float m = static_cast<float>(momentum);
  const float keep = 1.0f - m;
  for (int64_t ch = globalThreadIndex(); ch < c; ch += globalThreadCount()) {
    double mean, var;
    detail::meanAndVariance(stats, c, ch, mean, var);
    const double count = stats[2 * c + ch];
    const double divisor = count - 1.0 > 1.0 ? count - 1.0 : 1.0;
    const float correction =
        static_cast<float>(count) / static_cast<float>(divisor);
    const float newM = keep * runningMean[ch] + m * static_cast<float>(mean);
    const float newV =
        keep * runningVar[ch] + m * static_cast<float>(var) * correction;
    newMean[ch] = newM;
    newVar[ch] = newV;
  }
}

/// batch_norm_backward_statistics (Cpu/SyncBatchNorm.h): two phases
/// (partials, combine). Workspace: channelSumsScratchBytes(n, c, hw).
template <int64_t X, typename Pro>
__device__ inline void
batchNormBackwardStatistics(int phase, int64_t n, int64_t c, int64_t hw,
                            Pro dy, const float *x, const float *batchMean,
                            const float *batchVar, double eps, double *stats,
                            void *workspace) {
  double *partial =
      Workspace(workspace).take<double>(detail::channelPartials(n, c, hw));
  if (phase == 0) {
    detail::channelPartialSums<X>(
        n, c, hw,
        [&](int64_t ch) { return static_cast<double>(batchMean[ch]); },
        [&](int64_t i, double) { return static_cast<double>(dy(i)); },
        [&](int64_t i, double mean) {
          return static_cast<double>(dy(i)) *
                 (static_cast<double>(x[i]) - mean);
        },
        partial);
  } else {
    const double count = static_cast<double>(n * hw);
    detail::combineChannelPartials(
        n, c, hw, partial, [&](int64_t ch, double sumDy, double sumDyCentered) {
          stats[ch] = sumDy;
          stats[c + ch] =
              sumDyCentered *
              (1.0 / sqrt(static_cast<double>(batchVar[ch]) + eps));
          stats[2 * c + ch] = count;
        });
  }
}

/// batch_norm_backward_apply (Cpu/SyncBatchNorm.h): two phases
/// (coefficients and parameter gradients, apply). Workspace:
/// channelCoefficientsScratchBytes(c).
template <int64_t X, typename Pro, typename Epi>
__device__ inline void
batchNormBackwardApply(int phase, int64_t n, int64_t c, int64_t hw, Pro dy,
                       const float *x, const float *gamma,
                       const float *batchMean, const float *batchVar,
                       const double *gradStats, double eps, float *dx,
                       float *dgamma, float *dbeta, void *workspace,
                       Epi epiOnDx) {
  Workspace carve(workspace);
  float *coefA = carve.take<float>(c);
  float *coefB = carve.take<float>(c);
  float *coefK = carve.take<float>(c);
  if (phase == 0) {
    // dx = a * (dy - b - (x - mean) * k) with a = gamma*invStd,
    // b = dbeta/M, k = invStd * dgamma/M.
    for (int64_t ch = globalThreadIndex(); ch < c; ch += globalThreadCount()) {
      const double sumDy = gradStats[ch];
      const double sumDyXhat = gradStats[c + ch];
      const double count = gradStats[2 * c + ch];
      const double invStd =
          1.0 / sqrt(static_cast<double>(batchVar[ch]) + eps);
      dbeta[ch] = static_cast<float>(sumDy);
      dgamma[ch] = static_cast<float>(sumDyXhat);
      coefA[ch] = static_cast<float>(static_cast<double>(gamma[ch]) * invStd);
      coefB[ch] = static_cast<float>(sumDy / count);
      coefK[ch] = static_cast<float>(invStd * sumDyXhat / count);
    }
  } else {
    detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
      dx[i] = epiOnDx(i, coefA[ch] * (dy(i) - coefB[ch] -
                                      (x[i] - batchMean[ch]) * coefK[ch]));
    });
  }
}

} // namespace cuda
} // namespace simclr

#endif // SIMCLR_KERNELS_CUDA_SYNCBATCHNORM_CUH
