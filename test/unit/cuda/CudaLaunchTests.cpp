//===- CudaLaunchTests.cpp - Launch.h's launches at the examples' shapes --===//
//
// Every template's launches at the shapes of examples/*.toml are within
// CUDA's limits and give the GPU enough blocks; bad names and dims are
// refused.
//
//===----------------------------------------------------------------------===//
#include "simclr/Kernels/Cuda/Launch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace simclr::cuda {
namespace {

/// Streaming multiprocessors of an H100 SXM: a phase with fewer blocks
/// leaves part of the GPU idle.
constexpr int64_t kH100Multiprocessors = 132;

struct Launch {
  std::string name;
  std::vector<int64_t> dims;
};

/// {X, n, c, hw} launches of every channel template, NCHW and NHWC.
void addChannelTemplates(std::vector<Launch> &launches, int64_t n, int64_t c,
                         int64_t hw) {
  for (const char *name :
       {"batchNormTrainForward", "batchNormTrainBackward", "batchNormInference",
        "sumToChannels", "normalizeChannels", "globalAvgPoolForward",
        "globalAvgPoolBackward", "batchNormStatistics", "batchNormApply",
        "batchNormBackwardStatistics", "batchNormBackwardApply"})
    for (int64_t x : {int64_t{1}, c})
      launches.push_back({name, {x, n, c, hw}});
}

/// The templates at the shapes of a SimCLR step on 2N images of
/// `imageSize`^2 with ResNet stages of `widths` channels (each stage
/// halving the side), a head of `hidden` and `projection` features, and
/// `parameters` parameter elements in `tensors` tensors.
std::vector<Launch> stepLaunches(int64_t rows2N, int64_t imageChannels,
                                 int64_t imageSize,
                                 const std::vector<int64_t> &widths,
                                 int64_t hidden, int64_t projection,
                                 int64_t parameters, int64_t tensors) {
  std::vector<Launch> launches;
  addChannelTemplates(launches, rows2N, imageChannels, imageSize * imageSize);
  int64_t side = imageSize;
  for (int64_t width : widths) {
    addChannelTemplates(launches, rows2N, width, side * side);
    launches.push_back(
        {"maxPool2dForward", {rows2N, width, side, side, 3, 3, 2, 2, 1, 1}});
    launches.push_back(
        {"maxPool2dBackward", {rows2N, width, side, side, 3, 3, 2, 2, 1, 1}});
    launches.push_back({"elementwise", {rows2N * width * side * side}});
    side /= 2;
  }
  for (int64_t features : {hidden, projection}) {
    addChannelTemplates(launches, rows2N, features, 1);
    launches.push_back({"runningStatsUpdate", {features}});
    launches.push_back({"runningStatsFromSums", {features}});
    launches.push_back({"l2NormalizeForward", {rows2N, features}});
    launches.push_back({"l2NormalizeBackward", {rows2N, features}});
    launches.push_back(
        {"sliceCopy", {1, rows2N, features, rows2N / 2, rows2N / 2}});
    launches.push_back({"concatCopy", {1, rows2N, features, 0, rows2N / 2}});
  }
  for (const char *name :
       {"ntXentForward", "ntXentBackward", "ntXentForwardBackward",
        "ntXentGatheredForwardBackward"})
    launches.push_back({name, {rows2N, projection}});
  for (const char *name :
       {"maskedScaledLogSoftmaxForward", "maskedScaledLogSoftmaxBackward",
        "gatherPositivesForward", "gatherPositivesBackward",
        "reduceMeanForward"})
    launches.push_back({name, {rows2N}});
  // Chunks: one per kOptimizerChunkElements, plus a partial one per tensor
  // at most.
  const int64_t chunks = kernels::optimizerChunks(parameters) + tensors;
  for (const char *name : {"adamWUpdateAll", "sgdUpdateAll", "larsUpdateAll"})
    launches.push_back({name, {tensors, chunks}});
  launches.push_back({"copyBytes", {parameters * 4}});
  launches.push_back({"lrWarmupCosine", {}});
  return launches;
}

void expectWithinLimits(const std::vector<Launch> &launches) {
  for (const Launch &launch : launches) {
    std::string dims;
    for (int64_t d : launch.dims)
      dims += std::to_string(d) + " ";
    std::optional<std::vector<LaunchShape>> shapes =
        launchesOf(launch.name, launch.dims);
    ASSERT_TRUE(shapes.has_value()) << launch.name << " {" << dims << "}";
    EXPECT_FALSE(shapes->empty()) << launch.name;
    for (const LaunchShape &shape : *shapes) {
      EXPECT_TRUE(withinCudaLimits(shape))
          << launch.name << " {" << dims << "}";
      EXPECT_EQ(shape.block[0] * shape.block[1] * shape.block[2] == 1 ||
                    shape.block[0] == kThreadsPerBlock,
                true)
          << launch.name << ": the block reductions assume " << kThreadsPerBlock
          << " threads";
    }
  }
}

TEST(CudaLaunch, ResNet18CifarBatch512WithinLimits) {
  // examples/cifar10-simclr-paper.toml: 2N = 1024 views of 32x32 RGB,
  // ResNet-18 (64..512 channels, 11.2M parameters in 62 tensors), head
  // 512 -> 128.
  expectWithinLimits(
      stepLaunches(1024, 3, 32, {64, 128, 256, 512}, 512, 128, 11200000, 62));
}

TEST(CudaLaunch, FashionMnistDefaultWithinLimits) {
  // examples/fashion-mnist.toml: 2N = 512 views of 28x28 grayscale, ResNet
  // at width 0.25 (16, 32, 64 channels), head 128 -> 64.
  expectWithinLimits(
      stepLaunches(512, 1, 28, {16, 32, 64}, 128, 64, 700000, 40));
}

TEST(CudaLaunch, Stl10WithinLimits) {
  // examples/stl10-lightning.toml: 2N = 512 views of 96x96 RGB, ResNet-18
  // (its stages taken at 96 .. 12 here: an upper bound of every extent),
  // head 512 -> 128.
  expectWithinLimits(
      stepLaunches(512, 3, 96, {64, 128, 256, 512}, 512, 128, 11200000, 62));
}

TEST(CudaLaunch, LargeKernelsFillTheGpu) {
  // Batch-norm statistics of ResNet-18's first stage in NHWC: 256 row
  // blocks x 2 channel tiles.
  auto stats = launchesOf("batchNormTrainForward", {64, 1024, 64, 1024});
  ASSERT_TRUE(stats.has_value());
  ASSERT_EQ(stats->size(), 3u);
  EXPECT_GE((*stats)[0].grid[0], kH100Multiprocessors);
  EXPECT_GE((*stats)[2].grid[0], kH100Multiprocessors);
  // NT-Xent at 2N = 1024: one block per row in every phase but the mean.
  auto ntXent = launchesOf("ntXentForwardBackward", {1024, 128});
  ASSERT_TRUE(ntXent.has_value());
  ASSERT_EQ(ntXent->size(), 3u);
  for (const LaunchShape &shape : *ntXent)
    EXPECT_EQ(shape.grid[0], 1024);
  // A grid-stride launch far beyond kMaxGridStrideBlocks is capped.
  auto huge = launchesOf("elementwise", {int64_t{1} << 40});
  ASSERT_TRUE(huge.has_value());
  EXPECT_EQ((*huge)[0].grid[0], kMaxGridStrideBlocks);
}

TEST(CudaLaunch, RefusesUnknownNamesAndBadDims) {
  EXPECT_FALSE(launchesOf("conv2d", {1}).has_value());
  EXPECT_FALSE(launchesOf("batchNormTrainForward", {1, 2, 3}).has_value());
  // c not a multiple of X.
  EXPECT_FALSE(launchesOf("batchNormTrainForward", {4, 2, 6, 9}).has_value());
  EXPECT_FALSE(launchesOf("sumToChannels", {1, 0, 3, 9}).has_value());
  // Odd 2N.
  EXPECT_FALSE(launchesOf("ntXentForward", {7, 128}).has_value());
  EXPECT_FALSE(
      launchesOf("ntXentGatheredForwardBackward", {7, 128}).has_value());
  // A slice past the end of its dimension.
  EXPECT_FALSE(launchesOf("sliceCopy", {1, 8, 4, 6, 3}).has_value());
  // A window wider than the padded input; padding over half the kernel.
  EXPECT_FALSE(launchesOf("maxPool2dForward", {1, 1, 2, 2, 5, 5, 1, 1, 1, 1})
                   .has_value());
  EXPECT_FALSE(launchesOf("maxPool2dForward", {1, 1, 8, 8, 3, 3, 1, 1, 2, 2})
                   .has_value());
  EXPECT_FALSE(launchesOf("lrWarmupCosine", {1}).has_value());
  EXPECT_FALSE(launchesOf("larsUpdateAll", {3}).has_value());
}

} // namespace
} // namespace simclr::cuda
