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
// Checkpoints carry the identity too, so a user of the record compares it
// with the checkpoint's before trusting the path.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_RUNRECORD_H
#define SIMCLR_RUNTIME_RUNRECORD_H

#include "simclr/Support/Status.h"

#include <cstdint>
#include <string>

namespace simclr {

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
