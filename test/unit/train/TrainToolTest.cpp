//===- TrainToolTest.cpp - simclr-train end to end on a test artifact -----===//
//
// Runs the simclr-train binary on an artifact whose train_step is the
// executor tests' hand-written kernel (loss = mean(views) * w[0], w -= lr)
// and a tiny IDX file: arguments, checkpoints, run.json, metrics, resume.
//
//===----------------------------------------------------------------------===//
#include "../executor-runtime/TestArtifact.h"
#include "../executor-runtime/TestKernels.h"
#include "TrainTestUtil.h"

#include "simclr/Runtime/Checkpoint.h"
#include "simclr/Runtime/RunRecord.h"
#include "simclr/Support/AugmentationPolicyJson.h"
#include "simclr/Support/TrainingConfig.h"

#include <cstdio>
#include <cstring>
#include <sys/wait.h>

namespace simclr {
namespace {

using testing::readText;
using testing::ScratchDir;

/// The test kernel's views: 2 x batch 2 x 1 x 4 x 4.
constexpr int64_t kBatch = 2, kSide = 4, kImages = 6;

artifact::Plan toolPlan() {
  using namespace testkernels;
  test::PlanBuilder b;
  int64_t param = b.buffer("w", DType::kF32, {kParamCount}, artifact::BufferRegion::kState);
  b.state("w", param, "ones");
  int64_t views = b.buffer("%views", DType::kF32, {2 * kBatch, 1, kSide, kSide},
                           artifact::BufferRegion::kInput);
  int64_t step = b.buffer("%step", DType::kI64, {}, artifact::BufferRegion::kInput);
  int64_t loss = b.buffer("%loss", DType::kF32, {}, artifact::BufferRegion::kArena);
  int64_t lr = b.buffer("%lr", DType::kF32, {}, artifact::BufferRegion::kArena);
  artifact::Program &train = b.program("train_step");
  train.inputs = {{"views", views}, {"step", step}};
  train.outputs = {{"loss", loss}, {"lr", lr}};
  train.schedule.push_back(test::kernelEntry("simclr_test_train_step",
                                             {views, step, param, param, loss, lr}, 3));
  artifact::Plan plan = b.finish();
  TrainingConfig config;
  config.batchSize = kBatch;
  config.imageShape = {1, kSide, kSide};
  config.stepsPerEpoch = kImages / kBatch;
  config.totalSteps = 6;
  config.seed = 5;
  config.dataset = "idx";
  config.datasetSize = kImages;
  config.augmentation.resize(1);
  config.augmentation[0].kind = AugmentationKind::kHorizontalFlip;
  config.augmentation[0].probability = 0.5;
  plan.trainingJson = trainingConfigToJson(config);
  plan.specName = "tool-test.toml";
  return plan;
}

/// An uncompressed IDX image file of kImages 4x4 images.
std::string writeIdx(const std::string &dir) {
  std::vector<uint8_t> bytes = {0, 0, 8, 3, 0, 0, 0, kImages, 0, 0, 0, kSide, 0, 0, 0, kSide};
  for (int64_t i = 0; i < kImages * kSide * kSide; ++i)
    bytes.push_back(static_cast<uint8_t>(i * 37 % 256));
  std::string path = dir + "/images-idx3-ubyte";
  EXPECT_TRUE(writeFileAtomically(path, bytes).isOk());
  return path;
}

struct ToolRun {
  int exitCode = -1;
  std::string output;
};

/// Runs simclr-train with `args`, capturing stdout and stderr.
ToolRun runTool(const std::string &args) {
  ToolRun run;
  std::string command = std::string(SIMCLR_TRAIN_TOOL) + " " + args + " 2>&1";
  std::FILE *pipe = ::popen(command.c_str(), "r");
  if (!pipe)
    return run;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;)
    run.output.append(buffer, n);
  int status = ::pclose(pipe);
  run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::vector<float> finalWeights(const std::string &checkpoint) {
  Expected<SafetensorsReader> reader = SafetensorsReader::open(checkpoint);
  EXPECT_TRUE(reader) << reader.status().toString();
  std::vector<float> w(testkernels::kParamCount);
  if (reader)
    EXPECT_TRUE(reader->read("w", DType::kF32, {testkernels::kParamCount}, w.data(),
                             w.size() * sizeof(float))
                    .isOk());
  return w;
}

size_t lineCount(const std::string &text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(TrainTool, TrainsStopsAndResumesBitIdentically) {
  ScratchDir scratch;
  ASSERT_FALSE(scratch.path().empty());
  std::string artifact = test::writeArtifact(toolPlan());
  std::string data = writeIdx(scratch.path());
  std::string common = artifact + " --data " + data + " --augment reference ";

  std::string runDir = scratch.path() + "/run";
  ToolRun first = runTool(common + "--out " + runDir + " --steps 4 --checkpoint-every 2");
  ASSERT_EQ(first.exitCode, 0) << first.output;
  EXPECT_NE(first.output.find("done: step 4; checkpoint " + checkpointPath(runDir, 4)),
            std::string::npos)
      << first.output;
  Expected<RunRecord> record = readRunRecord(runDir);
  ASSERT_TRUE(record) << record.status().toString();
  Expected<CheckpointInfo> info = readCheckpointInfo(checkpointPath(runDir, 4));
  ASSERT_TRUE(info) << info.status().toString();
  EXPECT_EQ(record->artifactIdentity, info->artifactIdentity);
  EXPECT_EQ(record->seed, 5u) << "the artifact's seed is the default";
  EXPECT_EQ(record->augmenter, "reference");
  EXPECT_EQ(lineCount(readText(runDir + "/metrics.csv")), 1u + 4u);

  ToolRun again = runTool(common + "--out " + runDir + " --steps 6");
  EXPECT_EQ(again.exitCode, 1) << again.output;
  EXPECT_NE(again.output.find("already holds checkpoints"), std::string::npos)
      << again.output;

  ToolRun resumed = runTool(common + "--out " + runDir + " --steps 6 --resume");
  ASSERT_EQ(resumed.exitCode, 0) << resumed.output;
  EXPECT_EQ(lineCount(readText(runDir + "/metrics.csv")), 1u + 6u);

  std::string straightDir = scratch.path() + "/straight";
  ToolRun straight = runTool(common + "--out " + straightDir + " --epochs 2");
  ASSERT_EQ(straight.exitCode, 0) << straight.output;
  std::vector<float> a = finalWeights(checkpointPath(straightDir, 6));
  std::vector<float> b = finalWeights(checkpointPath(runDir, 6));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  // The kernel subtracts lr = 0.5 / (1 + step) each step from w = 1.
  EXPECT_NE(a[0], 1.0f);
}

TEST(TrainTool, BadArgumentsExitWithTwo) {
  ScratchDir scratch;
  for (const std::string &args :
       {std::string(""), std::string("A --out R --steps 0"),
        std::string("A --out R --steps 2 --epochs 1"), std::string("A --out R --augment x"),
        std::string("A --out R --bogus")}) {
    ToolRun run = runTool(args);
    EXPECT_EQ(run.exitCode, 2) << args << ": " << run.output;
    EXPECT_EQ(lineCount(run.output), 1u) << run.output;
    EXPECT_EQ(run.output.rfind("simclr-train: error: ", 0), 0u) << run.output;
  }
  ToolRun missing = runTool(scratch.path() + "/none --out " + scratch.path() + "/run");
  EXPECT_EQ(missing.exitCode, 1) << missing.output;
  EXPECT_NE(missing.output.find(scratch.path() + "/none/plan.json"), std::string::npos)
      << missing.output;
}

} // namespace
} // namespace simclr
