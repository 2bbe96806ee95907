//===- Channel.h - Per-channel CPU kernels: batch norm, bias, normalize ---===//
//
// Kernels over a [n, c, hw] view of a tensor: x[N,C] is n = N, hw = 1 and
// x[N,C,H,W] is n = N, hw = H*W; element (r, ch, s) is at (r*c + ch)*hw + s.
// Semantics are those of the simclr ops of the same name (SimclrOps.td,
// SimclrGradientOps.td) and of lib/Reference/Norm.cpp. Conventions (hooks,
// determinism) are in Common.h.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_CHANNEL_H
#define SIMCLR_KERNELS_CPU_CHANNEL_H

#include "simclr/Kernels/Cpu/Common.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace simclr {
namespace cpu {
namespace detail {

/// Calls f(flatIndex, channel) for every element of the [n, c, hw] view, in
/// parallel. With hw == 1 (a [N,C] matrix) the unit-stride inner loop runs
/// over channels, otherwise over the hw elements of one (r, ch) plane.
/// f must only write the element at flatIndex (it runs under omp simd).
template <typename F>
inline void forEachChannelElement(int64_t n, int64_t c, int64_t hw, F f) {
  if (hw == 1) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; ++r) {
      const int64_t base = r * c;
#pragma omp simd
      for (int64_t ch = 0; ch < c; ++ch)
        f(base + ch, ch);
    }
    return;
  }
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t r = 0; r < n; ++r)
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t base = (r * c + ch) * hw;
#pragma omp simd
      for (int64_t s = 0; s < hw; ++s)
        f(base + s, ch);
    }
}

/// Per-channel sums over (r, s) of a(i, ch) and of b(i, ch) (functors
/// double(int64_t flatIndex, int64_t channel)),
/// written to sumA[c], sumB[c] in double. Blocks of rowsPerBlock(hw) rows are
/// summed in parallel, then combined in block order: the result does not
/// depend on the thread count.
template <typename FA, typename FB>
inline void channelSums2(int64_t n, int64_t c, int64_t hw, FA a, FB b,
                         double *sumA, double *sumB) {
  const int64_t rows = rowsPerBlock(hw);
  const int64_t blocks = ceilDiv(n, rows);
  std::vector<double> partial(static_cast<size_t>(blocks * c * 2));
  double *part = partial.data();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk)
    for (int64_t ch = 0; ch < c; ++ch) {
      double accA = 0, accB = 0;
      const int64_t rEnd = std::min(n, (blk + 1) * rows);
      for (int64_t r = blk * rows; r < rEnd; ++r) {
        const int64_t base = (r * c + ch) * hw;
#pragma omp simd reduction(+ : accA, accB)
        for (int64_t s = 0; s < hw; ++s) {
          accA += a(base + s, ch);
          accB += b(base + s, ch);
        }
      }
      part[(blk * c + ch) * 2] = accA;
      part[(blk * c + ch) * 2 + 1] = accB;
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

} // namespace detail

/// batch_norm_train forward. x is [n, c, hw] (via the prologue); gamma, beta,
/// batchMean, batchVar have c entries. Per channel over M = n*hw elements:
/// batchMean = sum x / M, batchVar = sum (x - mean)^2 / M (BIASED, as the
/// op's batch_var), y = epi(i, (x - mean) / sqrt(var + eps) * gamma + beta).
/// Statistics are accumulated in double, shifted by the channel's first
/// element (one pass, no E[x^2] - E[x]^2 cancellation). Needs M >= 1.
template <typename Pro, typename Epi>
inline void batchNormTrainForward(int64_t n, int64_t c, int64_t hw, Pro x,
                                  const float *gamma, const float *beta,
                                  double eps, float *y, float *batchMean,
                                  float *batchVar, Epi epi) {
  std::vector<double> shift(static_cast<size_t>(c));
  std::vector<double> sum(static_cast<size_t>(c));
  std::vector<double> sumSq(static_cast<size_t>(c));
  double *k = shift.data();
  for (int64_t ch = 0; ch < c; ++ch)
    k[ch] = static_cast<double>(x(ch * hw));
  detail::channelSums2(
      n, c, hw,
      [&](int64_t i, int64_t ch) { return static_cast<double>(x(i)) - k[ch]; },
      [&](int64_t i, int64_t ch) {
        double d = static_cast<double>(x(i)) - k[ch];
        return d * d;
      },
      sum.data(), sumSq.data());

  std::vector<float> meanF(static_cast<size_t>(c)), invStdF(
                                                        static_cast<size_t>(c));
  const double count = static_cast<double>(n * hw);
  for (int64_t ch = 0; ch < c; ++ch) {
    double shifted = sum[ch] / count;
    double var = std::max(sumSq[ch] / count - shifted * shifted, 0.0);
    meanF[ch] = static_cast<float>(k[ch] + shifted);
    invStdF[ch] = static_cast<float>(1.0 / std::sqrt(var + eps));
    batchMean[ch] = meanF[ch];
    batchVar[ch] = static_cast<float>(var);
  }
  const float *mean = meanF.data();
  const float *invStd = invStdF.data();
  float *out = y;
  detail::forEachChannelElement(n, c, hw, [&](int64_t i, int64_t ch) {
    out[i] = epi(i, (x(i) - mean[ch]) * invStd[ch] * gamma[ch] + beta[ch]);
  });
}

