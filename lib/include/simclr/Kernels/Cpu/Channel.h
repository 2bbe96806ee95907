//===- Channel.h - Per-channel CPU kernels: batch norm, bias, normalize ---===//
//
// Kernels over an [n, c, hw] tensor whose channels lie in blocks of X
// (template parameter): element (r, ch, s) is at
//   ((r * (c / X) + ch / X) * hw + s) * X + ch % X,
// so X = 1 is NCHW, X = 8 / 16 oneDNN's nChw8c / nChw16c, X = c NHWC; for
// an [N, C] matrix (hw = 1) every X dividing C is the same row-major
// memory, and the generator picks a vector-friendly one. Each kernel's inner
// loop runs over the X channels of a block (or over hw when X = 1), unit
// stride. Semantics are those of the simclr ops of the same name
// (SimclrOps.td, SimclrGradientOps.td) and of lib/Reference/Norm.cpp.
// Workspaces are sized by simclr/Kernels/Scratch.h. Conventions (hooks,
// determinism) are in Common.h.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_CHANNEL_H
#define SIMCLR_KERNELS_CPU_CHANNEL_H

#include "simclr/Kernels/Cpu/Common.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace simclr {
namespace cpu {
namespace detail {

/// Calls f(flatIndex, channel) for every element of the [n, c, hw] tensor
/// in blocks of X, in parallel over (row, channel block). f must only write
/// the element at flatIndex (it runs under omp simd).
template <int64_t X, typename F>
inline void forEachChannelElement(int64_t n, int64_t c, int64_t hw, F f) {
  const int64_t blocks = c / X;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t r = 0; r < n; ++r)
    for (int64_t cb = 0; cb < blocks; ++cb) {
      const int64_t base = (r * blocks + cb) * hw * X;
      const int64_t ch0 = cb * X;
      if constexpr (X == 1) {
#pragma omp simd
        for (int64_t s = 0; s < hw; ++s)
          f(base + s, ch0);
      } else {
        for (int64_t s = 0; s < hw; ++s) {
#pragma omp simd
          for (int64_t lane = 0; lane < X; ++lane)
            f(base + s * X + lane, ch0 + lane);
        }
      }
    }
}

/// Per-channel sums over (r, s) of a(i, ch) and of b(i, ch) (functors
/// double(int64_t flatIndex, int64_t channel)), written to sumA[c], sumB[c]
/// in double. Blocks of rowsPerBlock(hw) rows are summed in parallel into
/// `partial` (2 * blocks * c doubles), then combined in block order: the
/// result does not depend on the thread count.
template <int64_t X, typename FA, typename FB>
inline void channelSums2(int64_t n, int64_t c, int64_t hw, FA a, FB b,
                         double *sumA, double *sumB, double *partial) {
  const int64_t rows = kernels::rowsPerBlock(hw);
  const int64_t blocks = kernels::ceilDiv(n, rows);
  const int64_t channelBlocks = c / X;
  double *part = partial;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk)
    for (int64_t cb = 0; cb < channelBlocks; ++cb) {
      double accA[X], accB[X];
      for (int64_t lane = 0; lane < X; ++lane)
        accA[lane] = accB[lane] = 0;
      const int64_t rEnd = std::min(n, (blk + 1) * rows);
      const int64_t ch0 = cb * X;
      for (int64_t r = blk * rows; r < rEnd; ++r) {
        const int64_t base = (r * channelBlocks + cb) * hw * X;
        if constexpr (X == 1) {
          double sA = 0, sB = 0;
#pragma omp simd reduction(+ : sA, sB)
          for (int64_t s = 0; s < hw; ++s) {
            sA += a(base + s, ch0);
            sB += b(base + s, ch0);
          }
          accA[0] += sA;
          accB[0] += sB;
        } else {
          for (int64_t s = 0; s < hw; ++s) {
#pragma omp simd
            for (int64_t lane = 0; lane < X; ++lane) {
              accA[lane] += a(base + s * X + lane, ch0 + lane);
              accB[lane] += b(base + s * X + lane, ch0 + lane);
            }
          }
        }
      }
      for (int64_t lane = 0; lane < X; ++lane) {
        part[(blk * c + ch0 + lane) * 2] = accA[lane];
        part[(blk * c + ch0 + lane) * 2 + 1] = accB[lane];
      }
    }
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    double accA = 0, accB = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      accA += part[(blk * c + ch) * 2];
      accB += part[(blk * c + ch) * 2 + 1];
    }
    sumA[ch] = accA;
    sumB[ch] = accB;
  }
}

