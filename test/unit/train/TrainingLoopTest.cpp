//===- TrainingLoopTest.cpp - Resume, stop, divergence, metrics -----------===//
#include "TrainTestUtil.h"

#include "simclr/Runtime/Checkpoint.h"
#include "simclr/Runtime/TrainingLog.h"
#include "simclr/Runtime/TrainingLoop.h"
#include "simclr/Support/FileIO.h"

#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include <unistd.h>

namespace simclr {
namespace {

using testing::FakeModel;
using testing::readText;
using testing::ScratchDir;
namespace fs = std::filesystem;

/// 40 images, batch 4: 10 steps per epoch.
constexpr int64_t kImages = 40, kBatch = 4, kStepsPerEpoch = kImages / kBatch;
constexpr uint64_t kSeed = 7;

class TrainLoop : public ::testing::Test {
protected:
  TrainLoop() : data(testing::makeTinyDataset(kImages)) {}

  TrainingLoopOptions options(int64_t totalSteps) {
    TrainingLoopOptions o;
    o.runDir = run.path() + "/run";
    o.totalSteps = totalSteps;
    o.batchSize = kBatch;
    o.seed = kSeed;
    o.checkpointEvery = 3;
    o.dataThreads = 2;
    o.logEvery = 5;
    o.progress = &progress;
    o.diagnostics = &diagnostics;
    o.stopFlag = &stop;
    return o;
  }

  Expected<TrainingResult> train(FakeModel &model, const TrainingLoopOptions &o) {
    AugmenterFactory factory = [] { return createReferenceAugmenter(testing::tinyPolicy()); };
    return runTraining(model, data, factory, o);
  }

  /// The steps listed in metrics.csv, in file order.
  std::vector<int64_t> metricSteps(const std::string &runDir) {
    std::vector<int64_t> steps;
    std::stringstream lines(readText(metricsPath(runDir)));
    std::string line;
    std::getline(lines, line);
    EXPECT_EQ(line, kMetricsHeader);
    while (std::getline(lines, line))
      steps.push_back(std::stoll(line.substr(0, line.find(','))));
    return steps;
  }

  /// step -> the loss column's text.
  std::map<int64_t, std::string> metricLosses(const std::string &runDir) {
    std::map<int64_t, std::string> losses;
    std::stringstream lines(readText(metricsPath(runDir)));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
      std::vector<std::string> fields;
      std::stringstream row(line);
      for (std::string field; std::getline(row, field, ',');)
        fields.push_back(field);
      losses[std::stoll(fields[0])] = fields[2];
    }
    return losses;
  }

  static std::vector<int64_t> range(int64_t begin, int64_t end) {
    std::vector<int64_t> steps;
    for (int64_t s = begin; s < end; ++s)
      steps.push_back(s);
    return steps;
  }

