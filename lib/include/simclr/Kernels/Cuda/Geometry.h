//===- Geometry.h - Block sizes and grid formulas of the CUDA templates ---===//
//
// The numbers both sides of a launch must agree on: Launch.h (host) sizes
// each phase's grid with these functions, and the device templates
// (Common.cuh and the headers beside it) split their work with the same
// ones. No header but Scratch.h, so that NVRTC, nvcc and a host compiler
// all take it.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_GEOMETRY_H
#define SIMCLR_KERNELS_CUDA_GEOMETRY_H

#include "simclr/Kernels/Scratch.h"

#ifdef __CUDACC__
#define SIMCLR_CUDA_GEOMETRY_FUNCTION __host__ __device__ constexpr
#else
#define SIMCLR_CUDA_GEOMETRY_FUNCTION constexpr
#endif

namespace simclr {
namespace cuda {

/// Threads of every block (8 warps): enough to hide latency with several
/// blocks per SM, and the size of the shared arrays of block reductions.
constexpr int kThreadsPerBlock = 256;

/// Threads of a block reduction's first combining step (one warp).
constexpr int kReduceLanes = 32;

/// Channels a block of a channels-inner statistics pass covers: one warp
/// reads 32 neighbouring channels of a position, 128 coalesced bytes.
constexpr int kChannelTile = 32;

/// Positions a channels-inner statistics block reads at once
/// (kThreadsPerBlock / kChannelTile).
constexpr int kPositionLanes = kThreadsPerBlock / kChannelTile;

/// The most blocks a grid-stride launch gets: a few waves on the largest
/// GPU (132 SMs x 8 blocks of 256 threads), far below grid.x's 2^31 - 1.
constexpr int64_t kMaxGridStrideBlocks = 65535;

/// Blocks of a grid-stride loop over `count` items, one per thread.
SIMCLR_CUDA_GEOMETRY_FUNCTION int64_t gridStrideBlocks(int64_t count) {
  return count <= 0 ? 1
         : kernels::ceilDiv(count, kThreadsPerBlock) < kMaxGridStrideBlocks
             ? kernels::ceilDiv(count, kThreadsPerBlock)
             : kMaxGridStrideBlocks;
}

/// Blocks of a launch giving one block to each of `items` rows or chunks
/// (block-stride beyond kMaxGridStrideBlocks).
SIMCLR_CUDA_GEOMETRY_FUNCTION int64_t blockPerItemBlocks(int64_t items) {
  return items <= 0                     ? 1
         : items < kMaxGridStrideBlocks ? items
                                        : kMaxGridStrideBlocks;
}

/// Whether the per-channel statistics of an [n, c, hw] tensor in channel
/// blocks of `x` read channels-inner (neighbouring channels are
/// neighbours in memory: NHWC, or any layout when hw = 1) rather than
/// positions-inner (NCHW).
SIMCLR_CUDA_GEOMETRY_FUNCTION bool statisticsChannelsInner(int64_t x, int64_t c,
                                                           int64_t hw) {
  return x == c || hw == 1;
}

/// Row blocks of the statistics: Scratch.h's reduction blocks.
SIMCLR_CUDA_GEOMETRY_FUNCTION int64_t statisticsRowBlocks(int64_t n,
                                                          int64_t hw) {
  return kernels::ceilDiv(n, kernels::rowsPerBlock(hw));
}

/// Blocks of the partial-sum phase of the statistics: one per (row block,
/// channel tile) channels-inner, one per (row block, channel) otherwise.
SIMCLR_CUDA_GEOMETRY_FUNCTION int64_t statisticsPartialBlocks(int64_t x,
                                                              int64_t n,
                                                              int64_t c,
                                                              int64_t hw) {
  return statisticsRowBlocks(n, hw) * (statisticsChannelsInner(x, c, hw)
                                           ? kernels::ceilDiv(c, kChannelTile)
                                           : c);
}

} // namespace cuda
} // namespace simclr

#endif // SIMCLR_KERNELS_CUDA_GEOMETRY_H
