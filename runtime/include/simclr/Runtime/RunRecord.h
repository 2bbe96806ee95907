//===- RunRecord.h - Which artifact trained a run directory ------*- C++ -*-===//
//
// simclr-train writes RUN_DIR/run.json when a run starts (and again when it
// resumes), so that tools given only a checkpoint
// (RUN_DIR/checkpoints/step-N.safetensors) find the artifact that wrote it:
//
//   {"artifact": "/abs/path/to/artifact", "artifact_identity": "...",
//    "data": "/abs/path/to/data", "seed": 0, "total_steps": 4680,
//    "batch_size": 256, "augmenter": "halide"}
//
// A data-parallel run (K > 1 ranks, issue 13) adds "world_size": K and
// "global_batch": K * batch_size when it starts, and at its end
// "communication": {"ranks", "steps", "step_seconds", "wait_seconds",
// "comm_seconds", "all_reduce_bytes_per_step", "all_gather_bytes_per_step"}
// (CommunicationShare, rank 0's); one process writes none of them.
//
// Checkpoints carry the identity too, so a user of the record compares it
// with the checkpoint's before trusting the path.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_RUNRECORD_H
#define SIMCLR_RUNTIME_RUNRECORD_H

#include "simclr/Support/Status.h"

#include <cstdint>
#include <optional>
#include <string>

namespace simclr {

/// Where a data-parallel run's step time went, on one rank: the
/// communicator's timers around each train step (TrainingLoop.h).
struct CommunicationShare {
  int64_t ranks = 1;
  /// Steps measured and their summed wall time (the train step alone).
  int64_t steps = 0;
  double stepSeconds = 0;
  /// Seconds the step was blocked in collectives (their cost to the step)
  /// and seconds the collectives were in flight (overlap included).
  double waitSeconds = 0;
  double commSeconds = 0;
  /// Payload bytes this rank contributed per step.
  double allReduceBytesPerStep = 0;
  double allGatherBytesPerStep = 0;
};

struct RunRecord {
  /// Absolute path of the artifact directory and its planIdentity.
  std::string artifactDir;
  std::string artifactIdentity;
  /// Absolute path of the training data.
  std::string dataPath;
  uint64_t seed = 0;
  int64_t totalSteps = 0;
  int64_t batchSize = 0;
  /// "halide" or "reference".
  std::string augmenter;
  /// Data-parallel ranks (batchSize is per rank); recorded when > 1.
  int64_t worldSize = 1;
  /// Set at the end of a data-parallel run.
  std::optional<CommunicationShare> communication;
};

/// RUN_DIR/run.json.
std::string runRecordPath(const std::string &runDir);

/// The run directory of a checkpoint file: the parent of its directory.
std::string runDirOfCheckpoint(const std::string &checkpointPath);

/// Writes RUN_DIR/run.json atomically.
Status writeRunRecord(const std::string &runDir, const RunRecord &record);

/// Reads RUN_DIR/run.json; kNotFound when absent, kDataLoss (naming the file
/// and key) when malformed.
Expected<RunRecord> readRunRecord(const std::string &runDir);

} // namespace simclr

#endif // SIMCLR_RUNTIME_RUNRECORD_H
