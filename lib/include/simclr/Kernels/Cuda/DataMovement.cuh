//===- DataMovement.cuh - CUDA slice and concat copies --------------------===//
//
// The CUDA forms of simclr/Kernels/Cpu/DataMovement.h's sliceCopy and
// concatCopy over the [outer, dim, inner] view: one phase, one thread per
// copied element (grid-stride), so neighbouring threads copy neighbouring
// elements of a run. Conventions are in Common.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_DATAMOVEMENT_CUH
#define SIMCLR_KERNELS_CUDA_DATAMOVEMENT_CUH

#include "simclr/Kernels/Cuda/Common.cuh"

namespace simclr {
namespace cuda {
namespace detail {

/// out[o*dstStride + dstOffset + j] = epi(that index, x(o*srcStride +
/// srcOffset + j)) for o < outer, j < run.
template <typename Pro, typename Epi>
__device__ inline void copyRuns(int64_t outer, int64_t run, int64_t srcStride,
                                int64_t srcOffset, int64_t dstStride,
                                int64_t dstOffset, Pro x, float *y, Epi epi) {
  const int64_t count = outer * run;
  for (int64_t e = globalThreadIndex(); e < count; e += globalThreadCount()) {
    const int64_t o = e / run, j = e % run;
    const int64_t dst = o * dstStride + dstOffset + j;
    y[dst] = epi(dst, x(o * srcStride + srcOffset + j));
  }
}

} // namespace detail

/// slice (Cpu/DataMovement.h), one phase.
template <typename Pro, typename Epi>
__device__ inline void sliceCopy(int phase, int64_t outer, int64_t srcDim,
                                 int64_t inner, int64_t offset, int64_t size,
                                 Pro x, float *y, Epi epi) {
  (void)phase;
  detail::copyRuns(outer, size * inner, srcDim * inner, offset * inner,
                   size * inner, 0, x, y, epi);
}

/// One operand of concat (Cpu/DataMovement.h), one phase.
template <typename Pro, typename Epi>
__device__ inline void concatCopy(int phase, int64_t outer, int64_t dstDim,
                                  int64_t inner, int64_t offset, int64_t srcDim,
                                  Pro x, float *y, Epi epi) {
  (void)phase;
  detail::copyRuns(outer, srcDim * inner, srcDim * inner, 0, dstDim * inner,
                   offset * inner, x, y, epi);
}

} // namespace cuda
} // namespace simclr

#endif // SIMCLR_KERNELS_CUDA_DATAMOVEMENT_CUH
