//===- simclr-train.cpp - Trains a compiled SimCLR artifact ---------------===//
//
// simclr-train ARTIFACT_DIR --out RUN_DIR [--data PATH] [--epochs N | --steps N]
//              [--threads T] [--device D] [--seed S] [--resume]
//              [--checkpoint-every K]
//              [--augment halide|reference] [--log-every M]
//              [--knn-every K [--knn-train N] [--knn-test M]]
//
// Loads the artifact (Artifact::load), initializes its state from the seed,
// reads the training data, builds the augmenter of the artifact's policy,
// and runs the training loop (TrainingLoop.h) into RUN_DIR: checkpoints,
// metrics.csv, loss.svg and run.json (RunRecord.h). With --knn-every, every
// K steps the first N training images (memory bank) and the first M test
// images (queries) are encoded with the current parameters and the
// weighted kNN-200 top-1 is logged as metrics.csv's knn_top1.
//
// Data parallelism (issue 13; docs/data-parallel-launch.md): under
// `mpirun -np K`, createCommunicator() joins the K processes; each trains its
// share of a global batch of K x N images (N: the artifact's batch), rank 0
// alone writes the run directory and prints, and at the end it prints and
// records (run.json "communication") the collectives' share of the step.
// A failure on any rank ends the whole job through Communicator::abort with
// one line "simclr: rank R of K: simclr-train: MESSAGE" (exit code 70);
// with one process every output is what it was before.
//
// Exit codes: 0 done or stopped by SIGINT/TERM/HUP/PIPE after a checkpoint; 1 a
// failure (artifact, data, I/O, a refused checkpoint); 2 bad arguments; 3
// the loss became NaN or infinite (kExitDiverged); 70 (multi-rank) a failure
// on some rank or in communication (kCommunicationFailureExitCode).
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/Augmenter.h"
#include "simclr/Runtime/CliValidators.h"
#include "simclr/Runtime/Communicator.h"
#include "simclr/Runtime/ToolDiagnostics.h"
#include "simclr/Runtime/Dataset.h"
#include "simclr/Runtime/EncoderFeatures.h"
#include "simclr/Runtime/Executor.h"
#include "simclr/Runtime/ExecutorModel.h"
#include "simclr/Runtime/MemoryLimit.h"
#include "simclr/Runtime/RunRecord.h"
#include "simclr/Runtime/TrainingLoop.h"
#include "simclr/Support/CommonFlags.h"
#include "simclr/Support/TrainingConfig.h"
#include "simclr/Support/TrainingSteps.h"
#ifdef SIMCLR_HAVE_HALIDE_AUGMENTER
#include "simclr/Runtime/HalideAugmenter.h"
#endif

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include <unistd.h>

using namespace simclr;
namespace fs = std::filesystem;
using runtime::kAtLeastOne;

namespace {

/// Its error lines and exit codes (ToolDiagnostics.h).
constexpr runtime::ToolDiagnostics kTool{"simclr-train"};

struct Arguments {
  std::string artifactDir;
  std::string dataPath;
  std::string runDir;
  /// 0: not given.
  int64_t epochs = 0;
  int64_t steps = 0;
  std::optional<uint64_t> seed;
  int threads = 0;
  std::optional<DeviceSpec> device;
  bool resume = false;
  int64_t checkpointEvery = 0;
  int64_t logEvery = 50;
  std::string augment;
  /// The kNN monitor: every knnEvery steps (0: off), knnTrain training
  /// images as the memory bank, knnTest test images as queries.
  int64_t knnEvery = 0;
  int64_t knnTrain = 5000;
  int64_t knnTest = 1000;
  /// --max-memory (MemoryLimit.h).
  runtime::MemoryLimit maxMemory;
};

/// The augmenter factory for `name` ("halide", "reference", or empty: Halide
/// when built).
Expected<AugmenterFactory> augmenterFactory(std::string &name,
                                            const AugmentationPolicy &policy,
                                            int threads) {
#ifdef SIMCLR_HAVE_HALIDE_AUGMENTER
  if (name.empty())
    name = "halide";
  if (name == "halide") {
    if (threads > 0)
      setHalideThreadCount(threads);
    return AugmenterFactory([policy] { return createHalideAugmenter(policy); });
  }
#else
  (void)threads;
  if (name.empty())
    name = "reference";
  if (name == "halide")
    return invalidArgument("--augment halide: this simclr-train was built without "
                           "Halide 14; use --augment reference");
#endif
  return AugmenterFactory([policy] { return createReferenceAugmenter(policy); });
}

/// kTool's failures, made job-wide under mpirun: with more than one rank a
/// failing rank must not leave the others blocked in a collective, so it
/// ends the job (Communicator::abort: one line naming the rank, exit 70).
struct Failures {
  runtime::Communicator *comm = nullptr;

