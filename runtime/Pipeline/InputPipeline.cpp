//===- InputPipeline.cpp - Prefetching, shuffling input pipeline ----------===//
//
// Algorithm (semantics in InputPipeline.h):
//  1. create() checks the options and the dataset, then starts the workers.
//  2. A worker claims the lowest unclaimed step s while
//     s < nextDeliver + prefetchDepth, so at most prefetchDepth batches wait
//     beyond the one the consumer holds, and claims happen in step order.
//  3. It computes the whole batch outside the lock (epoch permutation from a
//     small cache, gather, both views) and files the result, or the Status
//     that stopped it, under step s.
//  4. next() waits for step nextDeliver's entry. Because claims are in step
//     order and a failure only stops new claims, every step before a failed
//     one is still delivered, and next() never waits on an unclaimed step.
//  5. The destructor sets `stopping`, wakes everyone and joins.
//
//===----------------------------------------------------------------------===//

#include "simclr/Runtime/InputPipeline.h"
#include "simclr/Support/TrainingSteps.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace simclr {

//===----------------------------------------------------------------------===//
// Keys and permutations
//===----------------------------------------------------------------------===//

Expected<std::vector<int64_t>> epochPermutation(int64_t count, uint64_t seed,
                                                int64_t epoch) {
  if (count < 1)
    return invalidArgument("epochPermutation: count " + std::to_string(count) +
                           " must be at least 1");
  if (epoch < 0)
    return invalidArgument("epochPermutation: epoch " + std::to_string(epoch) +
                           " must be >= 0");
  std::vector<int64_t> order(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    order[static_cast<size_t>(i)] = i;
  ImageStream stream(foldIn(foldIn(keyFromSeed(seed), kShuffleTag),
                            static_cast<uint64_t>(epoch)),
                     0);
  for (int64_t i = count - 1; i >= 1; --i)
    std::swap(order[static_cast<size_t>(i)],
              order[static_cast<size_t>(stream.randint(0, i))]);
  return order;
}

RngKey stepAugmentKey(uint64_t seed, int64_t step) {
  return foldIn(foldIn(keyFromSeed(seed), kAugmentTag),
                static_cast<uint64_t>(step));
}

Expected<StepShard> stepShard(int64_t count, int64_t batchSize, int64_t rank,
                              int64_t worldSize, int64_t step) {
  if (batchSize < 1 || worldSize < 1 || rank < 0 || rank >= worldSize ||
      step < 0)
    return invalidArgument("stepShard: batch " + std::to_string(batchSize) +
                           ", rank " + std::to_string(rank) + " of " +
                           std::to_string(worldSize) + ", step " +
                           std::to_string(step) +
                           ": expected batch >= 1, 0 <= rank < ranks, step >= 0");
  if (batchSize > count / worldSize)
    return invalidArgument("stepShard: a global batch of " +
                           std::to_string(worldSize) + " x " +
                           std::to_string(batchSize) + " images exceeds the " +
                           std::to_string(count) + " images of the dataset");
  int64_t globalBatch = worldSize * batchSize;
  int64_t steps = ::simclr::stepsPerEpoch(count, globalBatch);
  StepShard shard;
  shard.epoch = step / steps;
  shard.firstIndex = rank * batchSize;
  shard.first = (step % steps) * globalBatch + shard.firstIndex;
  return shard;
}

Expected<std::vector<int64_t>> shardImageIndices(int64_t count, uint64_t seed,
                                                 int64_t batchSize, int64_t rank,
                                                 int64_t worldSize, int64_t step) {
  Expected<StepShard> shard = stepShard(count, batchSize, rank, worldSize, step);
  if (!shard)
    return shard.takeStatus();
  Expected<std::vector<int64_t>> order = epochPermutation(count, seed, shard->epoch);
  if (!order)
    return order.takeStatus();
  auto first = order->begin() + shard->first;
  return std::vector<int64_t>(first, first + batchSize);
}

//===----------------------------------------------------------------------===//
// Shared state
//===----------------------------------------------------------------------===//

namespace {

double millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

/// Epochs whose permutation is kept: the consumer's and the next, which
/// workers reach first at an epoch boundary.
constexpr size_t kCachedEpochs = 2;

} // namespace

struct InputPipeline::State {
  /// Augmenters, one per worker or a single shared one; augmenterLocks[i]
  /// serializes calls to augmenters[i] (Augmenter serves one thread at a
  /// time).
  std::vector<std::unique_ptr<Augmenter>> augmenters;
  std::vector<std::unique_ptr<std::mutex>> augmenterLocks;

  std::mutex mutex;
  /// Signalled when a result is filed, the consumer advances, or stopping.
  std::condition_variable changed;
  bool stopping = false;
  bool failed = false;
  int64_t nextClaim = 0;
  int64_t nextDeliver = 0;
  std::map<int64_t, Expected<Batch>> results;
  /// Buffers given back through recycle().
  std::vector<Batch> pool;
  /// Sticky error once next() has returned a failure.
  Status stickyError;

  std::mutex permutationMutex;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> permutations;

  std::vector<std::thread> workers;
};

//===----------------------------------------------------------------------===//
// Creation
//===----------------------------------------------------------------------===//

namespace {

Status pipelineError(const std::string &problem) {
  return invalidArgument("input pipeline: " + problem);
}

Status checkOptions(const ImageDataset &data,
                    const InputPipeline::Options &options) {
  if (data.count < 1)
    return pipelineError("the dataset has no images (count " +
                         std::to_string(data.count) + ")");
  if (data.channels < 1 || data.height < 1 || data.width < 1)
    return pipelineError(
        "the dataset's images are " + std::to_string(data.channels) + "x" +
        std::to_string(data.height) + "x" + std::to_string(data.width) +
        "; every extent must be positive");
  if (static_cast<int64_t>(data.pixels.size()) !=
      data.count * data.imageBytes())
    return pipelineError("the dataset holds " +
                         std::to_string(data.pixels.size()) +
                         " pixel bytes, expected " +
                         std::to_string(data.count * data.imageBytes()));
  if (!data.labels.empty() &&
      static_cast<int64_t>(data.labels.size()) != data.count)
    return pipelineError("the dataset holds " +
                         std::to_string(data.labels.size()) + " labels for " +
                         std::to_string(data.count) + " images");
  if (options.batchSize < 2)
    return pipelineError("batch size " + std::to_string(options.batchSize) +
                         " must be at least 2");
  if (options.worldSize < 1 || options.rank < 0 ||
      options.rank >= options.worldSize)
    return pipelineError("rank " + std::to_string(options.rank) + " of " +
                         std::to_string(options.worldSize) +
                         " ranks: expected 0 <= rank < ranks");
  if (options.batchSize > data.count / options.worldSize)
    return pipelineError(
        (options.worldSize == 1
             ? "batch size " + std::to_string(options.batchSize)
             : "global batch " + std::to_string(options.worldSize) + " x " +
                   std::to_string(options.batchSize)) +
        " exceeds the dataset's " + std::to_string(data.count) + " images");
  if (options.firstStep < 0)
    return pipelineError("first step " + std::to_string(options.firstStep) +
                         " must be >= 0");
  if (options.firstStep > options.lastStep)
    return pipelineError("first step " + std::to_string(options.firstStep) +
                         " is after the last step " +
                         std::to_string(options.lastStep));
  if (options.prefetchDepth < 1)
    return pipelineError("prefetch depth " +
                         std::to_string(options.prefetchDepth) +
                         " must be at least 1");
  if (options.workerThreads < 1)
    return pipelineError("worker threads " +
                         std::to_string(options.workerThreads) +
                         " must be at least 1");
  return Status::ok();
}

} // namespace

InputPipeline::InputPipeline(const ImageDataset &data, const Options &options,
                             int64_t outHeight, int64_t outWidth)
    : data(data), options(options),
      stepsPerEpochValue(::simclr::stepsPerEpoch(
          data.count, options.worldSize * options.batchSize)),
      outHeight(outHeight), outWidth(outWidth),
      state(std::make_unique<State>()) {
  state->nextClaim = options.firstStep;
  state->nextDeliver = options.firstStep;
}

Expected<std::unique_ptr<InputPipeline>>
InputPipeline::create(const ImageDataset &data,
                      std::unique_ptr<Augmenter> augmenter,
                      const Options &options) {
  if (!augmenter)
    return pipelineError("no augmenter");
  std::vector<std::unique_ptr<Augmenter>> augmenters;
  augmenters.push_back(std::move(augmenter));
  return start(data, std::move(augmenters), options);
}

Expected<std::unique_ptr<InputPipeline>>
InputPipeline::create(const ImageDataset &data, const AugmenterFactory &factory,
                      const Options &options) {
  SIMCLR_RETURN_IF_ERROR(checkOptions(data, options));
  if (!factory)
    return pipelineError("no augmenter factory");
  std::vector<std::unique_ptr<Augmenter>> augmenters;
  for (int64_t i = 0; i < options.workerThreads; ++i) {
    Expected<std::unique_ptr<Augmenter>> augmenter = factory();
    if (!augmenter)
      return augmenter.takeStatus().withContext("input pipeline: augmenter " +
                                                std::to_string(i));
    if (!*augmenter)
      return pipelineError("the factory returned no augmenter");
    augmenters.push_back(std::move(*augmenter));
  }
  return start(data, std::move(augmenters), options);
}

Expected<std::unique_ptr<InputPipeline>>
InputPipeline::start(const ImageDataset &data,
                     std::vector<std::unique_ptr<Augmenter>> augmenters,
                     const Options &options) {
  SIMCLR_RETURN_IF_ERROR(checkOptions(data, options));
  auto [height, width] =
      augmenters.front()->outputSize(data.height, data.width);
  if (height < 1 || width < 1)
    return pipelineError("the augmenter's views would be " +
                         std::to_string(height) + "x" + std::to_string(width));
  for (const std::unique_ptr<Augmenter> &other : augmenters)
    if (other->outputSize(data.height, data.width) !=
        std::make_pair(height, width))
      return pipelineError("the augmenters disagree on the view size");

  std::unique_ptr<InputPipeline> pipeline(
      new InputPipeline(data, options, height, width));
  State &state = *pipeline->state;
  state.augmenters = std::move(augmenters);
  for (size_t i = 0; i < state.augmenters.size(); ++i)
    state.augmenterLocks.push_back(std::make_unique<std::mutex>());
  try {
    for (int64_t i = 0; i < options.workerThreads; ++i) {
      InputPipeline *self = pipeline.get();
      state.workers.emplace_back([self, i] { self->workerLoop(i); });
    }
  } catch (const std::exception &error) {
    // The destructor joins the workers already started.
    return unavailable(std::string("input pipeline: cannot start a worker "
                                   "thread: ") +
                       error.what());
  }
  return pipeline;
}

InputPipeline::~InputPipeline() {
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->stopping = true;
  }
  state->changed.notify_all();
  for (std::thread &worker : state->workers)
    worker.join();
}

