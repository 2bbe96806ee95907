//===- Common.cuh - Hooks, phases and reductions of the CUDA templates ----===//
//
// Conventions of every header under simclr/Kernels/Cuda (the library that
// generated CUDA kernels call; see CudaKernels.cuh):
//  - Each template has the name and the parameter list of the CPU template
//    of the same name (simclr/Kernels/Cpu), plus a leading `int phase`. It
//    runs as a sequence of launches, one per phase, of one __global__
//    function calling it with the same arguments and phase 0, 1, ...; the
//    launches are ordered on one stream, so phase k + 1 sees everything
//    phase k wrote. That is how grid-wide reductions work without grid
//    synchronization: partial sums to the workspace in one phase, their
//    combination in the next, the pass that applies them after.
//    Launch.h gives each phase's grid and block.
//  - Hooks as on the CPU: a prologue `float(int64_t flatIndex)`, an
//    epilogue `float(int64_t flatIndex, float value)`, indices in the
//    tensor's own layout; Load and Identity are the plain ones.
//  - Deterministic: no atomics; every sum has a fixed order that depends
//    only on the shapes and the launch shape (in-block trees, then block
//    partials combined in block order). Sums are in double where the CPU
//    template sums in double, with the same formulas, so results agree
//    with the CPU to float32 rounding.
//  - Temporaries come from the `workspace` argument, within the bytes
//    simclr/Kernels/Scratch.h plans for the CPU template of the same name.
//  - Compiles under NVRTC (no host header: int64_t is declared here) and
//    nvcc, and under test/unit/cuda/CudaEmulation.h as plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_COMMON_CUH
#define SIMCLR_KERNELS_CUDA_COMMON_CUH

#ifdef __CUDACC_RTC__
// NVRTC ships no <cstdint>; these are the LP64 CUDA device types of the
// element types generated kernels use (KernelLanguage::elementType).
typedef long long int64_t;
typedef int int32_t;
typedef unsigned char uint8_t;
#endif

#include "simclr/Kernels/Cuda/Geometry.h"
#include "simclr/Kernels/Scratch.h"

