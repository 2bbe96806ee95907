//===- InputPipelineTest.cpp - Tests for the prefetching input pipeline ---===//
//
// Epoch permutations, determinism across thread counts and resume points,
// views against direct kernel calls, prefetch overlap, error propagation,
// shutdown, bad options; and a run on the packaged Fashion-MNIST when it is
// installed.
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/InputPipeline.h"

#include "PipelineTestUtil.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <set>
#include <stdexcept>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace simclr {
namespace {

using testing::bitwiseEqual;
using testing::fullPolicy;
using testing::makeDataset;

/// How long a test waits for a pipeline that should finish at once before
/// calling it hung: far beyond any step of these tests.
constexpr auto kHangTimeout = std::chrono::seconds(10);

AugmenterFactory referenceFactory(AugmentationPolicy policy) {
  return [policy]() { return createReferenceAugmenter(policy); };
}

std::unique_ptr<InputPipeline>
makePipeline(const ImageDataset &data, const AugmenterFactory &factory,
             const InputPipeline::Options &options) {
  Expected<std::unique_ptr<InputPipeline>> pipeline =
      InputPipeline::create(data, factory, options);
  EXPECT_TRUE(pipeline.hasValue()) << pipeline.status().toString();
  return pipeline ? std::move(*pipeline) : nullptr;
}

/// The next `count` batches of `pipeline`; with `recycle`, each is handed
/// back through recycle() after being copied, to exercise buffer reuse.
std::vector<Batch> drain(InputPipeline &pipeline, int64_t count,
                         bool recycle = false) {
  std::vector<Batch> batches;
  for (int64_t i = 0; i < count; ++i) {
    Expected<Batch> batch = pipeline.next();
    EXPECT_TRUE(batch.hasValue()) << batch.status().toString();
    if (!batch)
      break;
    batches.push_back(*batch);
    if (recycle)
      pipeline.recycle(std::move(*batch));
  }
  return batches;
}

void expectSameBatches(const std::vector<Batch> &a,
                       const std::vector<Batch> &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].step, b[i].step);
    EXPECT_EQ(a[i].epoch, b[i].epoch);
    EXPECT_EQ(a[i].key, b[i].key);
    EXPECT_EQ(a[i].imageIndices, b[i].imageIndices) << "step " << a[i].step;
    EXPECT_EQ(a[i].labels, b[i].labels);
    EXPECT_TRUE(bitwiseEqual(a[i].views, b[i].views)) << "step " << a[i].step;
  }
}

//===----------------------------------------------------------------------===//
// Epochs and shuffling
//===----------------------------------------------------------------------===//

TEST(EpochPermutation, IsTheDocumentedFisherYates) {
  constexpr int64_t kCount = 37;
  constexpr uint64_t kSeed = 11;
  for (int64_t epoch : {0, 1, 5}) {
    std::vector<int64_t> expected(kCount);
    for (int64_t i = 0; i < kCount; ++i)
      expected[i] = i;
    RngKey key = foldIn(foldIn(keyFromSeed(kSeed), 0x5348), epoch);
    ImageStream stream(key, 0);
    for (int64_t i = kCount - 1; i > 0; --i)
      std::swap(expected[i], expected[stream.randint(0, i)]);
    EXPECT_EQ(testing::take(epochPermutation(kCount, kSeed, epoch)), expected);
  }
  EXPECT_EQ(stepAugmentKey(kSeed, 9),
            foldIn(foldIn(keyFromSeed(kSeed), 0x4147), 9));
}

