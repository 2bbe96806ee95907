//===- simclr-eval.cpp - Evaluates a trained SimCLR checkpoint ------------===//
//
// simclr-eval CHECKPOINT [--data PATH] [--artifact DIR] [--threads T] [--device D]
//             [--out DIR] [--k K] [--temperature T] [--no-baselines]
//             [--max-train N] [--max-test M]
//
// 1. Reads the checkpoint's metadata (Checkpoint.h) and finds its artifact:
//    --artifact, or the run record (RunRecord.h) of the checkpoint's run
//    directory. An artifact of another identity is refused. A safetensors
//    file without checkpoint metadata is plain weights under the artifact's
//    state names (e.g. PyTorch's, from bench/pytorch_simclr.py --mode
//    train); it needs --artifact, and goes through the same name, dtype and
//    shape checks.
// 2. Loads the checkpoint's parameters and running statistics into an
//    Executor and encodes the train and test splits with the compiled
//    "encode" program (features h, batch norm in inference mode).
// 3. Evaluates the features (runtime/Eval): weighted kNN (k = 200,
//    T = 0.07 by default), majority kNN-20 and the linear probe, whose
//    weight decay is chosen on a validation split of the training features.
//    Baselines by the same code: the same architecture at its random
//    initialization, and raw pixels.
// 4. Prints the table and writes OUT/eval.json and OUT/embeddings.svg (PCA
//    of the trained encoder's test features), OUT defaulting to the run
//    directory (for plain weights, the file's directory).
//
// Exit codes: 0 done; 1 a failure (checkpoint, artifact, data, I/O), one
// line naming the file; 2 bad arguments.
//
//===----------------------------------------------------------------------===//
#include "simclr/Eval/Baselines.h"
#include "simclr/Eval/EmbeddingPlot.h"
#include "simclr/Eval/EvalReport.h"
#include "simclr/Eval/Knn.h"
#include "simclr/Eval/LinearProbe.h"
#include "simclr/Runtime/Checkpoint.h"
#include "simclr/Runtime/CliValidators.h"
#include "simclr/Runtime/ToolDiagnostics.h"
#include "simclr/Runtime/Dataset.h"
#include "simclr/Runtime/EncoderFeatures.h"
#include "simclr/Runtime/Executor.h"
#include "simclr/Runtime/RunRecord.h"
#include "simclr/Support/CommonFlags.h"
#include "simclr/Support/TrainingConfig.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

#include <stdlib.h>
#include <unistd.h>

using namespace simclr;
namespace fs = std::filesystem;
using runtime::kAtLeastOne;
using runtime::kPositiveReal;

