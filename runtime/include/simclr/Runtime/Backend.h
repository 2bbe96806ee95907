//===- Backend.h - What a target's runtime implements -----------*- C++ -*-===//
//
// The Executor (Executor.h) is target-neutral: it reads the plan, lays the
// buffers out in the blocks a Backend gives it, prepares every schedule
// entry once and replays them. Everything that depends on where the step
// runs sits behind two interfaces chosen by the plan's `library.target`:
//
//   RuntimeTarget  one per target (a static object): checks that this
//                  machine runs the library's architecture, loads the
//                  kernel library, creates Backends;
//   Backend        one per Executor: device memory, copies to and from the
//                  host, prepared schedule entries (generated kernels,
//                  library calls, collectives) and running them.
//
// The implementations are runtime/Backend/Cpu and runtime/Backend/Cuda; a
// new target adds a folder beside them and one line in
// runtime/Backend/BackendRegistry.cpp.
//
// Ownership: findRuntimeTarget returns a static object (never freed).
// loadLibrary returns a KernelLibrary the Artifact owns; createBackend
// returns a Backend the Executor owns, which may refer to the library (the
// Executor keeps the Artifact alive for as long as the Backend lives).
// Blocks from allocateBlock belong to the Backend and live as long as it.
// Every fallible call returns Status/Expected (Status.h); no exception
// crosses this interface.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_H
#define SIMCLR_RUNTIME_BACKEND_H

#include "simclr/Runtime/Device.h"
#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/Status.h"
#include "simclr/Support/Vocabulary.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace simclr::runtime {

class Communicator;

/// One operand of a schedule entry: its plan buffer and its address in the
/// backend's memory.
struct EntryOperand {
  const artifact::Buffer *buffer = nullptr;
  void *data = nullptr;
};

struct BackendOptions {
  /// CPU cores for kernels and library calls; 0 = all available.
  int threads = 0;
  /// Which device of the target's kind (--device cuda:N); 0 on the CPU.
  int deviceIndex = 0;
  /// The replicas of a data-parallel job (Communicator.h), not owned; it
  /// outlives the Backend. Null: one replica. With R = size() replicas a
  /// kGathered operand spans R * bytes from its address, and collective
  /// entries run across the replicas.
  Communicator *communicator = nullptr;
};

/// A kernel library loaded and checked against its plan.
class KernelLibrary {
public:
  virtual ~KernelLibrary();
};

class Backend {
public:
  virtual ~Backend();

  /// A zeroed block of at least `bytes` (at least one alignment unit),
  /// aligned to `alignment`, for the state, the inputs or the arena.
  virtual Expected<std::byte *> allocateBlock(int64_t bytes, int64_t alignment,
                                              const char *what) = 0;
  /// Copies between host memory and the backend's blocks (which need not
  /// be host-addressable: the Executor reads and writes them only through
  /// these).
  virtual Status copyToDevice(void *device, const void *host, size_t bytes) = 0;
  virtual Status copyToHost(void *host, const void *device, size_t bytes) = 0;

  /// Prepares `entry` on `operands` (ScheduleEntry::operands, resolved) for
  /// replay and returns its handle for run(). An entry the backend cannot
  /// run (unknown extern, wrong operands, bad attributes) is an
  /// invalid-argument error without the entry's context, which the caller
  /// adds.
  virtual Expected<size_t> prepare(const artifact::ScheduleEntry &entry,
                                   const std::vector<EntryOperand> &operands) = 0;
  /// Called once after the last prepare().
  virtual Status finalize() = 0;

  /// Called by the thread that runs a program, before its entries.
  virtual void beginRun() = 0;
  /// Runs prepared entry `handle`. Allocates nothing.
  virtual Status run(size_t handle) = 0;
  /// Returns when everything run() queued has finished.
  virtual Status synchronize() = 0;
};

class RuntimeTarget {
public:
  virtual ~RuntimeTarget();
  virtual TargetKind kind() const = 0;
  /// The kind of device its libraries run on (what --device names).
  virtual DeviceKind deviceKind() const = 0;
  /// Refuses, naming `planPath` and the mismatch, a library built for an
  /// architecture this machine cannot run.
  virtual Status checkArchitecture(const std::string &planPath,
                                   const artifact::Plan &plan) const = 0;
  /// Loads the library file (its SHA-256 already checked) and checks it
  /// against the plan: ABI version, fingerprint, every kernel it names.
  virtual Expected<std::unique_ptr<KernelLibrary>>
  loadLibrary(const std::string &libraryPath,
              const artifact::Plan &plan) const = 0;
  virtual Expected<std::unique_ptr<Backend>>
  createBackend(const KernelLibrary &library, const artifact::Plan &plan,
                const BackendOptions &options) const = 0;
};

/// The runtime target of `kind`, or null when this runtime was built
/// without it.
const RuntimeTarget *findRuntimeTarget(TargetKind kind);

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_BACKEND_H
