//===- InputPipeline.h - Epochs, shuffles, prefetched batches -*- C++ -*-===//
//
// The input pipeline of simclr-train: it walks the training steps
// [firstStep, lastStep), shuffles each epoch, gathers each step's images and
// augments its two views on background threads, a few steps ahead of the
// train step, so the train step never waits for data when augmentation is
// faster than a step.
//
// Determinism: every batch is a pure function of (dataset, seed, step, the
// augmenter), so any thread count, prefetch depth or resume step gives
// bit-identical batches:
//  - Data parallelism: this process is rank r of K (worldSize; K = 1, r = 0
//    for one process) and B = batchSize is its share; the step's global
//    batch is G = K * B images.
//  - S = floor(count / G) steps per epoch (the incomplete last batch is
//    dropped); global step s is position k = s % S of epoch e = s / S.
//  - Epoch e's order is a Fisher-Yates shuffle of 0..count-1: for
//    i = count-1 down to 1: j = randint(0, i), swap(perm[i], perm[j]), all
//    draws from ImageStream(foldIn(foldIn(keyFromSeed(seed), kShuffleTag), e),
//    0). Step s's global batch is perm[k * G, (k + 1) * G), exactly what one
//    process with batch G takes; rank r takes its positions [r * B, (r + 1) * B),
//    i.e. perm[k * G + r * B, k * G + (r + 1) * B) (shardImageIndices). The
//    images of a step therefore do not depend on K, only on G.
//  - Step s's key is K_s = foldIn(foldIn(keyFromSeed(seed), kAugmentTag), s)
//    and view v is augmenter.augmentView(images, foldIn(K_s, v)) with the
//    images' firstIndex = r * B, so image n of rank r draws from
//    ImageStream(.., r * B + n): its global position. The K ranks' views are
//    therefore, bit for bit, the slices of one process's views of the global
//    batch, and with K = 1 nothing changes. This is what the compiled graph
//    computes with rng_key = K_s (Augmenter.h), so a runtime that augments
//    in-graph passes Batch::key instead of Batch::views.
//
// Threads and buffering: `workerThreads` threads each compute whole batches
// (gather, both views); next() hands them out in step order. At most
// `prefetchDepth` batches are produced or in production beyond the last one
// next() returned: with the default 2, while the train step consumes batch
// s, batches s+1 and s+2 are prepared (double buffering).
//
// Ownership: the pipeline borrows the ImageDataset passed to create(), which
// must outlive the pipeline and stay unmodified while it exists; it owns its
// augmenters and threads. Each Batch returned by next() belongs to the
// caller; recycle() gives its buffers back for reuse. The destructor stops
// the workers and joins them, also when the consumer stops early.
//
// Errors: create() rejects bad options with one line naming the value; a
// failing worker (an augmenter Status, or an exception it threw) makes next()
// return that Status, with the step as context, when that step is due, after
// every earlier batch; the pipeline then stays failed. No exception leaves
// the API.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_INPUTPIPELINE_H
#define SIMCLR_RUNTIME_INPUTPIPELINE_H

#include "simclr/Runtime/Augmenter.h"
#include "simclr/Runtime/Dataset.h"
#include "simclr/Support/Philox.h"
#include "simclr/Support/Status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace simclr {

/// Fold-in tag of the epoch shuffles: ASCII "SH".
constexpr uint64_t kShuffleTag = 0x5348;
/// Fold-in tag of the per-step augmentation keys: ASCII "AG".
constexpr uint64_t kAugmentTag = 0x4147;
/// SimCLR's two views per image.
constexpr int64_t kPipelineViews = 2;

/// The order in which epoch `epoch` visits the `count` images of a dataset
/// (Fisher-Yates, file comment). Fails if count < 1 or epoch < 0.
Expected<std::vector<int64_t>> epochPermutation(int64_t count, uint64_t seed,
                                                int64_t epoch);

/// K_s: the augmentation key of global step `step` (file comment).
RngKey stepAugmentKey(uint64_t seed, int64_t step);

/// Where rank `rank` of `worldSize` finds its `batchSize` images of global
/// step `step` in the epoch's permutation: positions
/// [first, first + batchSize), first = (step % stepsPerEpoch) * G +
/// rank * batchSize with G = worldSize * batchSize and stepsPerEpoch =
/// floor(count / G); `epoch` = step / stepsPerEpoch. firstIndex (rank *
/// batchSize) is the share's position in the global batch: the augmenter's
/// ImageBatchView::firstIndex.
struct StepShard {
  int64_t epoch = 0;
  int64_t first = 0;
  int64_t firstIndex = 0;
};

/// The file comment's sharding; fails on a step < 0, batchSize < 1, a rank
/// outside [0, worldSize) or a global batch larger than `count` (one line
/// naming the values).
Expected<StepShard> stepShard(int64_t count, int64_t batchSize, int64_t rank,
                              int64_t worldSize, int64_t step);