namespace {

/// Its error lines and exit codes (ToolDiagnostics.h).
constexpr runtime::ToolDiagnostics kTool{"simclr-eval"};
constexpr const char *kReportFile = "eval.json";
constexpr const char *kPlotFile = "embeddings.svg";

struct Arguments {
  std::string checkpoint;
  std::string dataPath;
  std::string artifactDir;
  std::string outDir;
  int threads = 0;
  std::optional<DeviceSpec> device;
  int64_t k = eval::kDefaultWeightedK;
  double temperature = eval::kDefaultKnnTemperature;
  bool noBaselines = false;
  /// 0: the whole split.
  int64_t maxTrain = 0;
  int64_t maxTest = 0;
};

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// kNN (weighted with the CLI's k and temperature, and majority-20) and the
/// linear probe of one train/test pair, as evaluateFeatures does with fixed
/// kNN settings.
Expected<eval::EncoderEval> evaluate(const std::string &name,
                                     const eval::FeatureMatrix &train,
                                     const eval::FeatureMatrix &test,
                                     const Arguments &args) {
  eval::EncoderEval row;
  row.name = name;
  auto start = std::chrono::steady_clock::now();
  auto knn = eval::knnClassifyMany(
      train, test,
      {eval::KnnOptions::weighted(args.k, args.temperature),
       eval::KnnOptions::majority()});
  if (!knn)
    return knn.status().withContext(name);
  row.knnSeconds = secondsSince(start);
  row.knnWeightedTop1 = (*knn)[0].top1();
  row.knnMajorityTop1 = (*knn)[1].top1();
  start = std::chrono::steady_clock::now();
  auto probe = eval::runLinearProbe(train, test);
  if (!probe)
    return probe.status().withContext(name);
  row.linearSeconds = secondsSince(start);
  row.linearTop1 = probe->test.top1();
  row.linearWeightDecay = probe->selection.chosen;
  char timing[128];
  std::snprintf(timing, sizeof timing, ": kNN %.1f s, linear probe %.1f s\n",
                row.knnSeconds, row.linearSeconds);
  std::cout << "  " << name << timing << std::flush;
  return row;
}

/// The first `limit` images of `dataset` (limit 0: all).
Expected<ImageDataset> firstImages(ImageDataset dataset, int64_t limit) {
  if (limit <= 0 || limit >= dataset.count)
    return dataset;
  return subset(dataset, 0, limit);
}

int evaluateCheckpoint(Arguments &args) {
  // 1. The checkpoint (or plain weights) and its artifact.
  std::error_code ec;
  if (!fs::is_regular_file(args.checkpoint, ec))
    return kTool.fail(args.checkpoint + ": no such checkpoint file");
  Expected<std::optional<CheckpointInfo>> read = readCheckpointInfoIfPresent(args.checkpoint);
  if (!read)
    return kTool.fail(read.status().message());
  const std::optional<CheckpointInfo> &info = *read;
  std::optional<RunRecord> record;
  std::string runDir;
  if (info) {
    runDir = runDirOfCheckpoint(args.checkpoint);
    if (Expected<RunRecord> readRecord = readRunRecord(runDir))
      record = *readRecord;
    else if (args.artifactDir.empty())
      return kTool.fail(readRecord.status().code() == StatusCode::kNotFound
                            ? args.checkpoint + ": no " + runRecordPath(runDir) +
                                  " to find its artifact; pass --artifact"
                            : readRecord.status().message());
    if (args.artifactDir.empty())
      args.artifactDir = record->artifactDir;
  } else {
    // Weights from elsewhere (another framework's state under the artifact's
    // names): nothing says which artifact they fit, so the user names it;
    // Executor::loadState still checks every name, dtype and shape.
    if (args.artifactDir.empty())
      return kTool.fail(args.checkpoint + ": not a simclr-train checkpoint (its metadata has no '" +
                        kCheckpointFormatKey +
                        "'); to evaluate it as weights, pass the artifact whose network "
                        "they fit with --artifact");
    runDir = fs::path(args.checkpoint).parent_path().string();
    if (runDir.empty())
      runDir = ".";
  }

  Expected<std::shared_ptr<const runtime::Artifact>> artifact =
      runtime::Artifact::load(args.artifactDir);
  if (!artifact)
    return kTool.fail(artifact.status().message());
  Expected<TrainingConfig> config = trainingConfigFromPlan((*artifact)->plan());
  if (!config)
    return kTool.fail(args.artifactDir + ": " + config.status().message());

  // 2. The data.
  if (args.dataPath.empty()) {
    if (record && !record->dataPath.empty())
      args.dataPath = record->dataPath;
    else if (config->dataset == "fashion-mnist")
      args.dataPath = kDefaultFashionMnistDir;
    else
      return kTool.usageError("the artifact trains on '" + config->dataset +
                              "'; pass its location with --data");
  }
  Expected<ImageDataset> train =
      readDatasetSplit(args.dataPath, Split::kTrain, config->imageShape);
  if (!train)
    return kTool.fail(train.status().message());
  Expected<ImageDataset> test =
      readDatasetSplit(args.dataPath, Split::kTest, config->imageShape);
  if (!test)
    return kTool.fail(test.status().message());
  for (const ImageDataset *split : {&*train, &*test})
    if (static_cast<int64_t>(split->labels.size()) != split->count)
      return kTool.fail(args.dataPath + ": the images have no labels; evaluation needs them");
  train = firstImages(std::move(*train), args.maxTrain);
  if (!train)
    return kTool.fail(train.status().message());
  test = firstImages(std::move(*test), args.maxTest);
  if (!test)
    return kTool.fail(test.status().message());
  if (train->count < 2)
    return kTool.fail(args.dataPath + ": the linear probe needs at least 2 training images");

  // 3. Features of the trained encoder.
  runtime::ExecutorOptions executorOptions;
  executorOptions.threads = args.threads;
  executorOptions.device = args.device;
  Expected<std::unique_ptr<runtime::Executor>> executor =
      runtime::Executor::create(*artifact, executorOptions);
  if (!executor)
    return kTool.fail(executor.status().message());
  // The identity is the network's state layout, so a checkpoint of the same
  // spec evaluates on any target's artifact; another network is refused,
  // naming the first tensor that differs where the tensors show it.
  if (info && (*artifact)->identity() != info->artifactIdentity) {
    Status tensors = (*executor)->checkStateFile(args.checkpoint);
    return kTool.fail((tensors ? args.checkpoint : tensors.message()) +
                      ": written for network " + info->artifactIdentity + ", but " +
                      args.artifactDir + " is network " + (*artifact)->identity() +
                      "; pass the artifact that trained it with --artifact");
  }
  if (Status status = (*executor)->loadState(args.checkpoint, /*parametersOnly=*/true);
      !status.isOk())
    return kTool.fail(status.message());
  std::cout << "simclr-eval: " << args.checkpoint
            << (info ? " (step " + std::to_string(info->step) + ")"
                     : std::string(" (weights without checkpoint metadata)"))
            << ", artifact " << args.artifactDir << "\n"
            << "encoding " << train->count << " train and " << test->count
            << " test images of " << args.dataPath << " (features: "
            << (*executor)->featureDim() << ")\n"
            << std::flush;
  auto encodeBoth = [&](const std::string &what)
      -> Expected<std::pair<eval::FeatureMatrix, eval::FeatureMatrix>> {
    Expected<eval::FeatureMatrix> trainFeatures = encodeDataset(**executor, *train);
    if (!trainFeatures)
      return trainFeatures.status().withContext(what + ", train split");
    Expected<eval::FeatureMatrix> testFeatures = encodeDataset(**executor, *test);
    if (!testFeatures)
      return testFeatures.status().withContext(what + ", test split");
    return std::make_pair(std::move(*trainFeatures), std::move(*testFeatures));
  };
  auto trained = encodeBoth("trained encoder");
  if (!trained)
    return kTool.fail(trained.status().message());

  std::vector<eval::EncoderEval> rows;
  Expected<eval::EncoderEval> row =
      evaluate("trained encoder", trained->first, trained->second, args);
  if (!row)
    return kTool.fail(row.status().message());
  rows.push_back(*row);

  // Baselines by the same code.
  if (!args.noBaselines) {
    uint64_t seed = record ? record->seed : config->seed;
    if (Status status = (*executor)->initializeState(seed); !status.isOk())
      return kTool.fail(status.message());
    auto random = encodeBoth("random encoder");
    if (!random)
      return kTool.fail(random.status().message());
    row = evaluate("random encoder", random->first, random->second, args);
    if (!row)
      return kTool.fail(row.status().message());
    rows.push_back(*row);

    Expected<eval::FeatureMatrix> trainPixels = eval::rawPixelFeatures(*train);
    Expected<eval::FeatureMatrix> testPixels = eval::rawPixelFeatures(*test);
    if (!trainPixels || !testPixels)
      return kTool.fail(args.dataPath + ": " +
                        (!trainPixels ? trainPixels.status() : testPixels.status()).message());
    row = evaluate("raw pixels", *trainPixels, *testPixels, args);
    if (!row)
      return kTool.fail(row.status().message());
    rows.push_back(*row);
  }

  // 4. Report.
  if (args.outDir.empty())
    args.outDir = runDir;
  fs::create_directories(args.outDir, ec);
  if (ec)
    return kTool.fail(args.outDir + ": cannot create the output directory: " + ec.message());
  std::string reportPath = (fs::path(args.outDir) / kReportFile).string();
  std::string plotPath = (fs::path(args.outDir) / kPlotFile).string();
  if (Status status = eval::writeEvalReportJson(reportPath, rows); !status.isOk())
    return kTool.fail(status.message());
  eval::EmbeddingPlotOptions plot;
  plot.classNames = test->classNames;
  plot.title = "PCA of test features h, " + fs::path(args.checkpoint).filename().string();
  if (Status status = eval::writeEmbeddingPlotSvg(plotPath, trained->second, plot);
      !status.isOk())
    return kTool.fail(status.message());

  std::cout << "\n";
  if (args.k != eval::kDefaultWeightedK || args.temperature != eval::kDefaultKnnTemperature)
    std::cout << "(weighted kNN with k = " << args.k << ", T = " << args.temperature
              << ")\n";
  std::cout << eval::formatEvalTable(rows) << "\n"
            << "report: " << runtime::absolutePath(reportPath) << "\n"
            << "embeddings: " << runtime::absolutePath(plotPath) << "\n";
  return 0;
}

} // namespace

