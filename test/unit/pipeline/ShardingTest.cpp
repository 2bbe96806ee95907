//===- ShardingTest.cpp - Data-parallel shards of the input pipeline ------===//
//
// K ranks with N images each must see, step for step, exactly the images and
// views one process with K*N images sees (InputPipeline.h, issue 13): the
// shards of one global permutation, augmented with keys of their global
// positions.
//
//===----------------------------------------------------------------------===//
#include "PipelineTestUtil.h"

#include "simclr/Runtime/InputPipeline.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace simclr {
namespace {

using testing::bitwiseEqual;
using testing::fullPolicy;
using testing::makeDataset;

constexpr uint64_t kSeed = 11;
/// The rank counts the tests compare with one process.
constexpr int64_t kRankCounts[] = {1, 2, 3};

std::unique_ptr<InputPipeline> rankPipeline(const ImageDataset &data, int64_t batch,
                                            int64_t rank, int64_t ranks, int64_t steps) {
  InputPipeline::Options options;
  options.batchSize = batch;
  options.rank = rank;
  options.worldSize = ranks;
  options.seed = kSeed;
  options.lastStep = steps;
  options.workerThreads = 2;
  AugmenterFactory factory = [] { return createReferenceAugmenter(fullPolicy()); };
  Expected<std::unique_ptr<InputPipeline>> pipeline =
      InputPipeline::create(data, factory, options);
  EXPECT_TRUE(pipeline.hasValue()) << pipeline.status().toString();
  return pipeline ? std::move(*pipeline) : nullptr;
}

TEST(Sharding, RankSharesTileTheGlobalBatchOfOneProcess) {
  constexpr int64_t kImages = 31, kPerRank = 2;
  for (int64_t ranks : kRankCounts) {
    const int64_t global = ranks * kPerRank;
    const int64_t stepsPerEpoch = kImages / global;
    // Two epochs and a bit: the epoch boundary and a new permutation.
    for (int64_t step = 0; step < 2 * stepsPerEpoch + 1; ++step) {
      std::vector<int64_t> joined;
      for (int64_t rank = 0; rank < ranks; ++rank) {
        Expected<StepShard> shard = stepShard(kImages, kPerRank, rank, ranks, step);
        ASSERT_TRUE(shard.hasValue()) << shard.status().toString();
        EXPECT_EQ(shard->epoch, step / stepsPerEpoch);
        EXPECT_EQ(shard->firstIndex, rank * kPerRank);
        EXPECT_EQ(shard->first, (step % stepsPerEpoch) * global + rank * kPerRank);
        std::vector<int64_t> part =
            testing::take(shardImageIndices(kImages, kSeed, kPerRank, rank, ranks, step));
        joined.insert(joined.end(), part.begin(), part.end());
      }
      // One process with batch K*N takes the same images in the same order.
      std::vector<int64_t> one =
          testing::take(shardImageIndices(kImages, kSeed, global, 0, 1, step));
      EXPECT_EQ(joined, one) << ranks << " ranks, step " << step;
      // ... which is the single-process formula: perm[k*G, (k+1)*G).
      std::vector<int64_t> order =
          testing::take(epochPermutation(kImages, kSeed, step / stepsPerEpoch));
      auto first = order.begin() + (step % stepsPerEpoch) * global;
      EXPECT_EQ(one, std::vector<int64_t>(first, first + global));
    }
  }
}

TEST(Sharding, ImagesSeenDependOnTheGlobalBatchOnly) {
  // 2 x 3 and 3 x 2 (and 1 x 6): global batch 6 everywhere.
  constexpr int64_t kImages = 40, kGlobal = 6;
  for (int64_t step = 0; step < 15; ++step) {
    std::vector<int64_t> byRanks[3];
    for (int64_t ranks : kRankCounts) {
      for (int64_t rank = 0; rank < ranks; ++rank) {
        std::vector<int64_t> part = testing::take(
            shardImageIndices(kImages, kSeed, kGlobal / ranks, rank, ranks, step));
        byRanks[ranks - 1].insert(byRanks[ranks - 1].end(), part.begin(), part.end());
      }
    }
    EXPECT_EQ(byRanks[1], byRanks[0]) << "step " << step;
    EXPECT_EQ(byRanks[2], byRanks[0]) << "step " << step;
  }
}

// The pipelines end to end: K rank pipelines' batches are, bit for bit, the
// slices of one process's batches (images, labels, keys, both views).
TEST(Sharding, RankViewsAreSlicesOfOneProcessViews) {
  constexpr int64_t kImages = 26, kPerRank = 2, kSteps = 5;
  ImageDataset data = makeDataset(kImages, 3, 8, 8);
  for (int64_t ranks : kRankCounts) {
    const int64_t global = ranks * kPerRank;
    std::unique_ptr<InputPipeline> one = rankPipeline(data, global, 0, 1, kSteps);
    ASSERT_TRUE(one);
    std::vector<std::unique_ptr<InputPipeline>> shards;
    for (int64_t rank = 0; rank < ranks; ++rank) {
      shards.push_back(rankPipeline(data, kPerRank, rank, ranks, kSteps));
      ASSERT_TRUE(shards.back());
      EXPECT_EQ(shards.back()->stepsPerEpoch(), one->stepsPerEpoch());
    }
    for (int64_t step = 0; step < kSteps; ++step) {
      Batch whole = testing::take(one->next());
      const int64_t viewElements = static_cast<int64_t>(whole.views.size()) / kPipelineViews;
      const int64_t imageElements = viewElements / global;
      for (int64_t rank = 0; rank < ranks; ++rank) {
        Batch part = testing::take(shards[static_cast<size_t>(rank)]->next());
        SCOPED_TRACE(std::to_string(ranks) + " ranks, rank " + std::to_string(rank) +
                     ", step " + std::to_string(step));
        EXPECT_EQ(part.step, whole.step);
        EXPECT_EQ(part.epoch, whole.epoch);
        EXPECT_EQ(part.key, whole.key);
        EXPECT_EQ(part.firstIndex, rank * kPerRank);
        const size_t begin = static_cast<size_t>(rank * kPerRank);
        EXPECT_EQ(part.imageIndices,
                  std::vector<int64_t>(whole.imageIndices.begin() + begin,
                                       whole.imageIndices.begin() + begin + kPerRank));
        EXPECT_EQ(part.labels, std::vector<int32_t>(whole.labels.begin() + begin,
                                                    whole.labels.begin() + begin + kPerRank));
        std::vector<float> expected;
        for (int64_t view = 0; view < kPipelineViews; ++view) {
          auto first = whole.views.begin() + view * viewElements +
                       rank * kPerRank * imageElements;
          expected.insert(expected.end(), first, first + kPerRank * imageElements);
        }
        EXPECT_TRUE(bitwiseEqual(part.views, expected));
      }
    }
  }
}

TEST(Sharding, KeysOfOneProcessAreUnchanged) {
  // firstIndex 0 is the graph's semantics: a batch augmented whole equals
  // its halves augmented with their global positions.
  ImageDataset data = makeDataset(4, 3, 8, 8);
  std::unique_ptr<Augmenter> augmenter = testing::take(createReferenceAugmenter(fullPolicy()));
  RngKey key = foldIn(stepAugmentKey(kSeed, 3), 1);
  const int64_t perImage = 3 * 6 * 6;
  std::vector<float> whole(static_cast<size_t>(4 * perImage));
  ASSERT_TRUE(augmenter->augmentView({data.pixels.data(), 4, 3, 8, 8}, key, whole.data(),
                                     4 * perImage));
  std::vector<float> halves(whole.size());
  for (int64_t half = 0; half < 2; ++half) {
    ImageBatchView images{data.image(2 * half), 2, 3, 8, 8, 2 * half};
    ASSERT_TRUE(augmenter->augmentView(images, key, halves.data() + 2 * half * perImage,
                                       2 * perImage));
  }
  EXPECT_TRUE(bitwiseEqual(halves, whole));
  // Without the offset the second half would repeat the first half's draws.
  std::vector<float> unshifted(static_cast<size_t>(2 * perImage));
  ASSERT_TRUE(augmenter->augmentView({data.image(2), 2, 3, 8, 8}, key, unshifted.data(),
                                     2 * perImage));
  EXPECT_FALSE(bitwiseEqual(unshifted, std::vector<float>(halves.begin() + 2 * perImage,
                                                           halves.end())));
}

TEST(Sharding, RejectsBadRanksAndOversizedGlobalBatches) {
  EXPECT_FALSE(stepShard(10, 2, 2, 2, 0).hasValue());  // rank == ranks
  EXPECT_FALSE(stepShard(10, 2, -1, 2, 0).hasValue()); // negative rank
  EXPECT_FALSE(stepShard(10, 2, 0, 0, 0).hasValue());  // no ranks
  EXPECT_FALSE(stepShard(10, 2, 0, 2, -1).hasValue()); // negative step
  EXPECT_FALSE(stepShard(10, 4, 0, 3, 0).hasValue());  // 12 > 10 images
  EXPECT_TRUE(stepShard(10, 5, 1, 2, 0).hasValue());   // exactly the dataset

  ImageDataset data = makeDataset(10, 3, 8, 8);
  InputPipeline::Options options;
  options.batchSize = 4;
  options.worldSize = 3;
  options.lastStep = 1;
  AugmenterFactory factory = [] { return createReferenceAugmenter(fullPolicy()); };
  Expected<std::unique_ptr<InputPipeline>> tooBig = InputPipeline::create(data, factory, options);
  ASSERT_FALSE(tooBig.hasValue());
  EXPECT_EQ(tooBig.status().message(),
            "input pipeline: global batch 3 x 4 exceeds the dataset's 10 images");
  options.batchSize = 2;
  options.rank = 3;
  Expected<std::unique_ptr<InputPipeline>> badRank = InputPipeline::create(data, factory, options);
  ASSERT_FALSE(badRank.hasValue());
  EXPECT_EQ(badRank.status().message(),
            "input pipeline: rank 3 of 3 ranks: expected 0 <= rank < ranks");
}

} // namespace
} // namespace simclr
