//===- TrainingLoop.h - The training loop of simclr-train --------*- C++ -*-===//
//
// runTraining() trains a StepModel on a dataset through the InputPipeline,
// from step 0 or from the run directory's latest checkpoint, up to the
// run's total number of steps:
//
//  1. Resume: with `resume`, the newest readable checkpoint
//     (findLatestCheckpoint) is checked (same artifact identity, same seed)
//     and loaded, and the pipeline starts at its step; newer unreadable
//     files are renamed to NAME.unreadable. Without `resume`, a run
//     directory that already has checkpoints is refused.
//  2. metrics.csv keeps only the rows of steps before the start step
//     (TrainingLog.h), so a redone step is never listed twice.
//  3. Each step: wait for the batch (timed: data_wait_ms), trainStep
//     (step_ms), a metrics row, the progress display. A non-finite loss
//     stops the run at once, without checkpointing the bad state: outcome
//     kDiverged, exit code kExitDiverged.
//     Every `knnEvery` steps (after a finite loss), `knnMonitor` measures
//     the representation (simclr-train: kNN top-1 of a held-out subset);
//     the row gets it as knn_top1 and the progress a line.
//  4. Every `checkpointEvery` steps, at the end, and when a stop is
//     requested (SIGINT/TERM/HUP/PIPE, or `maxStepsThisRun`): a checkpoint and
//     loss.svg.
//
// Determinism: batches are a pure function of (dataset, seed, step), so for
// a deterministic model, training to step 2K in one go and training to K,
// stopping and resuming to 2K give bit-identical state.
//
// Progress: on a terminal, one line redrawn with '\r' (step/total, epoch,
// smoothed loss, images/s, ETA); otherwise a log line every `logEvery`
// steps and at the end.
//
// Data parallelism (issue 13): with a `communicator` of K > 1 ranks, every
// rank runs this loop on its share of each step's global batch of K * N
// images (N = batchSize; InputPipeline.h: one global permutation, views
// keyed by global position), and the compiled step's collectives make the
// loss and the state identical on every rank. Hence:
//  - Rank 0 alone owns the run directory: the lock, the resume scan,
//    checkpoints (recording K and K * N), metrics.csv, loss.svg, onStart
//    (run.json), the kNN monitor and the progress display; the other ranks
//    write nothing there and print nothing.
//  - Resume: rank 0 decides (step 1 above, plus checkCheckpointGlobalBatch:
//    the checkpoint's K' x N' must equal K x N, any K' works) and broadcasts
//    the start step and the checkpoint file's bytes; the other ranks load
//    those bytes from a private temporary file. Broadcasting the bytes rather
//    than having every rank open RUN_DIR/checkpoints needs no file system
//    shared between hosts (only rank 0's host has the run directory) and
//    guarantees that every rank loads the very bytes rank 0 checked, even if
//    a checkpoint is written or deleted meanwhile. A fresh run needs no
//    broadcast: initializeState(seed) is deterministic.
//  - Stopping: a stop flag seen by any rank stops all of them at the same
//    step (a one-value all_reduce_sum between steps), so they checkpoint
//    together instead of leaving the others blocked in a collective. A
//    failure is returned as a Status; the caller ends the whole job with
//    Communicator::abort (simclr-train does), and the communicator's
//    timeouts bound the wait of ranks blocked on a dead one.
//  - Steps per epoch, epochs and images/s count global batches.
//  - TrainingResult::communication sums, over the steps, the communicator's
//    timers measured around each train step (not the loop's own
//    broadcast and stop agreement).
//
// Ownership: runTraining borrows the model and the dataset; it owns the
// pipeline and the augmenters the factory makes.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_TRAININGLOOP_H
#define SIMCLR_RUNTIME_TRAININGLOOP_H

#include "simclr/Runtime/Communicator.h"
#include "simclr/Runtime/InputPipeline.h"
#include "simclr/Runtime/RunRecord.h"
#include "simclr/Runtime/StepModel.h"
#include "simclr/Support/Status.h"

#include <atomic>
#include <csignal>
#include <cstdint>
#include <functional>
#include <iostream>
#include <optional>
#include <string>