/// Why: simclr-eval alternates the executor's OpenMP kernels with OpenBLAS
/// and the eval library's threads. libgomp's default wait policy spins
/// after every parallel region and starves both (runtime/Eval/Parallel.h);
/// on the 2-core build machine, under load, the lit test's evaluation took
/// 45 s with 2 threads and 7.8 s with OMP_WAIT_POLICY=passive. libgomp
/// reads the variable when it is loaded, before main, so the process sets
/// it and starts itself again once; a user's own setting is kept.
void useOpenMpPassiveWaitPolicy(char **argv) {
  constexpr const char *kVariable = "OMP_WAIT_POLICY";
  if (std::getenv(kVariable))
    return;
  if (::setenv(kVariable, "passive", /*overwrite=*/0) != 0)
    return;
  ::execv("/proc/self/exe", argv);
  // exec failed: carry on with the default policy, only slower.
}

int main(int argc, char **argv) {
  useOpenMpPassiveWaitPolicy(argv);
  CLI::App app{"simclr-eval: evaluates a simclr-train checkpoint's encoder with "
               "kNN and a linear probe, against a random encoder and raw pixels"};
  Arguments args;
  app.add_option("checkpoint", args.checkpoint,
                 "Checkpoint file (RUN_DIR/checkpoints/step-N.safetensors), or "
                 "weights under the artifact's state names with --artifact")
      ->required();
  app.add_option("--data", args.dataPath,
                 "Dataset directory with train and test splits (Fashion-MNIST/IDX "
                 "or CIFAR-10; default: the run's data)");
  app.add_option("--artifact", args.artifactDir,
                 "Artifact directory (default: the one in RUN_DIR/run.json)");
  app.add_option(std::string("--") + flags::kThreads.name, args.threads,
                 flags::kThreads.help)
      ->check(CLI::NonNegativeNumber);
  runtime::addDeviceOption(app, args.device);
  app.add_option("--out", args.outDir,
                 "Where eval.json and embeddings.svg go (default: the run directory; "
                 "for plain weights, their file's directory)");
  app.add_option("--k", args.k, "Neighbours of the weighted kNN vote")
      ->check(kAtLeastOne);
  app.add_option("--temperature", args.temperature,
                 "Temperature of the weighted kNN vote")
      ->check(kPositiveReal);
  app.add_flag("--no-baselines", args.noBaselines,
               "Evaluate only the trained encoder (no random encoder, no raw pixels)");
  app.add_option("--max-train", args.maxTrain,
                 "Use only the first N training images (0: all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-test", args.maxTest, "Use only the first M test images (0: all)")
      ->check(CLI::NonNegativeNumber);

  if (std::optional<int> exitCode = runtime::parseCommandLine(app, argc, argv, kTool))
    return *exitCode;
  // Nothing below throws by design; a failed allocation is still reported
  // as one line rather than an abort.
  try {
    return evaluateCheckpoint(args);
  } catch (const std::exception &e) {
    return kTool.fail(std::string("unexpected failure: ") + e.what());
  }
}