//===----------------------------------------------------------------------===//
// Workers
//===----------------------------------------------------------------------===//

std::shared_ptr<const std::vector<int64_t>>
InputPipeline::permutationOf(int64_t epoch) {
  std::lock_guard<std::mutex> lock(state->permutationMutex);
  auto found = state->permutations.find(epoch);
  if (found != state->permutations.end())
    return found->second;
  // checkOptions guarantees count >= 1 and steps >= 0, so this cannot fail.
  auto order = std::make_shared<const std::vector<int64_t>>(
      *epochPermutation(data.count, options.seed, epoch));
  state->permutations.emplace(epoch, order);
  while (state->permutations.size() > kCachedEpochs)
    state->permutations.erase(state->permutations.begin());
  return order;
}

Status InputPipeline::produce(int64_t step, size_t worker, Batch &batch,
                              std::vector<uint8_t> &gathered) {
  auto start = std::chrono::steady_clock::now();
  int64_t batchSize = options.batchSize;
  batch.step = step;
  batch.epoch = step / stepsPerEpochValue;
  batch.key = stepAugmentKey(options.seed, step);
  // stepShard's arithmetic (checkOptions made it valid): the global batch
  // starts at (step % S) * G, this rank's share r * B further.
  batch.firstIndex = options.rank * batchSize;
  std::shared_ptr<const std::vector<int64_t>> order =
      permutationOf(batch.epoch);
  auto first = order->begin() +
               (step % stepsPerEpochValue) * options.worldSize * batchSize +
               batch.firstIndex;
  batch.imageIndices.assign(first, first + batchSize);

  int64_t imageBytes = data.imageBytes();
  gathered.resize(static_cast<size_t>(batchSize * imageBytes));
  batch.labels.clear();
  for (int64_t n = 0; n < batchSize; ++n) {
    int64_t index = batch.imageIndices[static_cast<size_t>(n)];
    const uint8_t *image = data.image(index);
    std::copy(image, image + imageBytes, gathered.begin() + n * imageBytes);
    if (!data.labels.empty())
      batch.labels.push_back(data.labels[static_cast<size_t>(index)]);
  }

  ImageBatchView images{gathered.data(), batchSize,   data.channels,
                        data.height,     data.width, batch.firstIndex};
  int64_t viewElements = batchSize * data.channels * outHeight * outWidth;
  batch.views.resize(static_cast<size_t>(kPipelineViews * viewElements));
  size_t slot = worker % state->augmenters.size();
  for (int64_t view = 0; view < kPipelineViews; ++view) {
    std::lock_guard<std::mutex> lock(*state->augmenterLocks[slot]);
    Status status = state->augmenters[slot]->augmentView(
        images, foldIn(batch.key, static_cast<uint64_t>(view)),
        batch.views.data() + view * viewElements, viewElements);
    if (!status)
      return status.withContext("input pipeline: step " + std::to_string(step) +
                                ", view " + std::to_string(view));
  }
  batch.augmentMillis = millisSince(start);
  return Status::ok();
}

