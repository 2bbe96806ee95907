//===- TrainingLoop.cpp - The training loop of simclr-train ---------------===//
#include "simclr/Runtime/TrainingLoop.h"
#include "simclr/Runtime/Checkpoint.h"
#include "simclr/Runtime/TrainingLog.h"
#include "simclr/Support/FileIO.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include <unistd.h>

namespace simclr {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double millisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

/// Minimum time between two redraws of the terminal progress line: faster
/// than the eye needs, slow enough to cost nothing.
constexpr double kRedrawMillis = 100;
constexpr double kMillisPerSecond = 1000;

/// "1h02m", "12m34s", "45s".
std::string formatDuration(double seconds) {
  constexpr int64_t kMinute = 60, kHour = 3600;
  int64_t s = static_cast<int64_t>(std::llround(std::max(seconds, 0.0)));
  char buffer[32];
  if (s >= kHour)
    std::snprintf(buffer, sizeof(buffer), "%lldh%02lldm", static_cast<long long>(s / kHour),
                  static_cast<long long>(s % kHour / kMinute));
  else if (s >= kMinute)
    std::snprintf(buffer, sizeof(buffer), "%lldm%02llds", static_cast<long long>(s / kMinute),
                  static_cast<long long>(s % kMinute));
  else
    std::snprintf(buffer, sizeof(buffer), "%llds", static_cast<long long>(s));
  return buffer;
}

/// The progress display: a redrawn line on a terminal, log lines otherwise.
class Progress {
public:
  Progress(const TrainingLoopOptions &options, int64_t stepsPerEpoch, int64_t startStep)
      : options(options), stepsPerEpoch(stepsPerEpoch), startStep(startStep),
        start(Clock::now()) {}

  /// Records the step just done (row.step) and shows it when due.
  void update(const MetricsRow &row) {
    smoothedLoss = kLossSmoothingWeight * smoothedLoss +
                   (1 - kLossSmoothingWeight) * row.loss;
    smoothingWeight = kLossSmoothingWeight * smoothingWeight + (1 - kLossSmoothingWeight);
    totalWaitMillis += row.dataWaitMillis;
    totalStepMillis += row.stepMillis;
    last = row;
    int64_t done = row.step + 1;
    if (options.progressIsTerminal) {
      if (lastDraw && millisSince(*lastDraw) < kRedrawMillis && done != options.totalSteps)
        return;
      lastDraw = Clock::now();
      *options.progress << '\r' << line(done) << "   " << std::flush;
      lineOpen = true;
    } else if (options.logEvery > 0 && done % options.logEvery == 0) {
      *options.progress << line(done) << '\n' << std::flush;
    }
  }

  /// Ends a redrawn line so that the next output starts on its own line.
  void finishLine() {
    if (lineOpen)
      *options.progress << '\n';
    lineOpen = false;
  }

  /// The final line: where the run stands and where the time went.
  void summary(int64_t done) {
    finishLine();
    int64_t steps = done - startStep;
    if (steps > 0 && !options.progressIsTerminal &&
        !(options.logEvery > 0 && done % options.logEvery == 0))
      *options.progress << line(done) << '\n';
    if (steps <= 0)
      return;
    double perStep = totalWaitMillis / steps + totalStepMillis / steps;
    char buffer[256];
    std::snprintf(buffer, sizeof(buffer),
                  "%lld steps in %s; per step: %.1f ms training, %.2f ms waiting for "
                  "data (%.1f%%)",
                  static_cast<long long>(steps),
                  formatDuration(millisSince(start) / kMillisPerSecond).c_str(),
                  totalStepMillis / steps, totalWaitMillis / steps,
                  perStep > 0 ? 100.0 * (totalWaitMillis / steps) / perStep : 0.0);
    *options.progress << buffer << '\n' << std::flush;
  }

private:
  std::string line(int64_t done) const {
    double elapsed = millisSince(start) / kMillisPerSecond;
    double rate = elapsed > 0 ? (done - startStep) / elapsed : 0;
    double eta = rate > 0 ? (options.totalSteps - done) / rate : 0;
    int64_t epochs = (options.totalSteps + stepsPerEpoch - 1) / stepsPerEpoch;
    char buffer[256];
    std::snprintf(buffer, sizeof(buffer),
                  "step %lld/%lld  epoch %lld/%lld  loss %.4f  lr %.3g  %.0f img/s  "
                  "data wait %.1f ms  ETA %s",
                  static_cast<long long>(done), static_cast<long long>(options.totalSteps),
                  static_cast<long long>(last.epoch + 1), static_cast<long long>(epochs),
                  smoothedLoss / smoothingWeight, last.lr, last.imagesPerSecond,
                  last.dataWaitMillis, formatDuration(eta).c_str());
    return buffer;
  }