  ScratchDir run;
  ImageDataset data;
  std::ostringstream progress, diagnostics;
  std::atomic<bool> stop{false};
};

TEST_F(TrainLoop, ResumedRunIsBitIdenticalToAStraightOne) {
  ASSERT_FALSE(run.path().empty());
  constexpr int64_t kHalf = 13, kTotal = 2 * kHalf;

  TrainingLoopOptions straightOptions = options(kTotal);
  straightOptions.runDir = run.path() + "/straight";
  FakeModel straight;
  Expected<TrainingResult> a = train(straight, straightOptions);
  ASSERT_TRUE(a) << a.status().toString();
  EXPECT_EQ(a->outcome, TrainingOutcome::kCompleted);
  EXPECT_EQ(a->endStep, kTotal);
  EXPECT_EQ(a->lastCheckpoint, checkpointPath(straightOptions.runDir, kTotal));

  // Half, stop (a step limit: the same path as a signal), resume in a fresh
  // model object as a new process would.
  TrainingLoopOptions firstOptions = options(kTotal);
  firstOptions.maxStepsThisRun = kHalf;
  FakeModel first;
  Expected<TrainingResult> b = train(first, firstOptions);
  ASSERT_TRUE(b) << b.status().toString();
  EXPECT_EQ(b->outcome, TrainingOutcome::kInterrupted);
  EXPECT_EQ(b->exitCode(), 0);
  EXPECT_EQ(b->endStep, kHalf);
  EXPECT_EQ(b->lastCheckpoint, checkpointPath(firstOptions.runDir, kHalf));

  TrainingLoopOptions resumeOptions = options(kTotal);
  resumeOptions.resume = true;
  FakeModel resumed;
  Expected<TrainingResult> c = train(resumed, resumeOptions);
  ASSERT_TRUE(c) << c.status().toString();
  EXPECT_EQ(c->outcome, TrainingOutcome::kCompleted);
  EXPECT_EQ(c->startStep, kHalf);
  EXPECT_EQ(resumed.stepsSeen, range(kHalf, kTotal));

  // Bit for bit, in memory and in the final checkpoints' tensors.
  ASSERT_EQ(straight.parameters.size(), resumed.parameters.size());
  EXPECT_EQ(std::memcmp(straight.parameters.data(), resumed.parameters.data(),
                        straight.parameters.size() * sizeof(float)),
            0);
  FakeModel fromA, fromC;
  ASSERT_TRUE(fromA.loadState(a->lastCheckpoint).isOk());
  ASSERT_TRUE(fromC.loadState(c->lastCheckpoint).isOk());
  EXPECT_EQ(std::memcmp(fromA.parameters.data(), fromC.parameters.data(),
                        fromA.parameters.size() * sizeof(float)),
            0);
  EXPECT_EQ(metricLosses(straightOptions.runDir), metricLosses(resumeOptions.runDir));
  EXPECT_EQ(metricSteps(resumeOptions.runDir), range(0, kTotal));
  EXPECT_TRUE(fs::exists(lossPlotPath(resumeOptions.runDir)));
}

TEST_F(TrainLoop, StopFlagFinishesTheStepAndCheckpoints) {
  FakeModel model;
  model.stopFlag = &stop;
  model.stopAtStep = 4; // "SIGINT" arrives during step 4
  Expected<TrainingResult> result = train(model, options(20));
  ASSERT_TRUE(result) << result.status().toString();
  EXPECT_EQ(result->outcome, TrainingOutcome::kInterrupted);
  EXPECT_EQ(result->exitCode(), 0);
  EXPECT_EQ(result->endStep, 5);
  EXPECT_EQ(model.stepsSeen, range(0, 5));
  std::string path = checkpointPath(options(20).runDir, 5);
  EXPECT_EQ(result->lastCheckpoint, path);
  Expected<CheckpointInfo> info = readCheckpointInfo(path);
  ASSERT_TRUE(info) << info.status().toString();
  EXPECT_EQ(info->step, 5);
  EXPECT_EQ(info->seed, kSeed);
  EXPECT_NE(progress.str().find("stopped at step 5 of 20; checkpoint " + path +
                                "; continue with --resume"),
            std::string::npos)
      << progress.str();
}

TEST_F(TrainLoop, NanLossStopsWithoutCheckpointingTheBadState) {
  FakeModel model;
  model.nanAtStep = 7;
  TrainingLoopOptions o = options(20);
  o.checkpointEvery = 2;
  Expected<TrainingResult> result = train(model, o);
  ASSERT_TRUE(result) << result.status().toString();
  EXPECT_EQ(result->outcome, TrainingOutcome::kDiverged);
  EXPECT_EQ(result->exitCode(), 3);
  EXPECT_EQ(result->endStep, 7);
  std::string good = checkpointPath(o.runDir, 6);
  EXPECT_EQ(result->lastCheckpoint, good);
  EXPECT_EQ(result->message, "error: loss is nan at step 7 (epoch 0); the last good "
                             "checkpoint is " +
                                 good + "; lower the learning rate or check the data");
  EXPECT_FALSE(fs::exists(checkpointPath(o.runDir, 7)));
  EXPECT_FALSE(fs::exists(checkpointPath(o.runDir, 8)));
  Expected<CheckpointScan> scan = findLatestCheckpoint(o.runDir);
  ASSERT_TRUE(scan && scan->latest);
  EXPECT_EQ(scan->latest->path, good);
  FakeModel restored;
  ASSERT_TRUE(loadCheckpoint(restored, *scan->latest).isOk());
  EXPECT_FALSE(std::isnan(restored.parameters[0]));
  // The bad step is in the metrics for the record.
  EXPECT_EQ(metricLosses(o.runDir)[7], "nan");
}

TEST_F(TrainLoop, NanBeforeAnyCheckpointSaysSo) {
  FakeModel model;
  model.nanAtStep = 1;
  Expected<TrainingResult> result = train(model, options(20));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exitCode(), kExitDiverged);
  EXPECT_NE(result->message.find("the last good checkpoint is none"), std::string::npos)
      << result->message;
  EXPECT_FALSE(fs::exists(checkpointDirectory(options(20).runDir)));
}