namespace simclr {

/// simclr-train's exit code when the loss became NaN or infinite.
inline constexpr int kExitDiverged = 3;

struct TrainingLoopOptions {
  std::string runDir;
  /// The run's total: training continues (also after a resume) until this
  /// many steps are done.
  int64_t totalSteps = 0;
  /// Images per view per step of one rank (the compiled step's N); the
  /// global batch is communicator->size() times this.
  int64_t batchSize = 0;
  /// The replicas of a data-parallel job (borrowed; file comment); nullptr
  /// or size 1: one process, exactly as without data parallelism.
  runtime::Communicator *communicator = nullptr;
  /// The pipeline's seed; a resumed checkpoint must have the same.
  uint64_t seed = 0;
  /// A checkpoint every this many steps; 0: only at the end and on a stop.
  int64_t checkpointEvery = 0;
  bool resume = false;
  /// Input pipeline threads and batches prepared ahead (InputPipeline.h).
  int64_t dataThreads = 1;
  int64_t prefetchDepth = 2;
  /// Stop as on a signal after this many steps of this call; 0: no limit.
  int64_t maxStepsThisRun = 0;
  /// Without a terminal: a progress line every this many steps.
  int64_t logEvery = 50;
  /// Whether `progress` is a terminal (redraw one line with '\r').
  bool progressIsTerminal = false;
  /// Progress and the final summary; warnings and errors go to `diagnostics`.
  std::ostream *progress = &std::cout;
  std::ostream *diagnostics = &std::cerr;
  /// Checked between steps; a set flag stops the run after a checkpoint.
  /// nullptr: stopRequested(), which the signal handlers set.
  const std::atomic<bool> *stopFlag = nullptr;
  /// Called once the start step is known (after a resume was accepted and
  /// loaded), before any step runs; a failure aborts the run. simclr-train
  /// records run.json here, so a refused resume leaves it untouched. Rank 0
  /// only.
  std::function<Status(int64_t startStep)> onStart;
  /// Called after every `knnEvery`-th step (0: never) with the steps done;
  /// returns the top-1 accuracy (a fraction) logged as knn_top1. Its time
  /// counts in no step's images_per_s. A failure aborts the run. Rank 0
  /// only.
  int64_t knnEvery = 0;
  std::function<Expected<double>(int64_t stepsDone)> knnMonitor;
};

enum class TrainingOutcome {
  /// totalSteps reached.
  kCompleted,
  /// Stopped early by the stop flag or maxStepsThisRun, after a checkpoint.
  kInterrupted,
  /// A non-finite loss; the bad state was not saved.
  kDiverged,
};

/// One line: "communication (2 ranks, mpi): 12.3 ms of 80.1 ms per step
/// blocked in collectives (15.4%; 20.0 ms in flight); per step and rank:
/// 44.7 MB all-reduced, 32.0 KB all-gathered".
std::string formatCommunicationShare(const CommunicationShare &share,
                                     const std::string &engine);

struct TrainingResult {
  TrainingOutcome outcome = TrainingOutcome::kCompleted;
  /// Where this call started (the resumed step) and steps done at its end
  /// (for kDiverged: the steps before the bad one).
  int64_t startStep = 0;
  int64_t endStep = 0;
  /// The newest checkpoint on disk; empty when there is none.
  std::string lastCheckpoint;
  /// For kDiverged: "error: loss is nan at step S (epoch E); the last good
  /// checkpoint is PATH; lower the learning rate or check the data".
  std::string message;
  /// With more than one rank: the communicator's share of the steps.
  std::optional<CommunicationShare> communication;

  /// 0, 0 or kExitDiverged.
  int exitCode() const {
    return outcome == TrainingOutcome::kDiverged ? kExitDiverged : 0;
  }
};

/// Trains `model` on `data` (borrowed, must outlive the call) with one
/// augmenter per pipeline thread from `augmenters`. Errors (bad options, a
/// refused checkpoint, I/O, a failing step or pipeline) are a Status; a
/// diverged or interrupted run is a result.
Expected<TrainingResult> runTraining(StepModel &model, const ImageDataset &data,
                                     const AugmenterFactory &augmenters,
                                     const TrainingLoopOptions &options);

/// RUN_DIR/lock: runTraining holds an exclusive flock on it (FileLock), so
/// a second trainer on the same run directory is refused with
/// kUnavailable "RUN_DIR: another simclr-train is using this run directory
/// (RUN_DIR/lock: locked by process PID); ...".
std::string runLockPath(const std::string &runDir);

/// The flag the stop signals set once installStopSignalHandlers() ran.
std::atomic<bool> &stopRequested();

/// The signals that stop a run after a checkpoint instead of ending it at
/// once: INT (Ctrl-C), TERM (kill, schedulers), HUP (the terminal or SSH
/// session closed), PIPE (the reader of stdout went away, `| head`).
inline constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

/// Makes kStopSignals set stopRequested(): the loop finishes its step,
/// checkpoints and returns. INT, TERM and HUP are one-shot (SA_RESETHAND),
/// so a second Ctrl-C kills the process at once; checkpoints are atomic, so
/// that is safe too. PIPE stays handled: every later write to the closed
/// pipe raises it again, and the default action would end the process
/// before the checkpoint; the write fails with EPIPE instead.
Status installStopSignalHandlers();

} // namespace simclr

#endif // SIMCLR_RUNTIME_TRAININGLOOP_H