TEST(InputPipeline, EveryEpochIsAPermutation) {
  // 50 images, batches of 8: 6 steps per epoch, 2 images dropped per epoch.
  constexpr int64_t kCount = 50, kBatch = 8, kEpochs = 3, kSteps = 6;
  ImageDataset data = makeDataset(kCount, 3, 8, 8);
  InputPipeline::Options options;
  options.batchSize = kBatch;
  options.seed = 3;
  options.lastStep = kEpochs * kSteps;
  std::unique_ptr<InputPipeline> pipeline =
      makePipeline(data, referenceFactory(fullPolicy()), options);
  ASSERT_TRUE(pipeline);
  EXPECT_EQ(pipeline->stepsPerEpoch(), kSteps);
  std::vector<Batch> batches = drain(*pipeline, kEpochs * kSteps);
  ASSERT_EQ(batches.size(), static_cast<size_t>(kEpochs * kSteps));

  std::vector<std::vector<int64_t>> orders(kEpochs);
  for (const Batch &batch : batches) {
    EXPECT_EQ(batch.epoch, batch.step / kSteps);
    ASSERT_EQ(batch.imageIndices.size(), static_cast<size_t>(kBatch));
    ASSERT_EQ(batch.labels.size(), static_cast<size_t>(kBatch));
    EXPECT_EQ(batch.views.size(), static_cast<size_t>(2 * kBatch * 3 * 6 * 6));
    for (size_t n = 0; n < batch.imageIndices.size(); ++n)
      EXPECT_EQ(batch.labels[n], data.labels[batch.imageIndices[n]]);
    orders[batch.epoch].insert(orders[batch.epoch].end(),
                               batch.imageIndices.begin(),
                               batch.imageIndices.end());
  }
  for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
    std::set<int64_t> seen(orders[epoch].begin(), orders[epoch].end());
    EXPECT_EQ(seen.size(), static_cast<size_t>(kSteps * kBatch))
        << "an image repeats in epoch " << epoch;
    EXPECT_GE(*seen.begin(), 0);
    EXPECT_LT(*seen.rbegin(), kCount);
    // The batches are the epoch's permutation minus its incomplete tail.
    std::vector<int64_t> permutation =
        testing::take(epochPermutation(kCount, options.seed, epoch));
    permutation.resize(kSteps * kBatch);
    EXPECT_EQ(orders[epoch], permutation);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
  EXPECT_EQ(testing::take(epochPermutation(kCount, 3, 0)),
            testing::take(epochPermutation(kCount, 3, 0)));
  EXPECT_NE(testing::take(epochPermutation(kCount, 3, 0)),
            testing::take(epochPermutation(kCount, 4, 0)));
}

//===----------------------------------------------------------------------===//
// Determinism
//===----------------------------------------------------------------------===//

TEST(InputPipeline, ThreadCountAndResumeGiveIdenticalBatches) {
  constexpr int64_t kSteps = 13;
  ImageDataset data = makeDataset(30, 3, 8, 8);
  InputPipeline::Options options;
  options.batchSize = 6;
  options.seed = 42;
  options.lastStep = kSteps;
  std::unique_ptr<InputPipeline> single =
      makePipeline(data, referenceFactory(fullPolicy()), options);
  ASSERT_TRUE(single);
  std::vector<Batch> reference = drain(*single, kSteps);
  ASSERT_EQ(reference.size(), static_cast<size_t>(kSteps));

  options.workerThreads = 2;
  options.prefetchDepth = 3;
  std::unique_ptr<InputPipeline> parallel =
      makePipeline(data, referenceFactory(fullPolicy()), options);
  expectSameBatches(reference, drain(*parallel, kSteps, /*recycle=*/true));

  // One augmenter shared by two workers (calls serialized) agrees too.
  Expected<std::unique_ptr<InputPipeline>> shared = InputPipeline::create(
      data, testing::take(createReferenceAugmenter(fullPolicy())), options);
  ASSERT_TRUE(shared.hasValue()) << shared.status().toString();
  expectSameBatches(reference, drain(**shared, kSteps));

  constexpr int64_t kResume = 7;
  options.firstStep = kResume;
  options.workerThreads = 1;
  options.prefetchDepth = 1;
  std::unique_ptr<InputPipeline> resumed =
      makePipeline(data, referenceFactory(fullPolicy()), options);
  EXPECT_EQ(resumed->nextStep(), kResume);
  expectSameBatches(
      std::vector<Batch>(reference.begin() + kResume, reference.end()),
      drain(*resumed, kSteps - kResume));
}