void InputPipeline::workerLoop(int64_t worker) {
  std::vector<uint8_t> gathered;
  while (true) {
    int64_t step;
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(state->mutex);
      state->changed.wait(lock, [&] {
        return state->stopping || state->failed ||
               state->nextClaim >= options.lastStep ||
               state->nextClaim < state->nextDeliver + options.prefetchDepth;
      });
      if (state->stopping || state->failed ||
          state->nextClaim >= options.lastStep)
        return;
      step = state->nextClaim++;
      if (!state->pool.empty()) {
        batch = std::move(state->pool.back());
        state->pool.pop_back();
      }
    }

    Status status;
    try {
      status = produce(step, static_cast<size_t>(worker), batch, gathered);
    } catch (const std::exception &error) {
      status = internalError("input pipeline: step " + std::to_string(step) +
                             ": " + error.what());
    } catch (...) {
      status = internalError("input pipeline: step " + std::to_string(step) +
                             ": unknown exception");
    }

    {
      std::lock_guard<std::mutex> lock(state->mutex);
      if (status) {
        state->results.emplace(step, Expected<Batch>(std::move(batch)));
      } else {
        state->results.emplace(step, Expected<Batch>(std::move(status)));
        state->failed = true;
      }
    }
    state->changed.notify_all();
  }
}