  const TrainingLoopOptions &options;
  int64_t stepsPerEpoch;
  int64_t startStep;
  Clock::time_point start;
  std::optional<Clock::time_point> lastDraw;
  bool lineOpen = false;
  MetricsRow last;
  double smoothedLoss = 0, smoothingWeight = 0;
  double totalWaitMillis = 0, totalStepMillis = 0;
};

Status checkOptions(const TrainingLoopOptions &options) {
  if (options.runDir.empty())
    return invalidArgument("the run directory is empty");
  if (options.totalSteps < 1)
    return invalidArgument("the total number of steps is " +
                           std::to_string(options.totalSteps) + ", expected at least 1");
  if (options.checkpointEvery < 0)
    return invalidArgument("--checkpoint-every is " +
                           std::to_string(options.checkpointEvery) + ", expected >= 0");
  if (options.knnEvery < 0)
    return invalidArgument("--knn-every is " + std::to_string(options.knnEvery) +
                           ", expected >= 0");
  if (options.maxStepsThisRun < 0)
    return invalidArgument("the step limit is negative");
  if (!options.progress || !options.diagnostics)
    return invalidArgument("the progress and diagnostics streams must be set");
  return Status::ok();
}

/// What step 1 of the file comment decided.
struct ResumePoint {
  int64_t step = 0;
  std::string checkpoint;
};

Expected<ResumePoint> prepareResume(StepModel &model, const TrainingLoopOptions &options,
                                    int64_t ranks) {
  Expected<CheckpointScan> scan = findLatestCheckpoint(options.runDir);
  if (!scan)
    return scan.takeStatus();
  ResumePoint point;
  if (!options.resume) {
    if (scan->latest || !scan->unreadable.empty())
      return invalidArgument(
          options.runDir + ": the run directory already holds checkpoints (" +
          (scan->latest ? scan->latest->path : scan->unreadable.front()) +
          "); pass --resume to continue that run, or choose a new run directory");
    return point;
  }
  for (const std::string &warning : scan->warnings)
    *options.diagnostics << warning << '\n';
  if (!scan->latest && !scan->unreadable.empty()) {
    // Starting over would silently discard the run: the user decides.
    std::string names;
    for (const std::string &path : scan->unreadable)
      names += (names.empty() ? "" : ", ") + path;
    return dataLoss(checkpointDirectory(options.runDir) +
                    ": --resume, but no checkpoint is readable (" + names +
                    "); move them aside to start over, or restore a copy");
  }
  if (!scan->latest) {
    *options.diagnostics << "warning: " << checkpointDirectory(options.runDir)
                         << ": no checkpoint to resume from; starting at step 0\n";
  } else {
    const CheckpointInfo &info = *scan->latest;
    if (info.seed != options.seed)
      return invalidArgument(info.path + ": written with seed " +
                             std::to_string(info.seed) + ", this run has seed " +
                             std::to_string(options.seed) +
                             "; resume with the same seed to continue its batches");
    // Another network is the first thing to name (loadCheckpoint names the
    // tensor that differs); its batch would only distract.
    if (checkCheckpointIdentity(info, model.identity()).isOk())
      SIMCLR_RETURN_IF_ERROR(checkCheckpointGlobalBatch(info, ranks, options.batchSize));
    SIMCLR_RETURN_IF_ERROR(loadCheckpoint(model, info));
    point.step = info.step;
    point.checkpoint = info.path;
  }
  // Out of the way, so that no later scan considers them and they never
  // shadow the checkpoints this run writes; kept for inspection.
  for (const std::string &path : scan->unreadable) {
    std::error_code ec;
    fs::rename(path, path + ".unreadable", ec);
    if (ec)
      return ioError(path + ": cannot rename the unreadable checkpoint aside: " +
                     ec.message());
  }
  return point;
}

/// Rank 0's resume decision to every rank: the start step, then the
/// checkpoint's bytes, which the other ranks load from a private temporary
/// file (why bytes and not the path: TrainingLoop.h).
Status shareResumePoint(runtime::Communicator &comm, StepModel &model, ResumePoint &point) {
  std::vector<uint8_t> bytes;
  if (comm.rank() == 0 && !point.checkpoint.empty()) {
    Expected<std::vector<uint8_t>> file = readFile(point.checkpoint);
    if (!file)
      return file.takeStatus();
    bytes = std::move(*file);
  }
  int64_t header[2] = {point.step, static_cast<int64_t>(bytes.size())};
  SIMCLR_RETURN_IF_ERROR(comm.broadcast(header, sizeof(header)));
  point.step = header[0];
  if (header[1] == 0)
    return Status::ok();
  bytes.resize(static_cast<size_t>(header[1]));
  SIMCLR_RETURN_IF_ERROR(comm.broadcast(bytes.data(), header[1]));
  if (comm.rank() == 0)
    return Status::ok();
  std::string path = (fs::temp_directory_path() /
                      ("simclr-resume-rank" + std::to_string(comm.rank()) + "-" +
                       std::to_string(::getpid()) + ".safetensors"))
                         .string();
  SIMCLR_RETURN_IF_ERROR(writeFileAtomically(path, bytes.data(), bytes.size()));
  Status loaded = model.loadState(path);
  std::error_code ec;
  fs::remove(path, ec);
  return loaded.isOk() ? loaded
                       : loaded.withContext("rank " + std::to_string(comm.rank()) +
                                            ": the checkpoint rank 0 sent");
}

/// Whether any rank wants to stop before the next step: one all_reduce_sum
/// of a vote, so that all ranks stop at the same step.
Expected<bool> agreeOnStop(runtime::Communicator &comm, bool stopHere) {
  double votes = stopHere ? 1 : 0;
  runtime::ReduceBuffer buffer{&votes, 1, DType::kF64};
  Expected<runtime::CommTicket> ticket = comm.startAllReduceSum(&buffer, 1);
  if (!ticket)
    return ticket.takeStatus();
  SIMCLR_RETURN_IF_ERROR(comm.wait(*ticket));
  return votes > 0;
}

/// Adds one step's collectives (`after` - `before`) to `share`.
void addStepCommunication(CommunicationShare &share, const runtime::CommunicatorStats &before,
                          const runtime::CommunicatorStats &after, double stepSeconds) {
  share.steps += 1;
  share.stepSeconds += stepSeconds;
  for (size_t op = 0; op < runtime::kNumCommOps; ++op) {
    share.waitSeconds += after.ops[op].waitSeconds - before.ops[op].waitSeconds;
    share.commSeconds += after.ops[op].commSeconds - before.ops[op].commSeconds;
  }
  auto bytes = [&](runtime::CommOp op) {
    return static_cast<double>(after[op].bytes - before[op].bytes);
  };
  // Running sums until the end, divided there (runTraining).
  share.allReduceBytesPerStep += bytes(runtime::CommOp::kAllReduceSum);
  share.allGatherBytesPerStep += bytes(runtime::CommOp::kAllGather);
}

std::string lossName(float loss) {
  return std::isnan(loss) ? "nan" : loss > 0 ? "inf" : "-inf";
}

/// "1.5 MB": bytes in decimal units.
std::string formatBytes(double bytes) {
  constexpr double kUnit = 1000;
  const char *units[] = {"B", "KB", "MB", "GB", "TB"};
  size_t unit = 0;
  while (bytes >= kUnit && unit + 1 < std::size(units)) {
    bytes /= kUnit;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return buffer;
}

} // namespace

std::string formatCommunicationShare(const CommunicationShare &share,
                                     const std::string &engine) {
  double steps = share.steps > 0 ? static_cast<double>(share.steps) : 1;
  double stepMillis = kMillisPerSecond * share.stepSeconds / steps;
  double waitMillis = kMillisPerSecond * share.waitSeconds / steps;
  char buffer[320];
  std::snprintf(buffer, sizeof(buffer),
                "communication (%lld ranks, %s): %.1f ms of %.1f ms per step blocked in "
                "collectives (%.1f%%; %.1f ms in flight); per step and rank: %s "
                "all-reduced, %s all-gathered",
                static_cast<long long>(share.ranks), engine.c_str(), waitMillis, stepMillis,
                stepMillis > 0 ? 100.0 * waitMillis / stepMillis : 0.0,
                kMillisPerSecond * share.commSeconds / steps,
                formatBytes(share.allReduceBytesPerStep).c_str(),
                formatBytes(share.allGatherBytesPerStep).c_str());
  return buffer;
}

std::string runLockPath(const std::string &runDir) {
  return (fs::path(runDir) / "lock").string();
}

std::atomic<bool> &stopRequested() {
  static_assert(std::atomic<bool>::is_always_lock_free,
                "the signal handler may only touch a lock-free atomic");
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {
void handleStopSignal(int) { stopRequested().store(true); }
} // namespace

Status installStopSignalHandlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = handleStopSignal;
  sigemptyset(&action.sa_mask);
  for (int signal : kStopSignals) {
    action.sa_flags = signal == SIGPIPE ? 0 : SA_RESETHAND;
    if (::sigaction(signal, &action, nullptr) != 0)
      return ioError(std::string("cannot install the handler of ") + strsignal(signal) +
                     ": " + std::strerror(errno));
  }
  return Status::ok();
}

Expected<TrainingResult> runTraining(StepModel &model, const ImageDataset &data,
                                     const AugmenterFactory &augmenters,
                                     const TrainingLoopOptions &options) {
  SIMCLR_RETURN_IF_ERROR(checkOptions(options));
  const std::atomic<bool> &stop = options.stopFlag ? *options.stopFlag : stopRequested();
  // Data parallelism (TrainingLoop.h): rank 0 writes, every rank trains.
  runtime::Communicator *comm = options.communicator;
  const int64_t ranks = comm ? comm->size() : 1;
  const bool writer = !comm || comm->rank() == 0;
  std::ostream silent(nullptr);
  TrainingLoopOptions shown = options;
  if (!writer)
    shown.progress = &silent;

  // One trainer per run directory: two would interleave metrics rows and
  // race on checkpoints. Held until this function returns. The job's other
  // ranks never touch the directory, so only rank 0 takes it.
  std::optional<FileLock> lock;
  if (writer) {
    std::error_code ec;
    fs::create_directories(options.runDir, ec);
    if (ec)
      return ioError(options.runDir + ": cannot create the run directory: " + ec.message());
    Expected<FileLock> acquired = FileLock::tryAcquire(runLockPath(options.runDir));
    if (!acquired)
      return acquired.status().code() == StatusCode::kUnavailable
                 ? unavailable(options.runDir + ": another simclr-train is using this run "
                               "directory (" + acquired.status().message() +
                               "); wait for it to end or choose another --out")
                 : acquired.takeStatus();
    lock.emplace(std::move(*acquired));
  }

  ResumePoint resumed;
  if (writer) {
    Expected<ResumePoint> point = prepareResume(model, options, ranks);
    if (!point)
      return point.takeStatus();
    resumed = std::move(*point);
  }
  if (ranks > 1)
    SIMCLR_RETURN_IF_ERROR(shareResumePoint(*comm, model, resumed));
  TrainingResult result;
  result.startStep = result.endStep = resumed.step;
  result.lastCheckpoint = resumed.checkpoint;
  int64_t lastCheckpointStep = resumed.checkpoint.empty() ? -1 : resumed.step;

  if (writer && options.onStart)
    SIMCLR_RETURN_IF_ERROR(options.onStart(resumed.step));

  std::string metricsFile = metricsPath(options.runDir);
  std::vector<MetricsRow> history;
  std::optional<MetricsWriter> metrics;
  if (writer) {
    Expected<std::vector<MetricsRow>> kept = truncateMetrics(metricsFile, resumed.step);
    if (!kept)
      return kept.takeStatus();
    history = std::move(*kept);
    Expected<MetricsWriter> opened = MetricsWriter::openForAppend(metricsFile);
    if (!opened)
      return opened.takeStatus();
    metrics.emplace(std::move(*opened));
  }

  std::string plotFile = lossPlotPath(options.runDir);
  if (resumed.step >= options.totalSteps) {
    *shown.progress << "already at step " << resumed.step << " of "
                    << options.totalSteps << "; nothing to train\n";
    if (writer)
      SIMCLR_RETURN_IF_ERROR(writeLossSvg(plotFile, history));
    return result;
  }

  InputPipeline::Options pipelineOptions;
  pipelineOptions.batchSize = options.batchSize;
  pipelineOptions.rank = comm ? comm->rank() : 0;
  pipelineOptions.worldSize = ranks;
  pipelineOptions.seed = options.seed;
  pipelineOptions.firstStep = resumed.step;
  pipelineOptions.lastStep = options.totalSteps;
  pipelineOptions.prefetchDepth = options.prefetchDepth;
  pipelineOptions.workerThreads = options.dataThreads;
  Expected<std::unique_ptr<InputPipeline>> pipeline =
      InputPipeline::create(data, augmenters, pipelineOptions);
  if (!pipeline)
    return pipeline.takeStatus();
  const int64_t stepsPerEpoch = (*pipeline)->stepsPerEpoch();

  Progress progress(shown, stepsPerEpoch, resumed.step);
  auto checkpoint = [&](int64_t done) -> Status {
    lastCheckpointStep = done;
    if (!writer)
      return Status::ok();
    CheckpointInfo info;
    info.step = done;
    info.epoch = done / stepsPerEpoch;
    info.artifactIdentity = model.identity();
    info.seed = options.seed;
    info.worldSize = ranks;
    info.globalBatch = ranks * options.batchSize;
    Expected<CheckpointInfo> written = writeCheckpoint(options.runDir, model, info);
    if (!written)
      return written.takeStatus();
    result.lastCheckpoint = written->path;
    return writeLossSvg(plotFile, history);
  };

  CommunicationShare share;
  share.ranks = ranks;
  int64_t done = resumed.step;
  Clock::time_point iterationStart = Clock::now();
  while (done < options.totalSteps) {
    bool stopHere = stop.load() || (options.maxStepsThisRun > 0 &&
                                    done - resumed.step >= options.maxStepsThisRun);
    if (ranks > 1) {
      Expected<bool> agreed = agreeOnStop(*comm, stopHere);
      if (!agreed)
        return agreed.takeStatus().withContext("before step " + std::to_string(done));
      stopHere = *agreed;
    }
    if (stopHere) {
      result.outcome = TrainingOutcome::kInterrupted;
      break;
    }
    Expected<Batch> batch = (*pipeline)->next();
    if (!batch)
      return batch.takeStatus();
    MetricsRow row;
    row.step = batch->step;
    row.epoch = batch->epoch;
    row.dataWaitMillis = (*pipeline)->lastWaitMillis();

    runtime::CommunicatorStats statsBefore;
    if (ranks > 1)
      statsBefore = comm->stats();
    Clock::time_point stepStart = Clock::now();
    Status stepStatus = model.trainStep(batch->views, batch->step);
    if (!stepStatus.isOk())
      return stepStatus.withContext("step " + std::to_string(batch->step));
    row.stepMillis = millisSince(stepStart);
    if (ranks > 1)
      addStepCommunication(share, statsBefore, comm->stats(),
                           row.stepMillis / kMillisPerSecond);
    row.loss = model.lastLoss();
    row.lr = model.lastLearningRate();
    (*pipeline)->recycle(std::move(*batch));

    double iterationMillis = millisSince(iterationStart);
    iterationStart = Clock::now();
    row.imagesPerSecond = iterationMillis > 0 ? ranks * options.batchSize *
                                                    kMillisPerSecond / iterationMillis
                                              : 0;
    // The monitor is rank 0's: the others go on to the next step and wait
    // for it in that step's first collective.
    if (writer && options.knnMonitor && options.knnEvery > 0 && std::isfinite(row.loss) &&
        (row.step + 1) % options.knnEvery == 0) {
      Clock::time_point monitorStart = Clock::now();
      Expected<double> top1 = options.knnMonitor(row.step + 1);
      if (!top1)
        return top1.status().withContext("kNN monitor after step " +
                                         std::to_string(row.step + 1));
      row.knnTop1 = *top1;
      progress.finishLine();
      char buffer[128];
      std::snprintf(buffer, sizeof(buffer), "step %lld: kNN top-1 %.2f%% (%.1f s)",
                    static_cast<long long>(row.step + 1), 100 * row.knnTop1,
                    millisSince(monitorStart) / kMillisPerSecond);
      *shown.progress << buffer << '\n' << std::flush;
      iterationStart = Clock::now();
    }
    if (writer) {
      SIMCLR_RETURN_IF_ERROR(metrics->append(row));
      history.push_back(row);
    }

    // The loss is the global one, the same on every rank, so all ranks
    // stop here together.
    if (!std::isfinite(row.loss)) {
      progress.finishLine();
      result.outcome = TrainingOutcome::kDiverged;
      result.endStep = done;
      result.message = "error: loss is " + lossName(static_cast<float>(row.loss)) +
                       " at step " + std::to_string(row.step) + " (epoch " +
                       std::to_string(row.epoch) + "); the last good checkpoint is " +
                       (result.lastCheckpoint.empty() ? std::string("none (none was written yet)")
                                                      : result.lastCheckpoint) +
                       "; lower the learning rate or check the data";
      if (writer)
        SIMCLR_RETURN_IF_ERROR(writeLossSvg(plotFile, history));
      return result;
    }
    ++done;
    progress.update(row);
    if (options.checkpointEvery > 0 && done % options.checkpointEvery == 0 &&
        done < options.totalSteps)
      SIMCLR_RETURN_IF_ERROR(checkpoint(done));
  }

  result.endStep = done;
  if (lastCheckpointStep != done)
    SIMCLR_RETURN_IF_ERROR(checkpoint(done));
  else if (writer)
    SIMCLR_RETURN_IF_ERROR(writeLossSvg(plotFile, history));
  if (ranks > 1 && share.steps > 0) {
    share.allReduceBytesPerStep /= static_cast<double>(share.steps);
    share.allGatherBytesPerStep /= static_cast<double>(share.steps);
    result.communication = share;
  }
  progress.summary(done);
  if (result.outcome == TrainingOutcome::kInterrupted)
    *shown.progress << "stopped at step " << done << " of " << options.totalSteps
                    << "; checkpoint " << result.lastCheckpoint
                    << "; continue with --resume\n";
  else
    *shown.progress << "done: step " << done << "; checkpoint "
                    << result.lastCheckpoint << '\n';
  shown.progress->flush();
  return result;
}

} // namespace simclr