TEST(InputPipeline, ViewsEqualDirectKernelCalls) {
  constexpr int64_t kBatch = 4, kStep = 5;
  constexpr uint64_t kSeed = 9;
  ImageDataset data = makeDataset(10, 3, 8, 8);
  InputPipeline::Options options;
  options.batchSize = kBatch;
  options.seed = kSeed;
  options.firstStep = kStep;
  options.lastStep = kStep + 1;
  std::unique_ptr<InputPipeline> pipeline =
      makePipeline(data, referenceFactory(fullPolicy()), options);
  ASSERT_TRUE(pipeline);
  Batch batch = testing::take(pipeline->next());
  ASSERT_EQ(batch.step, kStep);
  EXPECT_EQ(batch.epoch, 2); // 2 steps per epoch.
  RngKey stepKey = foldIn(foldIn(keyFromSeed(kSeed), kAugmentTag), kStep);
  EXPECT_EQ(batch.key, stepKey);

  std::vector<uint8_t> gathered;
  for (int64_t index : batch.imageIndices)
    gathered.insert(gathered.end(), data.image(index),
                    data.image(index) + data.imageBytes());
  std::vector<float> expected;
  for (uint64_t view = 0; view < 2; ++view) {
    std::vector<float> v = testing::fullPolicyByHand(gathered.data(), kBatch,
                                                     foldIn(stepKey, view));
    expected.insert(expected.end(), v.begin(), v.end());
  }
  EXPECT_TRUE(bitwiseEqual(batch.views, expected));
  EXPECT_GE(batch.augmentMillis, 0.0);
}

//===----------------------------------------------------------------------===//
// Prefetching
//===----------------------------------------------------------------------===//

/// Writes zeros and counts the views it has finished, so a test can wait
/// for the pipeline to have worked ahead without measuring any time.
class CountingAugmenter : public Augmenter {
public:
  std::pair<int64_t, int64_t> outputSize(int64_t h, int64_t w) const override {
    return {h, w};
  }
  Status augmentView(const ImageBatchView &, RngKey, float *out,
                     int64_t outElements) override {
    std::fill(out, out + outElements, 0.0f);
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++finishedViews;
    }
    finished.notify_all();
    return Status::ok();
  }

  /// Waits until `views` views are done; false if that takes kHangTimeout.
  bool waitForViews(int64_t views) {
    std::unique_lock<std::mutex> lock(mutex);
    return finished.wait_for(lock, kHangTimeout, [&] { return finishedViews >= views; });
  }
  int64_t views() {
    std::lock_guard<std::mutex> lock(mutex);
    return finishedViews;
  }

private:
  std::mutex mutex;
  std::condition_variable finished;
  int64_t finishedViews = 0;
};

// While the consumer holds batch 0 and asks for nothing, the workers
// prepare the next `prefetchDepth` batches (double buffering) and no more.
// Ordering, not timing: the test only waits for events, with a generous
// timeout that means "hung".
TEST(InputPipeline, PrefetchWorksAheadOfTheConsumer) {
  ImageDataset data = makeDataset(8, 1, 4, 4);
  InputPipeline::Options options;
  options.batchSize = 2;
  options.lastStep = 4;
  options.prefetchDepth = 2;
  auto counting = std::make_unique<CountingAugmenter>();
  CountingAugmenter *augmenter = counting.get();
  Expected<std::unique_ptr<InputPipeline>> pipeline =
      InputPipeline::create(data, std::move(counting), options);
  ASSERT_TRUE(pipeline.hasValue()) << pipeline.status().message();
  Expected<Batch> first = (*pipeline)->next();
  ASSERT_TRUE(first.hasValue());
  constexpr int64_t kViewsPerBatch = 2;
  // Batch 0 plus two batches ahead.
  ASSERT_TRUE(augmenter->waitForViews((1 + options.prefetchDepth) * kViewsPerBatch))
      << "the pipeline did not prepare batches ahead of the consumer";
  EXPECT_EQ(augmenter->views(), (1 + options.prefetchDepth) * kViewsPerBatch)
      << "the pipeline worked further ahead than its prefetch depth";
  for (int64_t step = 1; step < options.lastStep; ++step)
    ASSERT_TRUE((*pipeline)->next().hasValue());
}

//===----------------------------------------------------------------------===//
// Errors and shutdown
//===----------------------------------------------------------------------===//

/// The reference augmenter, except that it fails (or throws) on step
/// `failStep` of a pipeline with seed `seed`.
class FailingAugmenter : public Augmenter {
public:
  FailingAugmenter(uint64_t seed, int64_t failStep, bool throwInstead)
      : inner(testing::take(createReferenceAugmenter(fullPolicy()))),
        failKey(foldIn(stepAugmentKey(seed, failStep), 1)),
        throwInstead(throwInstead) {}
  std::pair<int64_t, int64_t> outputSize(int64_t h, int64_t w) const override {
    return inner->outputSize(h, w);
  }
  Status augmentView(const ImageBatchView &images, RngKey key, float *out,
                     int64_t outElements) override {
    if (key == failKey) {
      if (throwInstead)
        throw std::runtime_error("augmenter threw");
      return dataLoss("corrupt image in view 1");
    }
    return inner->augmentView(images, key, out, outElements);
  }

private:
  std::unique_ptr<Augmenter> inner;
  RngKey failKey;
  bool throwInstead;
};

