//===- Launch.h - The launches of each CUDA kernel template ---------------===//
//
// Host side of the CUDA templates (CudaKernels.cuh): how many phases a
// template runs and each phase's grid, block and dynamic shared memory, as
// a function of the integer arguments the emitter prints. Plain C++17 with
// no CUDA header: the compiler (which plans the launches) and the tests
// include it. The formulas are Geometry.h's, shared with the device code.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_LAUNCH_H
#define SIMCLR_KERNELS_CUDA_LAUNCH_H

#include "simclr/Kernels/Cuda/Geometry.h"
#include "simclr/Kernels/Scratch.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace simclr {
namespace cuda {

/// One launch: grid and block extents (x, y, z) and dynamic shared bytes.
struct LaunchShape {
  std::array<int64_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  int64_t sharedBytes = 0;
};

/// CUDA's limits on a launch (compute capability 3.0 and later).
constexpr int64_t kMaxGridX = (int64_t{1} << 31) - 1;
constexpr int64_t kMaxGridYZ = 65535;
constexpr int64_t kMaxThreadsPerBlock = 1024;

/// Whether `shape` is within kMaxGridX, kMaxGridYZ, kMaxThreadsPerBlock,
/// with every extent at least 1.
inline bool withinCudaLimits(const LaunchShape &shape) {
  for (int64_t extent : shape.grid)
    if (extent < 1)
      return false;
  for (int64_t extent : shape.block)
    if (extent < 1)
      return false;
  return shape.grid[0] <= kMaxGridX && shape.grid[1] <= kMaxGridYZ &&
         shape.grid[2] <= kMaxGridYZ &&
         shape.block[0] * shape.block[1] * shape.block[2] <=
             kMaxThreadsPerBlock;
}

namespace detail {

/// `blocks` blocks of kThreadsPerBlock threads.
inline LaunchShape blocksOf(int64_t blocks) {
  LaunchShape shape;
  shape.grid[0] = blocks;
  shape.block[0] = kThreadsPerBlock;
  return shape;
}

/// A grid-stride launch over `count` items.
inline LaunchShape gridStride(int64_t count) {
  return blocksOf(gridStrideBlocks(count));
}

/// One block per item (rows, chunks).
inline LaunchShape blockPerItem(int64_t items) {
  return blocksOf(blockPerItemBlocks(items));
}

/// One thread (a sequential combination of partial results).
inline LaunchShape singleThread() { return LaunchShape{}; }

/// Whether every value is at least 1.
inline bool allPositive(const std::vector<int64_t> &values) {
  for (int64_t value : values)
    if (value < 1)
      return false;
  return true;
}

/// The launches of the templates whose integer arguments are {X, n, c, hw}.
inline std::optional<std::vector<LaunchShape>>
channelLaunches(std::string_view name, const std::vector<int64_t> &dims) {
  if (dims.size() != 4 || !allPositive(dims) || dims[2] % dims[0] != 0)
    return std::nullopt;
  const int64_t x = dims[0], n = dims[1], c = dims[2], hw = dims[3];
  const LaunchShape partials =
      blocksOf(blockPerItemBlocks(statisticsPartialBlocks(x, n, c, hw)));
  const LaunchShape perChannel = gridStride(c);
  const LaunchShape perElement = gridStride(n * c * hw);
  if (name == "batchNormTrainForward" || name == "batchNormTrainBackward")
    return std::vector<LaunchShape>{partials, perChannel, perElement};
  if (name == "sumToChannels" || name == "batchNormStatistics" ||
      name == "batchNormBackwardStatistics")
    return std::vector<LaunchShape>{partials, perChannel};
  if (name == "batchNormApply" || name == "batchNormBackwardApply")
    return std::vector<LaunchShape>{perChannel, perElement};
  if (name == "batchNormInference" || name == "normalizeChannels" ||
      name == "globalAvgPoolBackward")
    return std::vector<LaunchShape>{perElement};
  if (name == "globalAvgPoolForward")
    return std::vector<LaunchShape>{gridStride(n * c)};
  return std::nullopt;
}

/// maxPool2dForward/Backward {n, c, h, w, kh, kw, sh, sw, ph, pw}.
inline std::optional<std::vector<LaunchShape>>
poolLaunches(bool forward, const std::vector<int64_t> &dims) {
  if (dims.size() != 10)
    return std::nullopt;
  const int64_t n = dims[0], c = dims[1], h = dims[2], w = dims[3];
  const int64_t kh = dims[4], kw = dims[5], sh = dims[6], sw = dims[7];
  const int64_t ph = dims[8], pw = dims[9];
  if (!allPositive({n, c, h, w, kh, kw, sh, sw}) || ph < 0 || pw < 0 ||
      2 * ph > kh || 2 * pw > kw || h + 2 * ph < kh || w + 2 * pw < kw)
    return std::nullopt;
  const int64_t oh = (h + 2 * ph - kh) / sh + 1;
  const int64_t ow = (w + 2 * pw - kw) / sw + 1;
  return std::vector<LaunchShape>{
      gridStride(forward ? n * c * oh * ow : n * c * h * w)};
}

} // namespace detail

/// The launches of template `name` (those of CudaKernels.cuh, plus
/// "elementwise" {count}, "copyBytes" {bytes} and "lrWarmupCosine" {}),
/// given `dims`: X where the template has it, then its leading integer
/// arguments as the emitter prints them; for the optimizers {segment count,
/// total chunks} (the sum of kernels::optimizerChunks over the segments);
/// for ntXentGatheredForwardBackward {2N, dim} of one replica (its rows are
/// a run-time multiple of 2N).
/// std::nullopt for an unknown name, or dims of the wrong count or out of
/// range. Launch k runs phase k.
inline std::optional<std::vector<LaunchShape>>
launchesOf(std::string_view name, const std::vector<int64_t> &dims) {
  using detail::allPositive;
  using detail::blockPerItem;
  using detail::gridStride;
  using Launches = std::vector<LaunchShape>;
  std::optional<Launches> result;
  if (name == "batchNormTrainForward" || name == "batchNormTrainBackward" ||
      name == "sumToChannels" || name == "batchNormInference" ||
      name == "normalizeChannels" || name == "globalAvgPoolForward" ||
      name == "globalAvgPoolBackward" || name == "batchNormStatistics" ||
      name == "batchNormApply" || name == "batchNormBackwardStatistics" ||
      name == "batchNormBackwardApply") {
    result = detail::channelLaunches(name, dims);
  } else if (name == "maxPool2dForward" || name == "maxPool2dBackward") {
    result = detail::poolLaunches(name == "maxPool2dForward", dims);
  } else if (name == "runningStatsUpdate" ||
             name == "runningStatsFromSums" || name == "elementwise" ||
             name == "gatherPositivesForward") {
    if (dims.size() == 1 && allPositive(dims) &&
        (name != "gatherPositivesForward" || dims[0] % 2 == 0))
      result = Launches{gridStride(dims[0])};
  } else if (name == "gatherPositivesBackward") {
    if (dims.size() == 1 && allPositive(dims) && dims[0] % 2 == 0)
      result = Launches{gridStride(dims[0] * dims[0])};
  } else if (name == "copyBytes") {
    if (dims.size() == 1 && dims[0] >= 0)
      result = Launches{gridStride(kernels::ceilDiv(dims[0], 4))};
  } else if (name == "lrWarmupCosine") {
    if (dims.empty())
      result = Launches{detail::singleThread()};
  } else if (name == "l2NormalizeForward" || name == "l2NormalizeBackward") {
    if (dims.size() == 2 && allPositive(dims))
      result = Launches{blockPerItem(dims[0])};
  } else if (name == "ntXentForward" || name == "ntXentBackward" ||
             name == "ntXentForwardBackward") {
    if (dims.size() == 2 && allPositive(dims) && dims[0] % 2 == 0) {
      const LaunchShape rows = blockPerItem(dims[0]);
      result = Launches{
          rows, rows, name == "ntXentForward" ? detail::singleThread() : rows};
    }
  } else if (name == "ntXentGatheredForwardBackward") {
    // {2N, dim} of one replica: the rows are R * 2N with R known only on
    // the device, so the grid is one block per row of one replica and
    // every phase loops block-stride over the rows (valid for any R).
    if (dims.size() == 2 && allPositive(dims) && dims[0] % 2 == 0) {
      const LaunchShape rows = blockPerItem(dims[0]);
      result = Launches{rows, rows, rows};
    }
  } else if (name == "maskedScaledLogSoftmaxForward" ||
             name == "maskedScaledLogSoftmaxBackward") {
    if (dims.size() == 1 && allPositive(dims))
      result = Launches{blockPerItem(dims[0])};
  } else if (name == "reduceMeanForward") {
    if (dims.size() == 1 && allPositive(dims))
      result = Launches{blockPerItem(kernels::ceilDiv(
                            dims[0], kernels::kReduceBlockElements)),
                        detail::singleThread()};
  } else if (name == "sliceCopy" || name == "concatCopy") {
    // sliceCopy {outer, srcDim, inner, offset, size};
    // concatCopy {outer, dstDim, inner, offset, srcDim}: the second extent
    // holds offset + the fifth.
    if (dims.size() == 5 && dims[0] >= 1 && dims[1] >= 1 && dims[2] >= 1 &&
        dims[3] >= 0 && dims[4] >= 1 && dims[3] + dims[4] <= dims[1])
      result = Launches{gridStride(dims[0] * dims[4] * dims[2])};
  } else if (name == "adamWUpdateAll" || name == "sgdUpdateAll" ||
             name == "larsUpdateAll") {
    if (dims.size() == 2 && allPositive(dims)) {
      const LaunchShape chunks = blockPerItem(dims[1]);
      if (name == "larsUpdateAll")
        result = Launches{chunks, gridStride(dims[0]), chunks};
      else
        result = Launches{chunks};
    }
  }
  if (result)
    for (const LaunchShape &shape : *result)
      if (!withinCudaLimits(shape))
        return std::nullopt;
  return result;
}

} // namespace cuda
} // namespace simclr

#endif // SIMCLR_KERNELS_CUDA_LAUNCH_H