/// batch_norm_inference: y = epi(i, (x - mean) / sqrt(var + eps) * gamma +
/// beta) with the given per-channel runningMean, runningVar.
template <typename Pro, typename Epi>
inline void batchNormInference(int64_t n, int64_t c, int64_t hw, Pro x,
                               const float *gamma, const float *beta,
                               const float *runningMean,
                               const float *runningVar, double eps, float *y,
                               Epi epi) {
  std::vector<float> invStdF(static_cast<size_t>(c));
  for (int64_t ch = 0; ch < c; ++ch)
    invStdF[ch] = 1.0f / std::sqrt(runningVar[ch] + static_cast<float>(eps));
  const float *invStd = invStdF.data();
  float *out = y;
  detail::forEachChannelElement(n, c, hw, [&](int64_t i, int64_t ch) {
    out[i] =
        epi(i, (x(i) - runningMean[ch]) * invStd[ch] * gamma[ch] + beta[ch]);
  });
}

/// batch_norm_train_backward. dy (prologue) and x are [n, c, hw]; batchMean
/// and batchVar are the FORWARD's batch statistics (var biased), M = n*hw,
/// xhat = (x - mean) / sqrt(var + eps):
/// dbeta = sum dy, dgamma = sum dy*xhat (double accumulation),
/// dx = epiOnDx(i, gamma/sqrt(var + eps)/M * (M*dy - dbeta - xhat*dgamma)).
template <typename Pro, typename Epi>
inline void batchNormTrainBackward(int64_t n, int64_t c, int64_t hw, Pro dy,
                                   const float *x, const float *gamma,
                                   const float *batchMean,
                                   const float *batchVar, double eps,
                                   float *dx, float *dgamma, float *dbeta,
                                   Epi epiOnDx) {
  std::vector<double> sumDy(static_cast<size_t>(c));
  std::vector<double> sumDyCentered(static_cast<size_t>(c));
  detail::channelSums2(
      n, c, hw,
      [&](int64_t i, int64_t) { return static_cast<double>(dy(i)); },
      [&](int64_t i, int64_t ch) {
        return static_cast<double>(dy(i)) *
               (static_cast<double>(x[i]) - static_cast<double>(batchMean[ch]));
      },
      sumDy.data(), sumDyCentered.data());

  // dx = a * (dy - b - (x - mean) * k) with a = gamma*invStd,
  // b = dbeta/M, k = invStd * dgamma/M (xhat = (x - mean) * invStd).
  std::vector<float> coefA(static_cast<size_t>(c)), coefB(
                                                        static_cast<size_t>(c)),
      coefK(static_cast<size_t>(c));
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
  const float *a = coefA.data(), *b = coefB.data(), *k = coefK.data();
  const float *mean = batchMean;
  const float *xin = x;
  float *out = dx;
  detail::forEachChannelElement(n, c, hw, [&](int64_t i, int64_t ch) {
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

/// sum_to_channels: y[ch] = sum over o < outer, i < inner of
/// x[(o*c + ch)*inner + i] ([N,C]: outer = N, inner = 1; NCHW: outer = N,
/// inner = H*W). Double accumulation, deterministic blocks.
template <typename Pro>
inline void sumToChannels(int64_t outer, int64_t c, int64_t inner, Pro x,
                          float *y) {
  std::vector<double> sum(static_cast<size_t>(c)), unused(
                                                       static_cast<size_t>(c));
  detail::channelSums2(
      outer, c, inner,
      [&](int64_t i, int64_t) { return static_cast<double>(x(i)); },
      [](int64_t, int64_t) { return 0.0; }, sum.data(), unused.data());
  for (int64_t ch = 0; ch < c; ++ch)
    y[ch] = static_cast<float>(sum[ch]);
}

/// y[(o*c + ch)*inner + i] = epi(flat, x[flat] + bias[ch]): a per-channel bias
/// (after a matmul for a linear layer: outer = N, c = out features,
/// inner = 1). y may equal x.
template <typename Epi>
inline void addChannelBias(int64_t outer, int64_t c, int64_t inner,
                           const float *x, const float *bias, float *y,
                           Epi epi) {
  const float *in = x;
  float *out = y;
  detail::forEachChannelElement(outer, c, inner, [&](int64_t i, int64_t ch) {
    out[i] = epi(i, in[i] + bias[ch]);
  });
}

/// normalize (torchvision's Normalize) of x[n, c, hw]:
/// y = epi(i, (x - mean[ch]) / stddev[ch]). The op's mean and std are f64
/// attributes; the generator passes static float arrays holding
/// static_cast<float>(attribute[ch]), as the float reference converts them.
template <typename Pro, typename Epi>
inline void normalizeChannels(int64_t n, int64_t c, int64_t hw, Pro x,
                              const float *mean, const float *stddev,
                              float *y, Epi epi) {
  float *out = y;
  detail::forEachChannelElement(n, c, hw, [&](int64_t i, int64_t ch) {
    out[i] = epi(i, (x(i) - mean[ch]) / stddev[ch]);
  });
}

} // namespace cpu
} // namespace simclr

#endif // SIMCLR_KERNELS_CPU_CHANNEL_H