void checkFailureAtStep3(bool throwInstead) {
  constexpr uint64_t kSeed = 5;
  constexpr int64_t kFailStep = 3;
  ImageDataset data = makeDataset(20, 3, 8, 8);
  InputPipeline::Options options;
  options.batchSize = 4;
  options.seed = kSeed;
  options.lastStep = 10;
  options.workerThreads = 2;
  std::unique_ptr<InputPipeline> pipeline = makePipeline(
      data,
      [&]() -> Expected<std::unique_ptr<Augmenter>> {
        return std::unique_ptr<Augmenter>(
            std::make_unique<FailingAugmenter>(kSeed, kFailStep, throwInstead));
      },
      options);
  ASSERT_TRUE(pipeline);
  for (int64_t step = 0; step < kFailStep; ++step) {
    Expected<Batch> batch = pipeline->next();
    ASSERT_TRUE(batch.hasValue()) << batch.status().toString();
    EXPECT_EQ(batch->step, step);
  }
  Expected<Batch> failed = pipeline->next();
  ASSERT_FALSE(failed.hasValue());
  if (throwInstead) {
    EXPECT_EQ(failed.status().code(), StatusCode::kInternal);
    EXPECT_EQ(failed.status().message(),
              "input pipeline: step 3: augmenter threw");
  } else {
    EXPECT_EQ(failed.status().code(), StatusCode::kDataLoss);
    EXPECT_EQ(failed.status().message(),
              "input pipeline: step 3, view 1: corrupt image in view 1");
  }
  // The pipeline stays failed.
  Expected<Batch> again = pipeline->next();
  ASSERT_FALSE(again.hasValue());
  EXPECT_EQ(again.status().message(), failed.status().message());
}

TEST(InputPipeline, WorkerErrorReachesTheConsumerAtItsStep) {
  checkFailureAtStep3(/*throwInstead=*/false);
}

TEST(InputPipeline, WorkerExceptionBecomesAStatus) {
  checkFailureAtStep3(/*throwInstead=*/true);
}

TEST(InputPipeline, DestroyingMidRunDoesNotHang) {
  ImageDataset data = makeDataset(16, 1, 4, 4);
  for (int64_t consumed : {0, 2}) {
    std::future<void> done = std::async(std::launch::async, [&] {
      InputPipeline::Options options;
      options.batchSize = 4;
      options.lastStep = 1000000;
      options.workerThreads = 2;
      Expected<std::unique_ptr<InputPipeline>> pipeline = InputPipeline::create(
          data, std::make_unique<CountingAugmenter>(), options);
      ASSERT_TRUE(pipeline.hasValue());
      for (int64_t i = 0; i < consumed; ++i)
        EXPECT_TRUE((*pipeline)->next().hasValue());
    });
    ASSERT_EQ(done.wait_for(kHangTimeout), std::future_status::ready)
        << "the pipeline's destructor hung after " << consumed << " batches";
  }
}

TEST(InputPipeline, NextPastTheLastStepFails) {
  ImageDataset data = makeDataset(8, 1, 4, 4);
  InputPipeline::Options options;
  options.batchSize = 4;
  options.firstStep = 3;
  options.lastStep = 4;
  std::unique_ptr<InputPipeline> pipeline =
      makePipeline(data, referenceFactory({}), options);
  EXPECT_TRUE(pipeline->next().hasValue());
  Expected<Batch> past = pipeline->next();
  ASSERT_FALSE(past.hasValue());
  EXPECT_EQ(past.status().message(),
            "input pipeline: no step 4: the pipeline's steps are [3, 4)");

  options.firstStep = 4; // An empty range is valid and ends at once.
  std::unique_ptr<InputPipeline> empty =
      makePipeline(data, referenceFactory({}), options);
  EXPECT_FALSE(empty->next().hasValue());
}