TEST_F(TrainLoop, ResumeAfterACrashListsEveryStepOnce) {
  TrainingLoopOptions o = options(10);
  o.checkpointEvery = 4;
  FakeModel model;
  ASSERT_TRUE(train(model, o));
  // A crash between the checkpoints at 8 and 10: step-10 never made it,
  // while metrics.csv already lists steps 8 and 9.
  fs::remove(checkpointPath(o.runDir, 10));
  EXPECT_EQ(metricSteps(o.runDir), range(0, 10));

  TrainingLoopOptions again = options(12);
  again.resume = true;
  FakeModel resumed;
  Expected<TrainingResult> result = train(resumed, again);
  ASSERT_TRUE(result) << result.status().toString();
  EXPECT_EQ(result->startStep, 8);
  EXPECT_EQ(metricSteps(o.runDir), range(0, 12));
}

TEST_F(TrainLoop, ResumeSkipsACorruptNewestCheckpoint) {
  TrainingLoopOptions o = options(9);
  FakeModel model;
  ASSERT_TRUE(train(model, o));
  std::string newest = checkpointPath(o.runDir, 9);
  fs::resize_file(newest, 20);

  TrainingLoopOptions again = options(9);
  again.resume = true;
  FakeModel resumed;
  Expected<TrainingResult> result = train(resumed, again);
  ASSERT_TRUE(result) << result.status().toString();
  EXPECT_EQ(result->startStep, 6);
  EXPECT_EQ(result->lastCheckpoint, newest);
  EXPECT_NE(diagnostics.str().find("warning: skipping unreadable checkpoint: " + newest),
            std::string::npos)
      << diagnostics.str();
  EXPECT_TRUE(fs::exists(newest + ".unreadable"));
  EXPECT_EQ(std::memcmp(model.parameters.data(), resumed.parameters.data(),
                        model.parameters.size() * sizeof(float)),
            0);
}

// Issue 14: --resume with every checkpoint unreadable used to start over
// and exit 0, silently discarding the run.
TEST_F(TrainLoop, ResumeWithNoReadableCheckpointIsAnError) {
  TrainingLoopOptions o = options(6);
  FakeModel model;
  ASSERT_TRUE(train(model, o));
  std::vector<std::string> paths = {checkpointPath(o.runDir, 3), checkpointPath(o.runDir, 6)};
  for (const std::string &path : paths)
    fs::resize_file(path, 20);

  TrainingLoopOptions again = options(6);
  again.resume = true;
  FakeModel resumed;
  Expected<TrainingResult> result = train(resumed, again);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().message(),
            checkpointDirectory(o.runDir) + ": --resume, but no checkpoint is readable (" +
                paths[1] + ", " + paths[0] +
                "); move them aside to start over, or restore a copy");
  EXPECT_TRUE(resumed.stepsSeen.empty());
  for (const std::string &path : paths)
    EXPECT_TRUE(fs::exists(path)) << "left in place: " << path;
}

// Issue 14: two trainers on one run directory interleaved their metrics.
// flock conflicts between two open file descriptions even in one process,
// so the test holds the lock as another trainer would.
TEST_F(TrainLoop, SecondTrainerOnARunDirectoryIsRefused) {
  TrainingLoopOptions o = options(3);
  fs::create_directories(o.runDir);
  FakeModel model;
  {
    Expected<FileLock> other = FileLock::tryAcquire(runLockPath(o.runDir));
    ASSERT_TRUE(other) << other.status().message();
    Expected<TrainingResult> refused = train(model, o);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
    EXPECT_EQ(refused.status().message(),
              o.runDir + ": another simclr-train is using this run directory (" +
                  runLockPath(o.runDir) + ": locked by process " +
                  std::to_string(::getpid()) +
                  "); wait for it to end or choose another --out");
    EXPECT_TRUE(model.stepsSeen.empty());
    EXPECT_FALSE(fs::exists(metricsPath(o.runDir)));
  }
  // Released with its holder: the run proceeds.
  Expected<TrainingResult> result = train(model, o);
  ASSERT_TRUE(result) << result.status().toString();
}

