//===- DataMovement.h - CPU broadcast, slice, concat and image conversion -===//
//
// Semantics of simclr.broadcast, slice, concat and image_to_float
// (lib/Reference/Elementwise.cpp). Slices and concatenations along one dim
// of a row-major tensor use the [outer, dim, inner] view: outer is the
// product of the extents before dim, inner of those after it, so element
// (o, i, k) is at (o*dimSize + i)*inner + k. Conventions are in Common.h.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_DATAMOVEMENT_H
#define SIMCLR_KERNELS_CPU_DATAMOVEMENT_H

#include "simclr/Kernels/Cpu/Common.h"

#include <cstdint>

namespace simclr {
namespace cpu {
namespace detail {

/// Elements one task copies: a contiguous run of an [outer, run] copy is
/// split into chunks of this size so that outer == 1 still parallelizes.
constexpr int64_t kCopyChunkElements = 16384;

/// out[o*dstStride + dstOffset + j] = epi(that index, x(o*srcStride +
/// srcOffset + j)) for o < outer, j < run.
template <typename Pro, typename Epi>
inline void copyRuns(int64_t outer, int64_t run, int64_t srcStride,
                     int64_t srcOffset, int64_t dstStride, int64_t dstOffset,
                     Pro x, float *y, Epi epi) {
  const int64_t chunks = kernels::ceilDiv(run, kCopyChunkElements);
  float *out = y;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t begin = chunk * kCopyChunkElements;
      const int64_t end =
          begin + kCopyChunkElements < run ? begin + kCopyChunkElements : run;
      const int64_t src = o * srcStride + srcOffset;
      const int64_t dst = o * dstStride + dstOffset;
#pragma omp simd
      for (int64_t j = begin; j < end; ++j)
        out[dst + j] = epi(dst + j, x(src + j));
    }
}

} // namespace detail

/// broadcast of the 0-D x to `count` elements: y[i] = epi(i, x[0]).
template <typename Epi>
inline void broadcastTo(int64_t count, const float *x, float *y, Epi epi) {
  const float value = x[0];
  float *out = y;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i)
    out[i] = epi(i, value);
}

/// slice: x is [outer, srcDim, inner], y is [outer, size, inner] with
/// y[o, i, k] = epi(flat y index, x[o, offset + i, k]) for i < size
/// (offset + size <= srcDim).
template <typename Pro, typename Epi>
inline void sliceCopy(int64_t outer, int64_t srcDim, int64_t inner,
                      int64_t offset, int64_t size, Pro x, float *y, Epi epi) {
  detail::copyRuns(outer, size * inner, srcDim * inner, offset * inner,
                   size * inner, 0, x, y, epi);
}

/// One operand of concat: x is [outer, srcDim, inner] and is written to
/// y[outer, dstDim, inner] at positions offset .. offset + srcDim - 1 of the
/// concatenated dim: y[o, offset + i, k] = epi(flat y index, x[o, i, k]).
/// The generator calls it once per operand, offset being the sum of the
/// previous operands' extents; together the calls write all of y.
template <typename Pro, typename Epi>
inline void concatCopy(int64_t outer, int64_t dstDim, int64_t inner,
                       int64_t offset, int64_t srcDim, Pro x, float *y,
                       Epi epi) {
  detail::copyRuns(outer, srcDim * inner, srcDim * inner, 0, dstDim * inner,
                   offset * inner, x, y, epi);
}

/// The largest uint8 value; image_to_float maps it to 1.
constexpr float kMaxPixel = 255.0f;

/// image_to_float: y[i] = epi(i, x[i] / 255) for count uint8 pixels.
template <typename Epi>
inline void imageToFloat(int64_t count, const uint8_t *x, float *y, Epi epi) {
  float *out = y;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i)
    out[i] = epi(i, static_cast<float>(x[i]) / kMaxPixel);
}

} // namespace cpu
} // namespace simclr

#endif // SIMCLR_KERNELS_CPU_DATAMOVEMENT_H
