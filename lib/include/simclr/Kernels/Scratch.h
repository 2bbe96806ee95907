//===- Scratch.h - Workspace sizes of the kernel algorithms -----*- C++ -*-===//
//
// How many bytes of workspace each kernel algorithm needs, as a function of
// its shapes: the compiler (simclr-describe-kernels) plans exactly this
// much in the arena, and every target's kernels carve their temporaries
// out of it, so the running step allocates nothing (STYLE.md rule 26).
// Header-only C++17 with no other simclr header: the CPU kernel templates
// include it too, and so do the CUDA ones (under NVRTC, which has no
// <cstdint>: simclr/Kernels/Cuda/Common.cuh declares int64_t first), so its
// functions are __host__ __device__ under a CUDA compiler.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_SCRATCH_H
#define SIMCLR_KERNELS_SCRATCH_H

#ifndef __CUDACC_RTC__
#include <cstdint>
#endif

#ifdef __CUDACC__
#define SIMCLR_SCRATCH_FUNCTION __host__ __device__ constexpr
#else
#define SIMCLR_SCRATCH_FUNCTION constexpr
#endif

namespace simclr {
namespace kernels {

/// Elements a reduction block covers (rounded to whole rows): large enough
/// to amortize a task, small enough that every kernel of a SimCLR step has
/// many blocks. Changing it changes the rounding of the results (but never
/// their dependence on the thread count).
constexpr int64_t kReduceBlockElements = 4096;

/// Elements per optimizer work item: large enough to amortize scheduling,
/// small enough that a ResNet's largest tensor (2.4M) splits into dozens.
constexpr int64_t kOptimizerChunkElements = 32768;

/// Workspace byte counts are rounded up to this, so that the pieces carved
/// out of one workspace stay aligned for double loads.
constexpr int64_t kScratchAlignment = 64;

SIMCLR_SCRATCH_FUNCTION int64_t ceilDiv(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}
SIMCLR_SCRATCH_FUNCTION int64_t alignScratch(int64_t bytes) {
  return ceilDiv(bytes, kScratchAlignment) * kScratchAlignment;
}

/// Rows of `rowLength` elements per reduction block (at least one).
SIMCLR_SCRATCH_FUNCTION int64_t rowsPerBlock(int64_t rowLength) {
  return kReduceBlockElements / (rowLength > 0 ? rowLength : 1) > 0
             ? kReduceBlockElements / (rowLength > 0 ? rowLength : 1)
             : 1;
}

/// Per-channel statistics over an [n, c, hw] tensor (batch norm's forward
/// and backward, sum_to_channels): two partial sums per (row block,
/// channel) in double, then up to five per-channel vectors (shift and
/// sums in double, the float coefficients the apply pass reads), each
/// aligned on its own.
SIMCLR_SCRATCH_FUNCTION int64_t channelStatisticsScratchBytes(int64_t n,
                                                              int64_t c,
                                                              int64_t hw) {
  return alignScratch(2 * ceilDiv(n, rowsPerBlock(hw)) * c * 8) +
         5 * alignScratch(c * 8);
}

/// The statistics halves of synchronized batch norm (batchNormStatistics,
/// batchNormBackwardStatistics): only channelStatisticsScratchBytes'
/// partial sums, as the sums go straight to the statistics output.
SIMCLR_SCRATCH_FUNCTION int64_t channelSumsScratchBytes(int64_t n, int64_t c,
                                                       int64_t hw) {
  return alignScratch(2 * ceilDiv(n, rowsPerBlock(hw)) * c * 8);
}

/// The apply halves of synchronized batch norm (batchNormApply,
/// batchNormBackwardApply): up to three per-channel float coefficients
/// that the per-element pass reads.
SIMCLR_SCRATCH_FUNCTION int64_t channelCoefficientsScratchBytes(int64_t c) {
  return 3 * alignScratch(c * 4);
}

/// Batch norm in inference mode: the per-channel 1/sqrt(var + eps) (float).
SIMCLR_SCRATCH_FUNCTION int64_t batchNormInferenceScratchBytes(int64_t c) {
  return alignScratch(c * 4);
}

/// reduce_mean over `count` elements: one double partial per block.
SIMCLR_SCRATCH_FUNCTION int64_t reduceScratchBytes(int64_t count) {
  return alignScratch(ceilDiv(count, kReduceBlockElements) * 8);
}

/// NT-Xent over `rows` = 2N embeddings of `dim` (forward, backward or
/// both): the normalized embeddings u (float) and their norms (float), the
/// per-row losses (double), the similarity rows and then the gradient
/// matrix G (rows x rows double) and dU (rows x dim double).
SIMCLR_SCRATCH_FUNCTION int64_t ntXentScratchBytes(int64_t rows, int64_t dim) {
  return alignScratch(rows * dim * 4) + alignScratch(rows * 4) +
         alignScratch(rows * 8) + alignScratch(rows * rows * 8) +
         alignScratch(rows * dim * 8);
}

/// NT-Xent over the gathered projections of a data-parallel step
/// (ntXentGatheredForwardBackward): u, norms, per-row losses and
/// log-sum-exps, dU; no rows x rows matrix. Every term is linear in `rows`,
/// so R times the bytes for one replica's rows covers R replicas' rows: the
/// workspace lives in the plan's gathered region, sized per replica.
SIMCLR_SCRATCH_FUNCTION int64_t ntXentGatheredScratchBytes(int64_t rows,
                                                           int64_t dim) {
  return alignScratch(rows * dim * 4) + alignScratch(rows * 4) +
         2 * alignScratch(rows * 8) + alignScratch(rows * dim * 8);
}

/// Chunks of kOptimizerChunkElements a tensor of `elements` is cut into.
SIMCLR_SCRATCH_FUNCTION int64_t optimizerChunks(int64_t elements) {
  return ceilDiv(elements, kOptimizerChunkElements);
}

/// A multi-tensor optimizer update of `segments` tensors cut into `chunks`
/// chunks in all: the first chunk of each segment (int64, segments + 1),
/// and for LARS two partial norms per chunk, two per-segment norms (double)
/// and the per-segment learning rate (float).
SIMCLR_SCRATCH_FUNCTION int64_t optimizerScratchBytes(int64_t segments,
                                                      int64_t chunks) {
  return alignScratch((segments + 1) * 8) + alignScratch(2 * chunks * 8) +
         2 * alignScratch(segments * 8) + alignScratch(segments * 4);
}

} // namespace kernels
} // namespace simclr

#endif // SIMCLR_KERNELS_SCRATCH_H
