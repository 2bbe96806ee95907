//===- Channel.cuh - Per-channel CUDA kernels: batch norm, bias, normalize ===//
//
// The CUDA forms of simclr/Kernels/Cpu/Channel.h: [n, c, hw] tensors whose
// channels lie in blocks of X, element (r, ch, s) at
//   ((r * (c / X) + ch / X) * hw + s) * X + ch % X
// (X = 1 NCHW, X = c NHWC). Per-channel statistics take three phases:
//  0. partial sums per (Scratch.h row block, channel) in double, written to
//     the workspace as the CPU writes them. NHWC (and hw = 1) reads
//     channels-inner: a block covers kChannelTile (or c) neighbouring channels
//     of a row block, its threads along channels then positions, so a warp
//     reads 128 contiguous bytes; NCHW gives a block one (row block,
//     channel) and its threads run along positions.
//  1. one thread per channel combines the row blocks in order (as the CPU)
//     and writes the statistics and the apply pass's coefficients.
//  2. the apply pass, one thread per element (grid-stride).
// Conventions (phases, hooks, determinism) are in Common.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_CHANNEL_CUH
#define SIMCLR_KERNELS_CUDA_CHANNEL_CUH

#include "simclr/Kernels/Cuda/Common.cuh"

namespace simclr {
namespace cuda {
namespace detail {

/// The channel of flat index i of an [n, c, hw] tensor in blocks of X.
template <int64_t X>
__device__ inline int64_t channelOf(int64_t i, int64_t c, int64_t hw) {
  return ((i / (hw * X)) % (c / X)) * X + i % X;
}

/// The flat index of element (r, ch, s).
template <int64_t X>
__device__ inline int64_t elementAt(int64_t r, int64_t ch, int64_t s, int64_t c,
                                    int64_t hw) {
  return ((r * (c / X) + ch / X) * hw + s) * X + ch % X;
}

/// Doubles of the partial sums: two per (row block, channel).
__device__ inline int64_t channelPartials(int64_t n, int64_t c, int64_t hw) {
  return 2 * statisticsRowBlocks(n, hw) * c;
}

/// Phase "partials" of the per-channel sums of a(i, k) and b(i, k) over
/// (r, s), k = shift(ch) evaluated once per channel and thread: writes
/// partial[(rowBlock * c + ch) * 2 + {0, 1}] (the CPU's layout). Launch:
/// statisticsPartialBlocks blocks of kThreadsPerBlock threads.
template <int64_t X, typename Shift, typename FA, typename FB>
__device__ inline void channelPartialSums(int64_t n, int64_t c, int64_t hw,
                                          Shift shift, FA a, FB b,
                                          double *partial) {
  __shared__ double sumsA[kThreadsPerBlock];
  __shared__ double sumsB[kThreadsPerBlock];
  const int64_t rows = kernels::rowsPerBlock(hw);
  const int64_t rowBlocks = statisticsRowBlocks(n, hw);
  const int t = static_cast<int>(threadIdx.x);
  if (statisticsChannelsInner(X, c, hw)) {
    // Element (position p = r * hw + s, ch) is at p * c + ch. A tile is
    // kChannelTile channels, or all c when fewer, so that with 16 channels
    // the block still reads 256 contiguous floats (16 positions at once).
    const int width = c < kChannelTile ? static_cast<int>(c) : kChannelTile;
    const int64_t tiles = kernels::ceilDiv(c, width);
    const int lane = t % width;
    const int group = t / width;
    const int groups = static_cast<int>(blockDim.x) / width;
    for (int64_t block = blockIdx.x; block < rowBlocks * tiles;
         block += gridDim.x) {
      const int64_t rowBlock = block / tiles;
      const int64_t ch = (block % tiles) * width + lane;
      double accA = 0, accB = 0;
      if (ch < c && group < groups) {
        const double k = shift(ch);
        const int64_t end = minIndex(n, (rowBlock + 1) * rows) * hw;
        for (int64_t p = rowBlock * rows * hw + group; p < end; p += groups) {
          accA += a(p * c + ch, k);
          accB += b(p * c + ch, k);
        }
      }
      sumsA[t] = accA;
      sumsB[t] = accB;
      __syncthreads();
      if (group == 0 && ch < c) {
        double totalA = 0, totalB = 0;
        for (int g = 0; g < groups; ++g) {
          totalA += sumsA[g * width + lane];
          totalB += sumsB[g * width + lane];
        }
        partial[(rowBlock * c + ch) * 2] = totalA;
        partial[(rowBlock * c + ch) * 2 + 1] = totalB;
      }
      __syncthreads();
    }
    return;
  }
  for (int64_t block = blockIdx.x; block < rowBlocks * c; block += gridDim.x) {
    const int64_t rowBlock = block / c;
    const int64_t ch = block % c;
    const double k = shift(ch);
    const int64_t r0 = rowBlock * rows;
    const int64_t count = (minIndex(n, r0 + rows) - r0) * hw;
    double accA = 0, accB = 0;
    for (int64_t q = t; q < count; q += blockDim.x) {
      const int64_t i = elementAt<X>(r0 + q / hw, ch, q % hw, c, hw);
      accA += a(i, k);
      accB += b(i, k);
    }
    blockSum2(accA, accB, sumsA, sumsB);
    if (t == 0) {
      partial[(rowBlock * c + ch) * 2] = accA;
      partial[(rowBlock * c + ch) * 2 + 1] = accB;
    }
  }
}

/// Phase "combine": the per-channel totals of channelPartialSums, row
/// blocks added in order; calls f(ch, sumA, sumB) once per channel (one
/// thread per channel, grid-stride).
template <typename F>
__device__ inline void combineChannelPartials(int64_t n, int64_t c, int64_t hw,
                                              const double *partial, F f) {
  const int64_t rowBlocks = statisticsRowBlocks(n, hw);
  for (int64_t ch = globalThreadIndex(); ch < c; ch += globalThreadCount()) {
    double sumA = 0, sumB = 0;
    for (int64_t rowBlock = 0; rowBlock < rowBlocks; ++rowBlock) {
      sumA += partial[(rowBlock * c + ch) * 2];
      sumB += partial[(rowBlock * c + ch) * 2 + 1];
    }
    f(ch, sumA, sumB);
  }
}

/// Calls f(flatIndex, channel) for every element (grid-stride).
template <int64_t X, typename F>
__device__ inline void forEachChannelElement(int64_t n, int64_t c, int64_t hw,
                                             F f) {
  const int64_t count = n * c * hw;
  for (int64_t i = globalThreadIndex(); i < count; i += globalThreadCount())
    f(i, channelOf<X>(i, c, hw));
}

/// The flat index of element (r = 0, ch, s = 0).
template <int64_t X>
__device__ inline int64_t firstOfChannel(int64_t ch, int64_t hw) {
  return (ch / X) * hw * X + ch % X;
}

} // namespace detail

/// batch_norm_train forward (Cpu/Channel.h): statistics shifted by each
/// channel's first element, in double; three phases (partials, combine,
/// apply). Workspace: channelStatisticsScratchBytes(n, c, hw).
template <int64_t X, typename Pro, typename Epi>
__device__ inline void
batchNormTrainForward(int phase, int64_t n, int64_t c, int64_t hw, Pro x,
                      const float *gamma, const float *beta, double eps,
                      float *y, float *batchMean, float *batchVar,
                      void *workspace, Epi epi) {
  Workspace carve(workspace);
  double *partial = carve.take<double>(detail::channelPartials(n, c, hw));
  carve.take<double>(c); // The CPU's shifts: recomputed here instead.
  carve.take<double>(c); // The CPU's sums: kept in registers here.
  carve.take<double>(c);
  float *meanF = carve.take<float>(c);
  float *invStdF = carve.take<float>(c);
  auto shift = [&](int64_t ch) {
    return static_cast<double>(x(detail::firstOfChannel<X>(ch, hw)));
  };
  if (phase == 0) {
    detail::channelPartialSums<X>(
        n, c, hw, shift,
        [&](int64_t i, double k) { return static_cast<double>(x(i)) - k; },
        [&](int64_t i, double k) {
          const double d = static_cast<double>(x(i)) - k;
          return d * d;
        },
        partial);
  } else if (phase == 1) {
    const double count = static_cast<double>(n * hw);
    detail::combineChannelPartials(
        n, c, hw, partial, [&](int64_t ch, double sum, double sumSq) {
          const double shifted = sum / count;
          double var = sumSq / count - shifted * shifted;
          var = var > 0.0 ? var : 0.0;
          meanF[ch] = static_cast<float>(shift(ch) + shifted);
          invStdF[ch] = static_cast<float>(1.0 / sqrt(var + eps));
          batchMean[ch] = meanF[ch];
          batchVar[ch] = static_cast<float>(var);
        });
  } else {
    detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
      y[i] = epi(i, (x(i) - meanF[ch]) * invStdF[ch] * gamma[ch] + beta[ch]);
    });
  }
}