/// Doubles of channelSums2's `partial`: two per (row block, channel).
inline int64_t channelPartials(int64_t n, int64_t c, int64_t hw) {
  return 2 * kernels::ceilDiv(n, kernels::rowsPerBlock(hw)) * c;
}

/// The flat index of element (r = 0, ch, s = 0): the first element of a
/// channel, whatever the block.
template <int64_t X>
inline int64_t firstOfChannel(int64_t ch, int64_t hw) {
  return (ch / X) * hw * X + ch % X;
}

} // namespace detail

/// batch_norm_train forward. x is [n, c, hw] (via the prologue); gamma, beta,
/// batchMean, batchVar have c entries. Per channel over M = n*hw elements:
/// batchMean = sum x / M, batchVar = sum (x - mean)^2 / M (BIASED, as the
/// op's batch_var), y = epi(i, (x - mean) / sqrt(var + eps) * gamma + beta).
/// Statistics are accumulated in double, shifted by the channel's first
/// element (one pass, no E[x^2] - E[x]^2 cancellation). Needs M >= 1 and a
/// workspace of channelStatisticsScratchBytes(n, c, hw).
template <int64_t X, typename Pro, typename Epi>
inline void batchNormTrainForward(int64_t n, int64_t c, int64_t hw, Pro x,
                                  const float *gamma, const float *beta,
                                  double eps, float *y, float *batchMean,
                                  float *batchVar, void *workspace, Epi epi) {
  Workspace carve(workspace);
  double *partial = carve.take<double>(detail::channelPartials(n, c, hw));
  double *k = carve.take<double>(c);
  double *sum = carve.take<double>(c);
  double *sumSq = carve.take<double>(c);
  float *meanF = carve.take<float>(c);
  float *invStdF = carve.take<float>(c);
  for (int64_t ch = 0; ch < c; ++ch)
    k[ch] = static_cast<double>(x(detail::firstOfChannel<X>(ch, hw)));
  detail::channelSums2<X>(
      n, c, hw,
      [&](int64_t i, int64_t ch) { return static_cast<double>(x(i)) - k[ch]; },
      [&](int64_t i, int64_t ch) {
        double d = static_cast<double>(x(i)) - k[ch];
        return d * d;
      },
      sum, sumSq, partial);

  const double count = static_cast<double>(n * hw);
  for (int64_t ch = 0; ch < c; ++ch) {
    double shifted = sum[ch] / count;
    double var = std::max(sumSq[ch] / count - shifted * shifted, 0.0);
    meanF[ch] = static_cast<float>(k[ch] + shifted);
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

/// batch_norm_inference: y = epi(i, (x - mean) / sqrt(var + eps) * gamma +
/// beta) with the given per-channel runningMean, runningVar. Workspace:
/// batchNormInferenceScratchBytes(c).
template <int64_t X, typename Pro, typename Epi>
inline void batchNormInference(int64_t n, int64_t c, int64_t hw, Pro x,
                               const float *gamma, const float *beta,
                               const float *runningMean,
                               const float *runningVar, double eps, float *y,
                               void *workspace, Epi epi) {
  Workspace carve(workspace);
  float *invStdF = carve.take<float>(c);
  for (int64_t ch = 0; ch < c; ++ch)
    invStdF[ch] = 1.0f / std::sqrt(runningVar[ch] + static_cast<float>(eps));
  const float *invStd = invStdF;
  float *out = y;
  detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
    out[i] =
        epi(i, (x(i) - runningMean[ch]) * invStd[ch] * gamma[ch] + beta[ch]);
  });
}