/// The dataset indices rank `rank` of `worldSize` trains on at global step
/// `step`: epochPermutation(count, seed, epoch)[first, first + batchSize)
/// of stepShard. For worldSize = 1 this is what the pipeline always took.
Expected<std::vector<int64_t>> shardImageIndices(int64_t count, uint64_t seed,
                                                 int64_t batchSize, int64_t rank,
                                                 int64_t worldSize, int64_t step);

/// One training step's data.
struct Batch {
  /// Global step (0-based) and its epoch.
  int64_t step = 0;
  int64_t epoch = 0;
  /// K_s; view v was augmented with foldIn(key, v).
  RngKey key{{0, 0}};
  /// The dataset indices of the batch's B images, in batch order (this
  /// rank's share of the global batch).
  std::vector<int64_t> imageIndices;
  /// The share's position in the global batch (rank * B; 0 for one process).
  int64_t firstIndex = 0;
  /// 2B x C x h x w float32, row-major: the B images of view 0, then view 1.
  std::vector<float> views;
  /// The images' labels, or empty when the dataset has none.
  std::vector<int32_t> labels;
  /// Wall time spent gathering and augmenting this batch, in milliseconds.
  double augmentMillis = 0;
};

/// Makes one Augmenter per worker thread (so workers augment in parallel).
using AugmenterFactory = std::function<Expected<std::unique_ptr<Augmenter>>()>;

class InputPipeline {
public:
  struct Options {
    /// Images per view per step of this rank; 2 <= batchSize and
    /// worldSize * batchSize <= dataset count.
    int64_t batchSize = 0;
    /// Data parallelism (file comment): this pipeline produces rank `rank`'s
    /// share of each step's global batch of worldSize * batchSize images.
    int64_t rank = 0;
    int64_t worldSize = 1;
    uint64_t seed = 0;
    /// Global steps [firstStep, lastStep) are produced; 0 <= first <= last.
    int64_t firstStep = 0;
    int64_t lastStep = 0;
    /// Batches prepared ahead of the consumer (>= 1).
    int64_t prefetchDepth = 2;
    /// Threads producing batches (>= 1).
    int64_t workerThreads = 1;
  };

  /// Starts a pipeline over `data` (borrowed: it must outlive the pipeline,
  /// unmodified) whose workers share `augmenter`; since an Augmenter serves
  /// one thread at a time, its calls are serialized, so extra workers only
  /// overlap gathering. Fails on bad options or a null augmenter.
  static Expected<std::unique_ptr<InputPipeline>>
  create(const ImageDataset &data, std::unique_ptr<Augmenter> augmenter,
         const Options &options);

  /// As above, but each worker gets its own augmenter from `factory`, so
  /// workers augment in parallel; a factory failure fails create().
  static Expected<std::unique_ptr<InputPipeline>>
  create(const ImageDataset &data, const AugmenterFactory &factory,
         const Options &options);

  /// Stops and joins the workers; batches not yet returned are dropped.
  ~InputPipeline();

  InputPipeline(const InputPipeline &) = delete;
  InputPipeline &operator=(const InputPipeline &) = delete;

  /// Blocks until the next step's batch is ready and returns it. Fails past
  /// lastStep, or with the worker's Status when producing it failed (and for
  /// every call after that).
  Expected<Batch> next();

  /// Returns a batch's buffers for reuse by a later step (optional).
  void recycle(Batch &&batch);

  /// How long the last next() blocked, in milliseconds: the "time waiting
  /// for data" of the train loop.
  double lastWaitMillis() const { return lastWait; }
  /// Sum of lastWaitMillis() over every next() so far.
  double totalWaitMillis() const { return totalWait; }

  /// S: full global batches per epoch.
  int64_t stepsPerEpoch() const { return stepsPerEpochValue; }
  /// The step the next call to next() returns.
  int64_t nextStep() const;
  /// The views' height and width (the augmenter's outputSize).
  int64_t viewHeight() const { return outHeight; }
  int64_t viewWidth() const { return outWidth; }

private:
  struct State;
  InputPipeline(const ImageDataset &data, const Options &options,
                int64_t outHeight, int64_t outWidth);
  static Expected<std::unique_ptr<InputPipeline>>
  start(const ImageDataset &data,
        std::vector<std::unique_ptr<Augmenter>> augmenters,
        const Options &options);
  /// Worker `worker`'s loop: claim a step, produce it, file the result.
  void workerLoop(int64_t worker);
  /// Fills `batch` with step `step`, using `gathered` as scratch for the
  /// images' uint8 pixels.
  Status produce(int64_t step, size_t worker, Batch &batch,
                 std::vector<uint8_t> &gathered);
  /// Epoch `epoch`'s image order, from a small cache.
  std::shared_ptr<const std::vector<int64_t>> permutationOf(int64_t epoch);

  const ImageDataset &data;
  Options options;
  int64_t stepsPerEpochValue;
  int64_t outHeight;
  int64_t outWidth;
  std::unique_ptr<State> state;
  double lastWait = 0;
  double totalWait = 0;
};

} // namespace simclr

#endif // SIMCLR_RUNTIME_INPUTPIPELINE_H