TEST_F(TrainLoop, RefusesToOverwriteOrMixRuns) {
  FakeModel model;
  ASSERT_TRUE(train(model, options(3)));

  FakeModel fresh;
  Expected<TrainingResult> overwrite = train(fresh, options(6));
  ASSERT_FALSE(overwrite);
  EXPECT_NE(overwrite.status().message().find("already holds checkpoints"),
            std::string::npos)
      << overwrite.status().message();

  TrainingLoopOptions resume = options(6);
  resume.resume = true;
  FakeModel other("fake-artifact-2");
  Expected<TrainingResult> mismatch = train(other, resume);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.status().message(),
            checkpointPath(resume.runDir, 3) +
                ": written for network fake-artifact-1, this artifact's network is "
                "fake-artifact-2; resume in a new run directory or pass the "
                "matching artifact");

  resume.seed = kSeed + 1;
  FakeModel same;
  Expected<TrainingResult> seed = train(same, resume);
  ASSERT_FALSE(seed);
  EXPECT_NE(seed.status().message().find("written with seed 7, this run has seed 8"),
            std::string::npos)
      << seed.status().message();
}

TEST_F(TrainLoop, ResumeAtTheEndHasNothingToDo) {
  FakeModel model;
  ASSERT_TRUE(train(model, options(4)));
  TrainingLoopOptions again = options(4);
  again.resume = true;
  FakeModel resumed;
  Expected<TrainingResult> result = train(resumed, again);
  ASSERT_TRUE(result) << result.status().toString();
  EXPECT_EQ(result->outcome, TrainingOutcome::kCompleted);
  EXPECT_TRUE(resumed.stepsSeen.empty());
  EXPECT_EQ(metricSteps(again.runDir), range(0, 4));
}

TEST_F(TrainLoop, LogLinesWithoutATerminal) {
  FakeModel model;
  ASSERT_TRUE(train(model, options(12)));
  std::string text = progress.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("step 5/12  epoch 1/2  loss "), std::string::npos) << text;
  EXPECT_NE(text.find("step 10/12  epoch 1/2"), std::string::npos) << text;
  // Always a line at the end, and the data-wait summary.
  EXPECT_NE(text.find("step 12/12  epoch 2/2"), std::string::npos) << text;
  EXPECT_NE(text.find("ms waiting for data"), std::string::npos) << text;
  EXPECT_NE(text.find("done: step 12; checkpoint " + checkpointPath(options(12).runDir, 12)),
            std::string::npos)
      << text;
}

TEST_F(TrainLoop, TerminalProgressRedrawsOneLine) {
  TrainingLoopOptions o = options(6);
  o.progressIsTerminal = true;
  FakeModel model;
  ASSERT_TRUE(train(model, o));
  std::string text = progress.str();
  EXPECT_NE(text.find("\rstep "), std::string::npos) << text;
  EXPECT_NE(text.find("\rstep 6/6"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA "), std::string::npos) << text;
}

TEST_F(TrainLoop, BadOptionsAreErrors) {
  FakeModel model;
  TrainingLoopOptions o = options(0);
  Expected<TrainingResult> result = train(model, o);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().message(),
            "the total number of steps is 0, expected at least 1");
  o = options(5);
  o.batchSize = 1; // the pipeline's own check
  EXPECT_FALSE(train(model, o));
}

TEST_F(TrainLoop, SignalHandlerSetsTheFlag) {
  // Issue 14: HUP and PIPE used to end a run without its checkpoint.
  for (int signal : {SIGTERM, SIGHUP, SIGPIPE, SIGINT}) {
    ASSERT_TRUE(installStopSignalHandlers().isOk());
    stopRequested().store(false);
    ASSERT_EQ(std::raise(signal), 0) << strsignal(signal);
    EXPECT_TRUE(stopRequested().load()) << strsignal(signal);
  }
  stopRequested().store(false);
  // Restore the default dispositions for the other tests.
  for (int signal : kStopSignals)
    std::signal(signal, SIG_DFL);
}

} // namespace
} // namespace simclr