//===----------------------------------------------------------------------===//
// Consumer
//===----------------------------------------------------------------------===//

int64_t InputPipeline::nextStep() const {
  std::lock_guard<std::mutex> lock(state->mutex);
  return state->nextDeliver;
}

Expected<Batch> InputPipeline::next() {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(state->mutex);
  lastWait = 0;
  if (!state->stickyError.isOk())
    return state->stickyError;
  int64_t step = state->nextDeliver;
  if (step >= options.lastStep)
    return pipelineError("no step " + std::to_string(step) +
                         ": the pipeline's steps are [" +
                         std::to_string(options.firstStep) + ", " +
                         std::to_string(options.lastStep) + ")");
  state->changed.wait(lock, [&] { return state->results.count(step) != 0; });
  auto found = state->results.find(step);
  Expected<Batch> result = std::move(found->second);
  state->results.erase(found);
  state->nextDeliver = step + 1;
  if (!result)
    state->stickyError = result.status();
  lock.unlock();
  state->changed.notify_all();
  lastWait = millisSince(start);
  totalWait += lastWait;
  return result;
}

void InputPipeline::recycle(Batch &&batch) {
  std::lock_guard<std::mutex> lock(state->mutex);
  // Enough buffers for every batch that can be in flight at once.
  size_t limit =
      static_cast<size_t>(options.prefetchDepth + options.workerThreads);
  if (state->pool.size() < limit)
    state->pool.push_back(std::move(batch));
}

} // namespace simclr
