//===- Executor.h - Runs a compiled artifact's programs ---------*- C++ -*-===//
//
// The runtime's entry point to a compiled artifact (lib's ArtifactPlan.h):
// Artifact::load checks and maps the directory; Executor owns the state
// block (parameters, optimizer state, running statistics), the input block
// and the arena (exactly the plan's sizes, allocated once), and replays a
// program's schedule: generated kernels from the artifact's kernel library,
// extern calls through the target's table (CPU: oneDNN), collectives
// (identity on one device). What depends on the target is behind the
// Backend of the plan's target (Backend.h).
//
// No MLIR or LLVM here. Not thread-safe: one thread drives an Executor; the
// CPU kernels themselves use all `threads` cores (one OpenMP pool, shared
// with oneDNN).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_EXECUTOR_H
#define SIMCLR_RUNTIME_EXECUTOR_H

#include "simclr/Runtime/Device.h"
#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/Status.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace simclr::runtime {

class Communicator;

class KernelLibrary;
class RuntimeTarget;

/// A loaded, verified artifact directory: the plan and its kernel library,
/// loaded by the plan's target with every kernel the plan names resolved.
class Artifact {
public:
  /// Reads DIR/plan.json (readPlanFile), checks that this runtime has the
  /// plan's target and this machine its architecture, checks the library's
  /// SHA-256 and has the target load it (ABI version, fingerprint, every
  /// kernel); each failure is one line naming the file.
  static Expected<std::shared_ptr<const Artifact>> load(const std::string &dir);

  const artifact::Plan &plan() const;
  const std::string &directory() const;
  /// artifact::planIdentity(plan()): checkpoints record it.
  const std::string &identity() const;
  const RuntimeTarget &target() const;
  const KernelLibrary &library() const;

  ~Artifact();
  struct Impl;

private:
  explicit Artifact(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ExecutorOptions {
  /// Cores for kernels and library calls; 0 = all available.
  int threads = 0;
  /// Where to run (--device); unset: device 0 of the kind the artifact's
  /// target runs on. A device of another kind is refused, naming the
  /// artifact's target.
  std::optional<DeviceSpec> device;
  /// The replicas of a data-parallel job (Communicator.h), not owned; it
  /// must outlive the Executor. Null: one replica. With R = size()
  /// replicas the executor allocates R * Plan::gatheredBytes for the
  /// gathered region and writes R into train_step's "replicas" input.
  Communicator *communicator = nullptr;
};

/// A named view of one state tensor (parameter, optimizer state, running
/// statistic) inside the executor's state block. `data` is the backend's
/// address: host memory on the CPU target, device memory on CUDA (read it
/// there only through loadState/saveState).
struct StateTensorView {
  const artifact::StateTensor *tensor = nullptr;
  const artifact::Buffer *buffer = nullptr;
  void *data = nullptr;
};

class Executor {
public:
  static Expected<std::unique_ptr<Executor>>
  create(std::shared_ptr<const Artifact> artifact, ExecutorOptions options = {});
  ~Executor();

  const Artifact &artifact() const;

  /// Fills every state tensor as the plan's StateInit says (the same values
  /// `simclrc --init-weights --seed SEED` writes).
  Status initializeState(uint64_t seed);
  /// Loads state tensors by name from a safetensors file; every state
  /// tensor must be present with the plan's dtype and shape (extra tensors
  /// are an error naming them). With `parametersOnly`, only kind "parameter"
  /// and "running_stat" are read (others keep their values).
  Status loadState(const std::string &path, bool parametersOnly = false);
  /// loadState's checks alone (names, dtypes, shapes, data checksums),
  /// leaving the state untouched: the message names the first difference.
  Status checkStateFile(const std::string &path, bool parametersOnly = false) const;
  /// Writes every state tensor to a safetensors file atomically, with
  /// `metadata` added to the header's __metadata__ and each tensor's SHA-256
  /// (SafetensorsWriter::recordChecksums).
  Status saveState(const std::string &path,
                   const std::vector<std::pair<std::string, std::string>>
                       &metadata = {}) const;
  std::vector<StateTensorView> stateTensors();
  Expected<StateTensorView> stateTensor(const std::string &name);

  /// Runs "train_step" once: `views` holds 2N images (view 0 of the batch,
  /// then view 1), already augmented and normalized, N x C x H x W each;
  /// `step` is 0-based (it drives the learning-rate schedule and AdamW's
  /// bias correction). The state is updated in place.
  Status trainStep(std::span<const float> views, int64_t step);
  /// Results of the last trainStep.
  float lastLoss() const;
  float lastLearningRate() const;

  /// Runs "encode": `images` is N x C x H x W uint8 (N = the plan's encode
  /// batch); writes N x F features (batch norm in inference mode).
  Status encode(std::span<const uint8_t> images, std::span<float> features);
  /// The encode program's batch and feature width.
  int64_t encodeBatch() const;
  int64_t featureDim() const;

  /// Runs any program by name with raw inputs by role; for tests.
  Status run(const std::string &program,
             const std::vector<std::pair<std::string, const void *>> &inputs);
  /// The bytes of a buffer after the last run (arena buffers are valid
  /// until the next run).
  const void *bufferData(int64_t bufferId) const;

  struct Impl;

private:
  explicit Executor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_EXECUTOR_H
