//===- Checkpoint.h - Training checkpoints in a run directory ----*- C++ -*-===//
//
// A run directory RUN_DIR keeps its checkpoints in RUN_DIR/checkpoints/, one
// safetensors file per checkpoint, `step-00001234.safetensors`: the model's
// whole state after 1234 steps (steps 0..1233 done; step 1234 runs next).
// The model writes the tensors (StepModel::saveState); the header's
// "__metadata__" also holds, as decimal strings:
//
//   simclr.checkpoint_format   kCheckpointFormatVersion
//   step                       steps done (= the file name's number)
//   epoch                      the epoch of the next step
//   artifact_identity          StepModel::identity() of the writer: the
//                              network's state layout, whatever target ran it
//   sha256:NAME                SHA-256 of tensor NAME's data (one per tensor,
//                              SafetensorsWriter::recordChecksums), verified
//                              whenever a checkpoint is read
//   rng_seed, rng_next_step    the input pipeline's random position: every
//                              batch is a pure function of (seed, step)
//                              (InputPipeline.h), so these two restore it
//   world_size, global_batch   the data-parallel ranks K that trained it and
//                              its global batch K * N (InputPipeline.h); with
//                              (seed, step) they fix the images of every
//                              step, so a resume must keep the global batch
//                              but may change K (another N per rank). Absent
//                              in checkpoints written before data
//                              parallelism: read as 0, "unknown".
//
// Crash safety: saveState writes atomically and durably (temp file, fsync,
// rename, fsync of the directory), so a SIGKILL or power loss leaves at
// worst a stale temporary file, never a partial checkpoint under its name.
// Older checkpoints are deleted only after the new one is durable; the
// newest kKeptCheckpoints stay. A file that fails to parse anyway (copied
// truncated, disk corruption) is skipped by findLatestCheckpoint with a
// warning, which falls back to the previous one.
//
// Errors: one line naming the file (and, for corrupt files, the byte offset,
// from SafetensorsReader).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_CHECKPOINT_H
#define SIMCLR_RUNTIME_CHECKPOINT_H

#include "simclr/Runtime/StepModel.h"
#include "simclr/Support/Status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace simclr {

/// The metadata key that marks a simclr-train checkpoint.
inline constexpr const char *kCheckpointFormatKey = "simclr.checkpoint_format";
/// Bumped when the metadata's meaning changes; readers refuse other versions.
/// 2: the identity is the state layout (not the kernel library) and every
/// tensor carries a data checksum.
inline constexpr int64_t kCheckpointFormatVersion = 2;
/// How many checkpoints a run directory keeps: the newest and, in case it is
/// unreadable after all, the one before.
inline constexpr int kKeptCheckpoints = 2;

/// The metadata of one checkpoint file.
struct CheckpointInfo {
  /// The file; set by writeCheckpoint and readCheckpointInfo.
  std::string path;
  /// Steps done; the next step's 0-based index.
  int64_t step = 0;
  /// The epoch of the next step.
  int64_t epoch = 0;
  std::string artifactIdentity;
  /// The RNG position: the pipeline's seed (its next step is `step`).
  uint64_t seed = 0;
  /// Data-parallel ranks and global batch (images per step over all ranks)
  /// of the run that wrote it; 0: not recorded (an older checkpoint).
  int64_t worldSize = 0;
  int64_t globalBatch = 0;
  int64_t formatVersion = kCheckpointFormatVersion;
};

/// RUN_DIR/checkpoints.
std::string checkpointDirectory(const std::string &runDir);
/// RUN_DIR/checkpoints/step-%08d.safetensors (more digits past 10^8 steps).
std::string checkpointPath(const std::string &runDir, int64_t step);
/// The step of a checkpoint file name ("step-00001234.safetensors" -> 1234),
/// or nothing for any other name (temporary files included).
std::optional<int64_t> checkpointStepFromFileName(const std::string &name);

/// The metadata entries saveState writes for `info` (all but `path`;
/// world_size and global_batch only when globalBatch > 0).
StateMetadata checkpointMetadata(const CheckpointInfo &info);

/// Opens and fully validates the checkpoint at `path` (SafetensorsReader:
/// truncation and corruption are kDataLoss naming the file and offset),
/// reads its metadata (missing or malformed keys are kDataLoss naming the
/// key, another format version kInvalidArgument) and verifies every
/// tensor's data checksum (kDataLoss naming the tensor).
Expected<CheckpointInfo> readCheckpointInfo(const std::string &path);

/// readCheckpointInfo for a file that may also be plain weights: nothing
/// when its metadata has no kCheckpointFormatKey (such as another
/// framework's state exported under the artifact's names,
/// bench/pytorch_simclr.py --mode train), the checkpoint's metadata
/// otherwise, with readCheckpointInfo's errors.
Expected<std::optional<CheckpointInfo>>
readCheckpointInfoIfPresent(const std::string &path);

/// Saves `model` as checkpoint `info.step` of `runDir` (creating the
/// directories), then deletes older checkpoints beyond the newest
/// kKeptCheckpoints and stale temporary files. Returns the info with `path`
/// set. Checkpoints with a larger step than `info.step` are left alone.
Expected<CheckpointInfo> writeCheckpoint(const std::string &runDir,
                                         const StepModel &model,
                                         CheckpointInfo info);

/// What findLatestCheckpoint saw.
struct CheckpointScan {
  /// The newest checkpoint that reads back, if any.
  std::optional<CheckpointInfo> latest;
  /// Newer checkpoints that failed to read: their paths and one warning
  /// line each ("warning: skipping FILE: REASON").
  std::vector<std::string> unreadable;
  std::vector<std::string> warnings;
};

/// Scans RUN_DIR/checkpoints newest first. A missing directory is an empty
/// scan; failing to list it is kIoError.
Expected<CheckpointScan> findLatestCheckpoint(const std::string &runDir);

/// Refuses a checkpoint written for another network:
/// "CHECKPOINT: written for network ID1, this artifact's network is ID2;
/// resume in a new run directory or pass the matching artifact".
Status checkCheckpointIdentity(const CheckpointInfo &info,
                               const std::string &identity);

/// Refuses a checkpoint whose global batch differs from this run's
/// `worldSize` x `perRankBatch` (its images per step would differ):
/// "CHECKPOINT: written with a global batch of 64 (2 ranks x 32), this run's
/// is 96 (3 ranks x 32); resume with ranks x batch = 64 ...". A checkpoint
/// that recorded none passes.
Status checkCheckpointGlobalBatch(const CheckpointInfo &info, int64_t worldSize,
                                  int64_t perRankBatch);

/// checkCheckpointIdentity (naming, when it fails, the first state tensor
/// that differs: model.checkStateFile), then model.loadState(info.path).
Status loadCheckpoint(StepModel &model, const CheckpointInfo &info);

} // namespace simclr

#endif // SIMCLR_RUNTIME_CHECKPOINT_H