namespace simclr {
namespace cuda {

/// Hands out typed arrays from a kernel's workspace, in order, each
/// starting on a kernels::kScratchAlignment boundary, the way Scratch.h
/// counts them (the CPU templates' Workspace).
class Workspace {
public:
  __device__ explicit Workspace(void *base)
      : next_(static_cast<unsigned char *>(base)) {}
  template <typename T> __device__ T *take(int64_t count) {
    T *array = reinterpret_cast<T *>(next_);
    next_ += kernels::alignScratch(count * static_cast<int64_t>(sizeof(T)));
    return array;
  }

private:
  unsigned char *next_;
};

/// Prologue reading a plain array: Load{ptr}(i) == ptr[i].
struct Load {
  const float *ptr;
  __device__ float operator()(int64_t i) const { return ptr[i]; }
};

/// Epilogue that stores the computed value unchanged.
struct Identity {
  __device__ float operator()(int64_t, float value) const { return value; }
};

/// The flat index of this thread in a 1-D grid of 1-D blocks, and the
/// number of threads of the grid: the stride of a grid-stride loop.
__device__ inline int64_t globalThreadIndex() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t globalThreadCount() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

/// Copies `bytes` bytes (grid-stride; a no-op when to == from), in 4-byte
/// words when both ends are word aligned, as every float tensor is.
__device__ inline void copyBytes(void *to, const void *from, int64_t bytes) {
  if (to == from)
    return;
  const int64_t first = globalThreadIndex(), stride = globalThreadCount();
  const unsigned long long ends = reinterpret_cast<unsigned long long>(to) |
                                  reinterpret_cast<unsigned long long>(from);
  int64_t done = 0;
  if (ends % sizeof(float) == 0) {
    const int64_t words = bytes / static_cast<int64_t>(sizeof(float));
    float *out = static_cast<float *>(to);
    const float *in = static_cast<const float *>(from);
    for (int64_t i = first; i < words; i += stride)
      out[i] = in[i];
    done = words * static_cast<int64_t>(sizeof(float));
  }
  unsigned char *out = static_cast<unsigned char *>(to);
  const unsigned char *in = static_cast<const unsigned char *>(from);
  for (int64_t i = done + first; i < bytes; i += stride)
    out[i] = in[i];
}

namespace detail {

__device__ inline int64_t minIndex(int64_t a, int64_t b) {
  return a < b ? a : b;
}
__device__ inline int64_t maxIndex(int64_t a, int64_t b) {
  return a < b ? b : a;
}

/// +infinity without <cmath>'s macros, which NVRTC lacks.
__device__ inline float floatInfinity() { return __int_as_float(0x7f800000); }
__device__ inline double doubleInfinity() {
  return __longlong_as_double(0x7ff0000000000000LL);
}

/// Index of anchor i's positive among 2N rows: (i + N) mod 2N.
__device__ inline int64_t positiveOf(int64_t i, int64_t rows2N) {
  const int64_t half = rows2N / 2;
  return i < half ? i + half : i - half;
}

/// Sum over the block's threads of `value` in a fixed order (thread t < 32
/// adds t, t + 32, t + 64, ... in turn, then thread 0 adds those 32 in
/// turn), returned to every thread. `scratch` is kThreadsPerBlock doubles
/// of shared memory; blockDim.x <= kThreadsPerBlock, every thread of the
/// block must call it (it synchronizes).
__device__ inline double blockSum(double value, double *scratch) {
  const int t = static_cast<int>(threadIdx.x);
  const int threads = static_cast<int>(blockDim.x);
  scratch[t] = value;
  __syncthreads();
  if (t < kReduceLanes) {
    double sum = 0;
    for (int j = t; j < threads; j += kReduceLanes)
      sum += scratch[j];
    scratch[t] = sum;
  }
  __syncthreads();
  if (t == 0) {
    double sum = 0;
    for (int j = 0; j < kReduceLanes && j < threads; ++j)
      sum += scratch[j];
    scratch[0] = sum;
  }
  __syncthreads();
  const double total = scratch[0];
  // scratch may be reused as soon as this returns.
  __syncthreads();
  return total;
}

/// blockSum of two values at once (two scratch arrays).
__device__ inline void blockSum2(double &a, double &b, double *scratchA,
                                 double *scratchB) {
  const int t = static_cast<int>(threadIdx.x);
  const int threads = static_cast<int>(blockDim.x);
  scratchA[t] = a;
  scratchB[t] = b;
  __syncthreads();
  if (t < kReduceLanes) {
    double sumA = 0, sumB = 0;
    for (int j = t; j < threads; j += kReduceLanes) {
      sumA += scratchA[j];
      sumB += scratchB[j];
    }
    scratchA[t] = sumA;
    scratchB[t] = sumB;
  }
  __syncthreads();
  if (t == 0) {
    double sumA = 0, sumB = 0;
    for (int j = 0; j < kReduceLanes && j < threads; ++j) {
      sumA += scratchA[j];
      sumB += scratchB[j];
    }
    scratchA[0] = sumA;
    scratchB[0] = sumB;
  }
  __syncthreads();
  a = scratchA[0];
  b = scratchB[0];
  __syncthreads();
}

/// The maximum over the block's threads, as std::max(acc, v) folds it: a
/// NaN never replaces a number (the CPU templates' rule). Same contract as
/// blockSum.
__device__ inline double blockMax(double value, double *scratch) {
  const int t = static_cast<int>(threadIdx.x);
  const int threads = static_cast<int>(blockDim.x);
  scratch[t] = value;
  __syncthreads();
  if (t < kReduceLanes) {
    double best = -doubleInfinity();
    for (int j = t; j < threads; j += kReduceLanes)
      best = best < scratch[j] ? scratch[j] : best;
    scratch[t] = best;
  }
  __syncthreads();
  if (t == 0) {
    double best = -doubleInfinity();
    for (int j = 0; j < kReduceLanes && j < threads; ++j)
      best = best < scratch[j] ? scratch[j] : best;
    scratch[0] = best;
  }
  __syncthreads();
  const double total = scratch[0];
  __syncthreads();
  return total;
}

} // namespace detail
} // namespace cuda
} // namespace simclr

#endif // SIMCLR_KERNELS_CUDA_COMMON_CUH