/// batch_norm_inference (Cpu/Channel.h), one phase; 1/sqrt(var + eps) is
/// recomputed per element (in float, as the CPU) instead of stored, so the
/// workspace is unused.
template <int64_t X, typename Pro, typename Epi>
__device__ inline void
batchNormInference(int phase, int64_t n, int64_t c, int64_t hw, Pro x,
                   const float *gamma, const float *beta,
                   const float *runningMean, const float *runningVar,
                   double eps, float *y, void *workspace, Epi epi) {
  (void)phase;
  (void)workspace;
  const float epsF = static_cast<float>(eps);
  detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
    const float invStd = 1.0f / sqrtf(runningVar[ch] + epsF);
    y[i] = epi(i, (x(i) - runningMean[ch]) * invStd * gamma[ch] + beta[ch]);
  });
}

/// batch_norm_train_backward (Cpu/Channel.h): sums of dy and dy*(x - mean)
/// in double; three phases (partials, combine, apply). Workspace:
/// channelStatisticsScratchBytes(n, c, hw).
template <int64_t X, typename Pro, typename Epi>
__device__ inline void
batchNormTrainBackward(int phase, int64_t n, int64_t c, int64_t hw, Pro dy,
                       const float *x, const float *gamma,
                       const float *batchMean, const float *batchVar,
                       double eps, float *dx, float *dgamma, float *dbeta,
                       void *workspace, Epi epiOnDx) {
  Workspace carve(workspace);
  double *partial = carve.take<double>(detail::channelPartials(n, c, hw));
  carve.take<double>(c); // The CPU's sums: kept in registers here.
  carve.take<double>(c);
  float *coefA = carve.take<float>(c);
  float *coefB = carve.take<float>(c);
  float *coefK = carve.take<float>(c);
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
  } else if (phase == 1) {
    // dx = a * (dy - b - (x - mean) * k) with a = gamma*invStd,
    // b = dbeta/M, k = invStd * dgamma/M.
    const double count = static_cast<double>(n * hw);
    detail::combineChannelPartials(
        n, c, hw, partial, [&](int64_t ch, double sumDy, double sumDyCentered) {
          const double invStd =
              1.0 / sqrt(static_cast<double>(batchVar[ch]) + eps);
          const double sumDyXhat = sumDyCentered * invStd;
          dbeta[ch] = static_cast<float>(sumDy);
          dgamma[ch] = static_cast<float>(sumDyXhat);
          coefA[ch] =
              static_cast<float>(static_cast<double>(gamma[ch]) * invStd);
          coefB[ch] = static_cast<float>(sumDy / count);
          coefK[ch] = static_cast<float>(invStd * sumDyXhat / count);
        });
  } else {
    detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
      dx[i] = epiOnDx(i, coefA[ch] * (dy(i) - coefB[ch] -
                                      (x[i] - batchMean[ch]) * coefK[ch]));
    });
  }
}