/// batch_norm_train_backward. dy (prologue) and x are [n, c, hw]; batchMean
/// and batchVar are the FORWARD's batch statistics (var biased), M = n*hw,
/// xhat = (x - mean) / sqrt(var + eps):
/// dbeta = sum dy, dgamma = sum dy*xhat (double accumulation),
/// dx = epiOnDx(i, gamma/sqrt(var + eps)/M * (M*dy - dbeta - xhat*dgamma)).
/// Workspace: channelStatisticsScratchBytes(n, c, hw).
template <int64_t X, typename Pro, typename Epi>
inline void batchNormTrainBackward(int64_t n, int64_t c, int64_t hw, Pro dy,
                                   const float *x, const float *gamma,
                                   const float *batchMean,
                                   const float *batchVar, double eps,
                                   float *dx, float *dgamma, float *dbeta,
                                   void *workspace, Epi epiOnDx) {
  Workspace carve(workspace);
  double *partial = carve.take<double>(detail::channelPartials(n, c, hw));
  double *sumDy = carve.take<double>(c);
  double *sumDyCentered = carve.take<double>(c);
  float *coefA = carve.take<float>(c);
  float *coefB = carve.take<float>(c);
  float *coefK = carve.take<float>(c);
  detail::channelSums2<X>(
      n, c, hw,
      [&](int64_t i, int64_t) { return static_cast<double>(dy(i)); },
      [&](int64_t i, int64_t ch) {
        return static_cast<double>(dy(i)) *
               (static_cast<double>(x[i]) - static_cast<double>(batchMean[ch]));
      },
      sumDy, sumDyCentered, partial);

  // dx = a * (dy - b - (x - mean) * k) with a = gamma*invStd,
  // b = dbeta/M, k = invStd * dgamma/M (xhat = (x - mean) * invStd).
  const double count = static_cast<double>(n * hw);
  for (int64_t ch = 0; ch < c; ++ch) {
    double invStd =
        1.0 / std::sqrt(static_cast<double>(batchVar[ch]) + eps);
    double sumDyXhat = sumDyCentered[ch] * invStd;
    dbeta[ch] = static_cast<float>(sumDy[ch]);
    dgamma[ch] = static_cast<float>(sumDyXhat);
    coefA[ch] = static_cast<float>(static_cast<double>(gamma[ch]) * invStd);
    coefB[ch] = static_cast<float>(sumDy[ch] / count);
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

/// running_stats_update over c channels (PyTorch's momentum convention):
/// newMean = (1-m)*runningMean + m*batchMean,
/// newVar = (1-m)*runningVar + m*batchVar*count/(count-1), batchVar biased and
/// count = N*H*W >= 2. newMean may equal runningMean and newVar runningVar
/// (in place). Computed in float, as the reference.
inline void runningStatsUpdate(int64_t c, const float *runningMean,
                               const float *runningVar, const float *batchMean,
                               const float *batchVar, double momentum,
                               int64_t count, float *newMean, float *newVar) {
  const float m = static_cast<float>(momentum);
  const float keep = 1.0f - m;
  const float correction =
      static_cast<float>(count) / static_cast<float>(count - 1);
#pragma omp parallel for simd schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    float mean = keep * runningMean[ch] + m * batchMean[ch];
    float var = keep * runningVar[ch] + m * batchVar[ch] * correction;
    newMean[ch] = mean;
    newVar[ch] = var;
  }
}

/// sum_to_channels: y[ch] = epi(ch, sum over rows r < n and s < hw of
/// element (r, ch, s)) ([N,C]: hw = 1). Double accumulation, deterministic
/// blocks. Workspace: channelStatisticsScratchBytes(n, c, hw).
template <int64_t X, typename Pro, typename Epi>
inline void sumToChannels(int64_t n, int64_t c, int64_t hw, Pro x, float *y,
                          void *workspace, Epi epi) {
  Workspace carve(workspace);
  double *partial = carve.take<double>(detail::channelPartials(n, c, hw));
  double *sum = carve.take<double>(c);
  double *unused = carve.take<double>(c);
  detail::channelSums2<X>(
      n, c, hw,
      [&](int64_t i, int64_t) { return static_cast<double>(x(i)); },
      [](int64_t, int64_t) { return 0.0; }, sum, unused, partial);
  for (int64_t ch = 0; ch < c; ++ch)
    y[ch] = epi(ch, static_cast<float>(sum[ch]));
}

/// normalize (torchvision's Normalize) of x[n, c, hw]:
/// y = epi(i, (x - mean[ch]) / stddev[ch]). The op's mean and std are f64
/// attributes; the generator passes static float arrays holding
/// static_cast<float>(attribute[ch]), as the float reference converts them.
template <int64_t X, typename Pro, typename Epi>
inline void normalizeChannels(int64_t n, int64_t c, int64_t hw, Pro x,
                              const float *mean, const float *stddev,
                              float *y, Epi epi) {
  float *out = y;
  detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
    out[i] = epi(i, (x(i) - mean[ch]) / stddev[ch]);
  });
}

} // namespace cpu
} // namespace simclr

#endif // SIMCLR_KERNELS_CPU_CHANNEL_H