TEST(InputPipeline, RejectsBadOptions) {
  ImageDataset data = makeDataset(10, 1, 4, 4);
  auto error = [](const ImageDataset &dataset,
                  const InputPipeline::Options &options) {
    Expected<std::unique_ptr<InputPipeline>> pipeline = InputPipeline::create(
        dataset, testing::take(createReferenceAugmenter({})), options);
    if (pipeline)
      return std::string("(no error)");
    EXPECT_EQ(pipeline.status().code(), StatusCode::kInvalidArgument);
    return pipeline.status().message();
  };
  InputPipeline::Options good;
  good.batchSize = 4;
  good.lastStep = 10;
  EXPECT_EQ(error(data, good), "(no error)");

  InputPipeline::Options options = good;
  options.batchSize = 1;
  EXPECT_EQ(error(data, options),
            "input pipeline: batch size 1 must be at least 2");
  options.batchSize = 11;
  EXPECT_EQ(error(data, options),
            "input pipeline: batch size 11 exceeds the dataset's 10 images");
  options = good;
  options.firstStep = 11;
  EXPECT_EQ(error(data, options),
            "input pipeline: first step 11 is after the last step 10");
  options.firstStep = -1;
  EXPECT_EQ(error(data, options), "input pipeline: first step -1 must be >= 0");
  options = good;
  options.prefetchDepth = 0;
  EXPECT_EQ(error(data, options),
            "input pipeline: prefetch depth 0 must be at least 1");
  options = good;
  options.workerThreads = 0;
  EXPECT_EQ(error(data, options),
            "input pipeline: worker threads 0 must be at least 1");
  EXPECT_EQ(error(makeDataset(0, 1, 4, 4), good),
            "input pipeline: the dataset has no images (count 0)");
  ImageDataset truncated = data;
  truncated.pixels.pop_back();
  EXPECT_EQ(error(truncated, good),
            "input pipeline: the dataset holds 159 pixel bytes, expected 160");

  Expected<std::unique_ptr<InputPipeline>> none =
      InputPipeline::create(data, std::unique_ptr<Augmenter>(), good);
  EXPECT_EQ(none.status().message(), "input pipeline: no augmenter");
  AugmentationPolicy bad(1);
  bad[0].kind = AugmentationKind::kHorizontalFlip;
  bad[0].probability = 2;
  Expected<std::unique_ptr<InputPipeline>> badFactory =
      InputPipeline::create(data, referenceFactory(bad), good);
  EXPECT_EQ(badFactory.status().message(),
            "input pipeline: augmenter 0: augment[0] (horizontal_flip): "
            "probability p = 2 must be in [0, 1]");
}

//===----------------------------------------------------------------------===//
// Fashion-MNIST
//===----------------------------------------------------------------------===//

TEST(InputPipeline, FashionMnistWithTheDefaultPolicy) {
  if (!std::filesystem::exists(kDefaultFashionMnistDir))
    GTEST_SKIP() << kDefaultFashionMnistDir << " is not installed";
  ImageDataset data =
      testing::take(readFashionMnist(kDefaultFashionMnistDir, Split::kTrain));
  ASSERT_EQ(data.count, 60000);
  constexpr int64_t kBatch = 256, kSteps = 8;
  InputPipeline::Options options;
  options.batchSize = kBatch;
  options.lastStep = kSteps;
  options.workerThreads = 2;
  std::unique_ptr<InputPipeline> pipeline = makePipeline(
      data, referenceFactory(testing::fashionMnistPolicy()), options);
  ASSERT_TRUE(pipeline);
  EXPECT_EQ(pipeline->stepsPerEpoch(), 234); // floor(60000 / 256)
  EXPECT_EQ(pipeline->viewHeight(), 28);
  EXPECT_EQ(pipeline->viewWidth(), 28);
  double augmentMillis = 0;
  for (int64_t step = 0; step < kSteps; ++step) {
    Batch batch = testing::take(pipeline->next());
    ASSERT_EQ(batch.views.size(), static_cast<size_t>(2 * kBatch * 28 * 28));
    for (size_t n = 0; n < batch.imageIndices.size(); ++n)
      ASSERT_EQ(batch.labels[n], data.labels[batch.imageIndices[n]]);
    // Normalized pixels of [0, 1] lie in [-0.2860 / 0.3530, 0.7140 / 0.3530].
    for (float value : batch.views)
      ASSERT_TRUE(value >= -0.82f && value <= 2.03f) << value;
    augmentMillis += batch.augmentMillis;
    pipeline->recycle(std::move(batch));
  }
  double imagesPerSecond = 2.0 * kBatch * kSteps / (augmentMillis / 1000.0);
  std::printf("reference augmenter, Fashion-MNIST default policy: %.0f "
              "images/s per worker thread\n",
              imagesPerSecond);
}

} // namespace
} // namespace simclr