/// running_stats_update (Cpu/Channel.h), one phase, one thread per channel.
__device__ inline void
runningStatsUpdate(int phase, int64_t c, const float *runningMean,
                   const float *runningVar, const float *batchMean,
                   const float *batchVar, double momentum, int64_t count,
                   float *newMean, float *newVar) {
  (void)phase;
  const float m = static_cast<float>(momentum);
  const float keep = 1.0f - m;
  const float correction =
      static_cast<float>(count) / static_cast<float>(count - 1);
  for (int64_t ch = globalThreadIndex(); ch < c; ch += globalThreadCount()) {
    const float mean = keep * runningMean[ch] + m * batchMean[ch];
    const float var = keep * runningVar[ch] + m * batchVar[ch] * correction;
    newMean[ch] = mean;
    newVar[ch] = var;
  }
}

/// sum_to_channels (Cpu/Channel.h): two phases (partials, combine).
/// Workspace: channelStatisticsScratchBytes(n, c, hw).
template <int64_t X, typename Pro, typename Epi>
__device__ inline void sumToChannels(int phase, int64_t n, int64_t c,
                                     int64_t hw, Pro x, float *y,
                                     void *workspace, Epi epi) {
  double *partial =
      Workspace(workspace).take<double>(detail::channelPartials(n, c, hw));
  if (phase == 0) {
    detail::channelPartialSums<X>(
        n, c, hw, [](int64_t) { return 0.0; },
        [&](int64_t i, double) { return static_cast<double>(x(i)); },
        [](int64_t, double) { return 0.0; }, partial);
  } else {
    detail::combineChannelPartials(n, c, hw, partial,
                                   [&](int64_t ch, double sum, double) {
                                     y[ch] = epi(ch, static_cast<float>(sum));
                                   });
  }
}

/// normalize (Cpu/Channel.h), one phase.
template <int64_t X, typename Pro, typename Epi>
__device__ inline void
normalizeChannels(int phase, int64_t n, int64_t c, int64_t hw, Pro x,
                  const float *mean, const float *stddev, float *y, Epi epi) {
  (void)phase;
  detail::forEachChannelElement<X>(n, c, hw, [&](int64_t i, int64_t ch) {
    y[i] = epi(i, (x(i) - mean[ch]) / stddev[ch]);
  });
}

} // namespace cuda
} // namespace simclr

#endif // SIMCLR_KERNELS_CUDA_CHANNEL_CUH