  bool multiRank() const { return comm && comm->size() > 1; }
  int fail(const std::string &message) const {
    if (multiRank())
      comm->abort("simclr-train: " + message);
    return kTool.fail(message);
  }
  int usageError(const std::string &message) const {
    if (multiRank())
      comm->abort("simclr-train: " + message + " (simclr-train --help lists the options)");
    return kTool.usageError(message);
  }
};

int train(Arguments &args) {
  Expected<std::unique_ptr<runtime::Communicator>> comm = runtime::createCommunicator();
  if (!comm)
    return kTool.fail(comm.status().message());
  const Failures failures{comm->get()};
  const int64_t ranks = (*comm)->size();
  const bool rankZero = (*comm)->rank() == 0;

  Expected<std::shared_ptr<const runtime::Artifact>> artifact =
      runtime::Artifact::load(args.artifactDir);
  if (!artifact)
    return failures.fail(artifact.status().message());
  Expected<TrainingConfig> config = trainingConfigFromPlan((*artifact)->plan());
  if (!config)
    return failures.fail(args.artifactDir + ": " + config.status().message());
  uint64_t seed = args.seed.value_or(config->seed);
  // The artifact's batch is one rank's; epochs count global batches.
  const int64_t globalBatch = ranks * config->batchSize;
  // Only a data-parallel artifact (simclrc --data-parallel: its train step
  // takes the replica count) makes K processes one training run.
  const artifact::Program *step =
      (*artifact)->plan().findProgram(program_name::kTrainStep);
  const bool dataParallel =
      step && std::any_of(step->inputs.begin(), step->inputs.end(),
                          [](const artifact::Binding &b) {
                            return b.role == binding_role::kReplicas;
                          });
  if (ranks > 1 && !dataParallel)
    return failures.fail(args.artifactDir + ": not compiled for data-parallel "
                         "training, but this job has " + std::to_string(ranks) +
                         " ranks; compile the spec with simclrc --data-parallel");
  // The compiled schedule counts epochs of the artifact's batch; a
  // data-parallel artifact's schedule kernel rescales them to the global
  // batch as floor(steps per epoch / ranks) steps per epoch (KernelPrinter,
  // lr_schedule), and so does the default length of the run.
  const int64_t scheduleSteps =
      dataParallel && config->stepsPerEpoch > 0
          ? config->stepsPerEpoch / ranks * (config->totalSteps / config->stepsPerEpoch)
          : config->totalSteps;

  if (args.dataPath.empty()) {
    if (config->dataset != "fashion-mnist")
      return failures.usageError("the artifact trains on '" + config->dataset +
                                 "'; pass its location with --data");
    args.dataPath = kDefaultFashionMnistDir;
  }
  Expected<ImageDataset> data =
      readDatasetSplit(args.dataPath, Split::kTrain, config->imageShape);
  if (!data)
    return failures.fail(data.status().message());
  std::array<int64_t, 3> shape = {data->channels, data->height, data->width};
  if (shape != config->imageShape)
    return failures.fail(args.dataPath + ": images are " + std::to_string(shape[0]) + "x" +
                      std::to_string(shape[1]) + "x" + std::to_string(shape[2]) +
                      " (CxHxW), the artifact was compiled for " +
                      std::to_string(config->imageShape[0]) + "x" +
                      std::to_string(config->imageShape[1]) + "x" +
                      std::to_string(config->imageShape[2]));
  if (data->count < globalBatch)
    return failures.fail(
        args.dataPath + ": " + std::to_string(data->count) + " images, fewer than one batch of " +
        (ranks > 1 ? std::to_string(ranks) + " ranks x " : std::string()) +
        std::to_string(config->batchSize));
  if (data->count != config->datasetSize && rankZero)
    std::cerr << "simclr-train: warning: " << args.dataPath << " holds "
              << data->count << " images, the artifact was compiled for "
              << config->datasetSize << " (its schedule's epochs differ from these)\n";

  std::optional<int64_t> epochSteps =
      checkedStepsForEpochs(data->count, globalBatch, args.epochs);
  if (!epochSteps)
    return failures.usageError("--epochs " + std::to_string(args.epochs) + " x " +
                               std::to_string(stepsPerEpoch(data->count, globalBatch)) +
                               " steps per epoch does not fit in 64 bits");
  int64_t totalSteps = args.steps    ? args.steps
                       : args.epochs ? *epochSteps
                                     : scheduleSteps;
  if (totalSteps > scheduleSteps && rankZero)
    std::cerr << "simclr-train: warning: training for " << totalSteps
              << " steps; the compiled learning-rate schedule ends at step "
              << scheduleSteps << "\n";

  Expected<AugmenterFactory> augmenters =
      augmenterFactory(args.augment, config->augmentation, args.threads);
  if (!augmenters)
    return failures.usageError(augmenters.status().message());

  // Refused now, with the sizes, rather than killed part-way (issue 14).
  if (Status fits = runtime::checkMemory(
          args.artifactDir, runtime::planMemory((*artifact)->plan(), static_cast<int64_t>(data->pixels.size())),
          args.maxMemory);
      !fits.isOk())
    return failures.fail(fits.message());

  runtime::ExecutorOptions executorOptions;
  executorOptions.threads = args.threads;
  executorOptions.device = args.device;
  // The plan's collectives run through it (K into train_step's replicas).
  executorOptions.communicator = comm->get();
  // One GPU per rank of a machine, unless --device chose one.
  if (ranks > 1 && !args.device && (*artifact)->plan().library.target == "cuda")
    executorOptions.device = DeviceSpec{DeviceKind::kCuda, (*comm)->localRank()};
  Expected<std::unique_ptr<runtime::Executor>> executor =
      runtime::Executor::create(*artifact, executorOptions);
  if (!executor)
    return failures.fail(executor.status().message());
  // Every rank initializes the same state from the seed; resuming replaces
  // it with rank 0's checkpoint on every rank (TrainingLoop.h).
  if (Status status = (*executor)->initializeState(seed); !status.isOk())
    return failures.fail(status.message());
  ExecutorModel model(**executor);

  RunRecord record;
  record.artifactDir = runtime::absolutePath((*artifact)->directory());
  record.artifactIdentity = (*artifact)->identity();
  record.dataPath = runtime::absolutePath(args.dataPath);
  record.seed = seed;
  record.totalSteps = totalSteps;
  record.batchSize = config->batchSize;
  record.augmenter = args.augment;
  record.worldSize = ranks;

  TrainingLoopOptions options;
  options.runDir = args.runDir;
  options.totalSteps = totalSteps;
  options.batchSize = config->batchSize;
  options.communicator = comm->get();
  options.seed = seed;
  options.checkpointEvery = args.checkpointEvery;
  options.resume = args.resume;
  options.logEvery = args.logEvery;
  options.progressIsTerminal = ::isatty(STDOUT_FILENO) != 0;
  options.onStart = [&](int64_t) { return writeRunRecord(args.runDir, record); };
  // The kNN monitor's images: fixed subsets, read once.
  ImageDataset knnBank, knnQueries;
  if (args.knnEvery > 0) {
    if (static_cast<int64_t>(data->labels.size()) != data->count)
      return failures.usageError("--knn-every: " + args.dataPath +
                                 " has no labels; the kNN monitor needs them");
    Expected<ImageDataset> bank = subset(*data, 0, std::min(args.knnTrain, data->count));
    if (!bank)
      return failures.fail(bank.status().message());
    Expected<ImageDataset> test =
        readDatasetSplit(args.dataPath, Split::kTest, config->imageShape);
    if (!test)
      return failures.fail("--knn-every: " + test.status().message());
    Expected<ImageDataset> queries = subset(*test, 0, std::min(args.knnTest, test->count));
    if (!queries)
      return failures.fail(queries.status().message());
    knnBank = std::move(*bank);
    knnQueries = std::move(*queries);
    options.knnEvery = args.knnEvery;
    options.knnMonitor = [&](int64_t) {
      return knnMonitorTop1(**executor, knnBank, knnQueries);
    };
  }
  if (Status status = installStopSignalHandlers(); !status.isOk())
    return failures.fail(status.message());

  Expected<TrainingResult> result = runTraining(model, *data, *augmenters, options);
  if (!result)
    return failures.fail(result.status().message());
  if (result->outcome == TrainingOutcome::kDiverged && rankZero)
    std::cerr << result->message << "\n";
  if (result->communication && rankZero) {
    std::cout << formatCommunicationShare(*result->communication, (*comm)->engine()) << '\n'
              << std::flush;
    record.communication = result->communication;
    if (Status status = writeRunRecord(args.runDir, record); !status.isOk())
      return failures.fail(status.message());
  }
  return result->exitCode();
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"simclr-train: trains a SimCLR artifact compiled by simclrc, "
               "writing checkpoints, metrics.csv and loss.svg to a run directory"};
  Arguments args;
  app.add_option("artifact", args.artifactDir, "Artifact directory (simclrc SPEC -o DIR)")
      ->required();
  app.add_option(std::string("-") + flags::kOutput.name + ",--out", args.runDir, "Run directory: checkpoints/, metrics.csv, "
                                       "loss.svg, run.json")
      ->required();
  app.add_option("--data", args.dataPath,
                 "Training data: a Fashion-MNIST/IDX or CIFAR-10 directory, an IDX "
                 "image file or an image folder (default for fashion-mnist "
                 "artifacts: " + std::string(kDefaultFashionMnistDir) + ")");
  CLI::Option *epochs = app.add_option("--epochs", args.epochs,
                                       "Train until this many epochs are done")
                            ->check(kAtLeastOne);
  CLI::Option *steps = app.add_option("--steps", args.steps,
                                      "Train until this many steps are done "
                                      "(default: the artifact's schedule)")
                           ->check(kAtLeastOne);
  epochs->excludes(steps);
  uint64_t seed = 0;
  CLI::Option *seedOption =
      app.add_option(std::string("--") + flags::kSeed.name, seed,
                     std::string(flags::kSeed.help) + " (default: the artifact's)");
  app.add_option(std::string("--") + flags::kThreads.name, args.threads,
                 flags::kThreads.help)
      ->check(CLI::NonNegativeNumber);
  runtime::addDeviceOption(app, args.device);
  app.add_flag("--resume", args.resume,
               "Continue from the run directory's newest checkpoint");
  app.add_option("--checkpoint-every", args.checkpointEvery,
                 "A checkpoint every K steps (always one at the end and on "
                 "SIGINT/TERM/HUP/PIPE; 0: only those)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-every", args.logEvery,
                 "When stdout is not a terminal: a progress line every M steps")
      ->check(kAtLeastOne);
  app.add_option("--augment", args.augment,
                 "Augmentation kernels: halide (default when built) or reference")
      ->check(CLI::IsMember({"halide", "reference"}));

  app.add_option("--knn-every", args.knnEvery,
                 "Every K steps, log the kNN-200 top-1 of the current encoder as "
                 "metrics.csv's knn_top1 (0: never)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--knn-train", args.knnTrain,
                 "kNN monitor: the first N training images are its memory bank")
      ->check(kAtLeastOne);
  app.add_option("--knn-test", args.knnTest,
                 "kNN monitor: the first M test images are its queries")
      ->check(kAtLeastOne);

  std::string maxMemory = "auto";
  app.add_option(runtime::kMaxMemoryFlag, maxMemory,
                 "Refuse to start when the run needs more memory than this: auto "
                 "(MemAvailable, or the cgroup's room), none, or BYTES[K|M|G|T]");

  if (std::optional<int> exitCode = runtime::parseCommandLine(app, argc, argv, kTool))
    return *exitCode;
  Expected<runtime::MemoryLimit> limit = runtime::parseMemoryLimit(maxMemory);
  if (!limit)
    return kTool.usageError(limit.status().message());
  args.maxMemory = *limit;
  if (seedOption->count())
    args.seed = seed;
  return train(args);
}
