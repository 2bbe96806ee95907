//===- Optimizers.cuh - CUDA multi-tensor optimizers and the LR schedule --===//
//
// The CUDA forms of simclr/Kernels/Cpu/Optimizers.h. The generated kernel
// defines a table of OptimizerSegment (one per parameter tensor; the
// emitter has already copied old buffers to new ones where they differ)
// and every phase updates in place. Segments are cut into
// kOptimizerChunkElements chunks numbered in segment order, one block per
// chunk (block-stride); one thread of the block finds the chunk's segment
// by scanning the table, which is short (one entry per parameter tensor),
// instead of keeping the CPU's first-chunk table. AdamW and SGD are one phase;
// LARS takes three: per-chunk squared norms in double, per-segment norms
// (chunks added in order, one thread per segment) and learning rates, the
// update. Per-element math is the CPU's, in float. Conventions are in
// Common.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_OPTIMIZERS_CUH
#define SIMCLR_KERNELS_CUDA_OPTIMIZERS_CUH

#include "simclr/Kernels/Cuda/Common.cuh"

namespace simclr {
namespace cuda {

/// OptimizerSegment::flags bit: the tensor takes part in LARS layer
/// adaptation and weight decay (Cpu/Optimizers.h's bit of the same name).
constexpr int kOptimizerLayerAdaptation = 1 << 0;

/// One parameter tensor of a multi-tensor update, field for field
/// Cpu/Optimizers.h's OptimizerSegment.
struct OptimizerSegment {
  float *param;
  const float *grad;
  /// SGD and LARS: the momentum buffer; AdamW: exp_avg.
  float *state0;
  /// AdamW: exp_avg_sq; unused (may be null) for SGD and LARS.
  float *state1;
  int64_t size;
  double weightDecay;
  /// kOptimizerLayerAdaptation or 0.
  int flags;
};

namespace detail {

/// pi to double precision (no M_PI under NVRTC).
constexpr double kPi = 3.14159265358979323846;

/// Elements [begin, end) of segs[segment].
struct OptimizerChunk {
  int64_t segment;
  int64_t begin;
  int64_t end;
};

/// The number of chunks of all segments.
__device__ inline int64_t optimizerTotalChunks(const OptimizerSegment *segs,
                                               int64_t count) {
  int64_t total = 0;
  for (int64_t s = 0; s < count; ++s)
    total += kernels::optimizerChunks(segs[s].size);
  return total;
}

/// Chunk number `chunk` (< optimizerTotalChunks).
__device__ inline OptimizerChunk optimizerChunk(const OptimizerSegment *segs,
                                                int64_t count, int64_t chunk) {
  int64_t first = 0;
  for (int64_t s = 0; s < count; ++s) {
    const int64_t chunks = kernels::optimizerChunks(segs[s].size);
    if (chunk < first + chunks) {
      const int64_t begin = (chunk - first) * kernels::kOptimizerChunkElements;
      return {s, begin,
              minIndex(segs[s].size, begin + kernels::kOptimizerChunkElements)};
    }
    first += chunks;
  }
  return {count, 0, 0};
}

/// Calls f(chunkNumber, chunk) for this block's chunks. Thread 0 scans
/// the table (which the generated kernel holds in each thread's local
/// memory) and hands the chunk to the block through shared memory.
template <typename F>
__device__ inline void forEachOptimizerChunk(const OptimizerSegment *segs,
                                             int64_t count, F f) {
  __shared__ int64_t total;
  __shared__ OptimizerChunk current;
  if (threadIdx.x == 0)
    total = optimizerTotalChunks(segs, count);
  __syncthreads();
  const int64_t chunks = total;
  for (int64_t chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
    if (threadIdx.x == 0)
      current = optimizerChunk(segs, count, chunk);
    __syncthreads();
    const OptimizerChunk mine = current;
    // Every thread has its copy before thread 0 writes the next one.
    __syncthreads();
    f(chunk, mine);
  }
}

} // namespace detail

/// lr_schedule (Cpu/Optimizers.h), called by one thread; no phase.
__device__ inline float lrWarmupCosine(int64_t step, double baseLr,
                                       double finalLr, int64_t warmupSteps,
                                       int64_t totalSteps) {
  if (step < warmupSteps)
    return static_cast<float>(baseLr * static_cast<double>(step) /
                              static_cast<double>(warmupSteps));
  const int64_t decaySteps = totalSteps - warmupSteps;
  if (decaySteps == 0)
    return static_cast<float>(baseLr);
  const int64_t progress = detail::minIndex(step - warmupSteps, decaySteps);
  const double cosine = cos(detail::kPi * static_cast<double>(progress) /
                            static_cast<double>(decaySteps));
  return static_cast<float>(finalLr +
                            (baseLr - finalLr) * 0.5 * (1.0 + cosine));
}

/// adamw_update of every segment (Cpu/Optimizers.h), one phase.
/// Workspace: optimizerScratchBytes(count, chunks), unused here.
__device__ inline void adamWUpdateAll(int phase, const OptimizerSegment *segs,
                                      int64_t count, float lr, int64_t step,
                                      double beta1, double beta2, double eps,
                                      void *workspace) {
  (void)phase;
  (void)workspace;
  const float b1 = static_cast<float>(beta1);
  const float b2 = static_cast<float>(beta2);
  const float epsilon = static_cast<float>(eps);
  const float t = static_cast<float>(step + 1);
  const float biasCorrection1 = 1.0f - powf(b1, t);
  const float biasCorrection2 = 1.0f - powf(b2, t);
  detail::forEachOptimizerChunk(
      segs, count, [&](int64_t, detail::OptimizerChunk chunk) {
        const OptimizerSegment &seg = segs[chunk.segment];
        const float decay = 1.0f - lr * static_cast<float>(seg.weightDecay);
        for (int64_t i = chunk.begin + threadIdx.x; i < chunk.end;
             i += blockDim.x) {
          const float grad = seg.grad[i];
          // Decoupled weight decay (Loshchilov & Hutter): applied to p.
          const float decayed = seg.param[i] * decay;
          const float mNew = b1 * seg.state0[i] + (1.0f - b1) * grad;
          const float vNew = b2 * seg.state1[i] + (1.0f - b2) * grad * grad;
          seg.state0[i] = mNew;
          seg.state1[i] = vNew;
          const float mHat = mNew / biasCorrection1;
          const float vHat = vNew / biasCorrection2;
          seg.param[i] = decayed - lr * mHat / (sqrtf(vHat) + epsilon);
        }
      });
}

/// sgd_update of every segment (Cpu/Optimizers.h), one phase.
/// Workspace: optimizerScratchBytes(count, chunks), unused here.
__device__ inline void sgdUpdateAll(int phase, const OptimizerSegment *segs,
                                    int64_t count, float lr, double momentum,
                                    void *workspace) {
  (void)phase;
  (void)workspace;
  const float mu = static_cast<float>(momentum);
  detail::forEachOptimizerChunk(
      segs, count, [&](int64_t, detail::OptimizerChunk chunk) {
        const OptimizerSegment &seg = segs[chunk.segment];
        const float wd = static_cast<float>(seg.weightDecay);
        for (int64_t i = chunk.begin + threadIdx.x; i < chunk.end;
             i += blockDim.x) {
          const float grad = seg.grad[i] + wd * seg.param[i];
          const float b = mu * seg.state0[i] + grad;
          seg.state0[i] = b;
          seg.param[i] -= lr * b;
        }
      });
}

/// lars_update of every segment (Cpu/Optimizers.h): phases chunk norms,
/// segment learning rates, update. Workspace: optimizerScratchBytes(count,
/// chunks), carved as the CPU carves it.
__device__ inline void larsUpdateAll(int phase, const OptimizerSegment *segs,
                                     int64_t count, float lr, double momentum,
                                     double eta, void *workspace) {
  Workspace carve(workspace);
  carve.take<int64_t>(count + 1); // The CPU's chunk table: scanned here.
  const int64_t numChunks = detail::optimizerTotalChunks(segs, count);
  double *part = carve.take<double>(2 * numChunks);
  carve.take<double>(count); // The CPU's per-segment norms: in registers.
  carve.take<double>(count);
  float *scaledLr = carve.take<float>(count);
  if (phase == 0) {
    __shared__ double sumsA[kThreadsPerBlock];
    __shared__ double sumsB[kThreadsPerBlock];
    detail::forEachOptimizerChunk(
        segs, count, [&](int64_t number, detail::OptimizerChunk chunk) {
          const OptimizerSegment &seg = segs[chunk.segment];
          double paramSq = 0, gradSq = 0;
          // The same branch for the whole block.
          if (seg.flags & kOptimizerLayerAdaptation) {
            const float wd = static_cast<float>(seg.weightDecay);
            for (int64_t i = chunk.begin + threadIdx.x; i < chunk.end;
                 i += blockDim.x) {
              const double pv = seg.param[i];
              const double gv = seg.grad[i] + wd * seg.param[i];
              paramSq += pv * pv;
              gradSq += gv * gv;
            }
            detail::blockSum2(paramSq, gradSq, sumsA, sumsB);
          }
          if (threadIdx.x == 0) {
            part[2 * number] = paramSq;
            part[2 * number + 1] = gradSq;
          }
        });
  } else if (phase == 1) {
    for (int64_t s = globalThreadIndex(); s < count; s += globalThreadCount()) {
      int64_t first = 0;
      for (int64_t before = 0; before < s; ++before)
        first += kernels::optimizerChunks(segs[before].size);
      const int64_t end = first + kernels::optimizerChunks(segs[s].size);
      double paramSq = 0, gradSq = 0;
      for (int64_t chunk = first; chunk < end; ++chunk) {
        paramSq += part[2 * chunk];
        gradSq += part[2 * chunk + 1];
      }
      float rate = lr;
      if (segs[s].flags & kOptimizerLayerAdaptation) {
        const double paramNorm = sqrt(paramSq);
        const double gradNorm = sqrt(gradSq);
        // lars_optimizer.py falls back to trust 1 when either norm is 0.
        if (paramNorm > 0 && gradNorm > 0)
          rate = lr * static_cast<float>(eta * paramNorm / gradNorm);
      }
      scaledLr[s] = rate;
    }
  } else {
    const float mu = static_cast<float>(momentum);
    detail::forEachOptimizerChunk(
        segs, count, [&](int64_t, detail::OptimizerChunk chunk) {
          const OptimizerSegment &seg = segs[chunk.segment];
          const float rate = scaledLr[chunk.segment];
          const bool adapted = seg.flags & kOptimizerLayerAdaptation;
          const float wd = static_cast<float>(seg.weightDecay);
          for (int64_t i = chunk.begin + threadIdx.x; i < chunk.end;
               i += blockDim.x) {
            const float grad =
                adapted ? seg.grad[i] + wd * seg.param[i] : seg.grad[i];
            const float vNew = mu * seg.state0[i] + rate * grad;
            seg.state0[i] = vNew;
            seg.param[i] -= vNew;
          }
        });
  }
}

} // namespace cuda
} // namespace simclr

#endif // SIMCLR_KERNELS_CUDA_OPTIMIZERS_CUH
