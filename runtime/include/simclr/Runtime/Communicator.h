//===- Communicator.h - The replicas of a data-parallel job ------*- C++ -*-===//
//
// A Communicator is one process's view of the replicas of a data-parallel
// job (Vocabulary.h's kReplicaGroup: every process of the job). It is
// target-neutral and works on host memory: the CPU backend runs the plan's
// collective entries through it, the training loop uses it to agree on
// resume state (broadcast from rank 0) and to stop the job (abort), and the
// CUDA backend bootstraps NCCL over it (the NCCL collectives themselves run
// on the GPU, beside the CUDA backend).
//
// Engines, chosen by createCommunicator():
//   "single"  one process, size() == 1: every collective is the identity
//             (all_gather copies, all_reduce_sum leaves its buffers alone);
//   "mpi"     Open MPI, when the process was launched by mpirun (or asked
//             for); runtime/Collective/MpiCommunicator.cpp.
//
// Semantics (the same as the plan's collective entries, ArtifactPlan.h,
// EntryKind::kCollective):
//   allReduceSum  in place over a list of buffers (f32 or f64): every rank
//                 ends with the elementwise sum over ranks, BIT-IDENTICAL on
//                 every rank and independent of timing (the sum of each
//                 element is computed once, by one rank, in rank order
//                 0, 1, ..., K-1, and copied to the others; see the engine).
//   allGather     input x of `bytes`, cut into `blocks` equal blocks; output
//                 (size() * bytes) holds block 0 of ranks 0..K-1, then block
//                 1 of ranks 0..K-1, ...
//   localSlice    the inverse of allGather with the same blocks: this
//                 rank's blocks of a gathered buffer. No communication.
//   broadcast     rank 0's bytes to every rank.
//
// Failure: every operation has a deadline (CommunicatorOptions::timeout).
// When a rank hangs or dies, the others end the whole job within bounded
// time with one line on stderr ("simclr: rank 1 of 2: communication
// timeout: ...") and exit code kCommunicationFailureExitCode; a Status is
// returned only for errors the caller can still act on (bad arguments, an
// engine that is not available). abort() ends every process of the job.
//
// Threads: one thread at a time calls a Communicator (the thread that runs
// the step, or the training loop between steps); the engine may use its own
// thread to progress asynchronous operations (startAllReduceSum).
//
// Ownership: createCommunicator returns an owned object; destroying it ends
// the engine (MPI_Finalize) after every started operation has finished.
// Buffers passed to startAllReduceSum belong to the caller and must stay
// alive and untouched until wait() on its ticket returns.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_COMMUNICATOR_H
#define SIMCLR_RUNTIME_COMMUNICATOR_H

#include "simclr/Support/DType.h"
#include "simclr/Support/Status.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace simclr::runtime {

/// Exit code of a process that ends the job because a collective failed or
/// timed out (BSD sysexits' EX_SOFTWARE: an internal software error), and of
/// abort().
inline constexpr int kCommunicationFailureExitCode = 70;

/// Default deadline of one operation: long enough for the first step's
/// warm-up of a large model on a slow rank, short enough that a dead job
/// frees its machines the same hour.
inline constexpr double kDefaultCommunicationTimeoutSeconds = 300.0;

/// What the timers count, one slot each (CommunicatorStats::ops).
enum class CommOp { kAllReduceSum, kAllGather, kBroadcast, kBarrier };
inline constexpr size_t kNumCommOps = 4;
/// "all_reduce_sum", "all_gather", "broadcast", "barrier".
const char *commOpName(CommOp op);

/// Per-kind timers, summed since the communicator was created (or
/// resetStats()).
struct CommOpStats {
  /// Operations run.
  int64_t calls = 0;
  /// Payload bytes this rank contributed (all_reduce_sum: the buffers'
  /// bytes; all_gather: its input's bytes; broadcast: the bytes).
  int64_t bytes = 0;
  /// Wall seconds the engine spent on them, from issue to completion
  /// (may overlap computation when asynchronous).
  double commSeconds = 0;
  /// Wall seconds the calling thread was blocked waiting for them (the part
  /// that did not overlap: what communication cost the step).
  double waitSeconds = 0;
};

struct CommunicatorStats {
  std::array<CommOpStats, kNumCommOps> ops{};

  const CommOpStats &operator[](CommOp op) const {
    return ops[static_cast<size_t>(op)];
  }
  CommOpStats &operator[](CommOp op) { return ops[static_cast<size_t>(op)]; }
  double totalCommSeconds() const;
  double totalWaitSeconds() const;
  int64_t totalBytes() const;
};

/// One buffer of an all_reduce_sum: `elements` values of `dtype` (kF32 or
/// kF64) at `data`.
struct ReduceBuffer {
  void *data = nullptr;
  int64_t elements = 0;
  DType dtype = DType::kF32;
};

/// Names an asynchronous operation until wait() returns.
using CommTicket = int64_t;

class Communicator {
public:
  virtual ~Communicator();

  /// This process's rank, 0 <= rank() < size().
  virtual int rank() const = 0;
  /// The number of replicas.
  virtual int size() const = 0;
  /// The rank among the processes of this machine (chooses the GPU of a
  /// rank: device = localRank()).
  virtual int localRank() const = 0;
  /// "single" or "mpi".
  virtual const char *engine() const = 0;

  /// Starts an in-place all_reduce_sum over `count` buffers (copied; the
  /// buffers themselves must stay alive until wait()). Returns at once; the
  /// result is in the buffers when wait(ticket) returns.
  virtual Expected<CommTicket> startAllReduceSum(const ReduceBuffer *buffers,
                                                 size_t count) = 0;
  /// Blocks until operation `ticket` has finished; each ticket is waited
  /// for once. Tickets finish in the order they were started.
  virtual Status wait(CommTicket ticket) = 0;
  /// startAllReduceSum + wait.
  Status allReduceSum(const ReduceBuffer *buffers, size_t count);

  /// `input` (`bytes`, divisible by `blocks`) from every rank into `output`
  /// (size() * bytes), ordered as the header says. Blocking.
  virtual Status allGather(const void *input, void *output, int64_t bytes,
                           int64_t blocks) = 0;
  /// Rank 0's `bytes` at `data` into every rank's `data`. Blocking.
  virtual Status broadcast(void *data, int64_t bytes) = 0;
  /// Returns when every rank has called it.
  virtual Status barrier() = 0;
  /// Ends every process of the job: prints "simclr: rank R of K: MESSAGE"
  /// on stderr and exits with kCommunicationFailureExitCode. Never returns.
  [[noreturn]] virtual void abort(const std::string &message) = 0;

  /// Makes sure operations on up to `bytes` per call run without allocating
  /// (staging memory of the engine). Optional; the engine grows it anyway.
  virtual Status reserve(int64_t bytes) = 0;

  /// The deadline of every later operation, in seconds (> 0).
  virtual void setTimeout(double seconds) = 0;
  virtual double timeout() const = 0;

  const CommunicatorStats &stats() const { return stats_; }
  void resetStats() { stats_ = CommunicatorStats(); }

protected:
  CommunicatorStats stats_;
};

/// localSlice: this rank's `blocks` blocks of the gathered buffer `input`
/// (size * bytes, as allGather lays it out) into `output` (`bytes`). No
/// communication; a plain function because every engine does the same.
void localSlice(const void *input, void *output, int64_t bytes, int64_t blocks,
                int rank, int size);

enum class CommunicatorEngine {
  /// MPI when launched by mpirun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or
  /// PMIX_RANK in the environment), single otherwise.
  kAuto,
  kSingle,
  kMpi,
};

struct CommunicatorOptions {
  CommunicatorEngine engine = CommunicatorEngine::kAuto;
  /// Deadline of each operation (setTimeout); the environment variable
  /// SIMCLR_COMM_TIMEOUT (seconds) overrides it.
  double timeoutSeconds = kDefaultCommunicationTimeoutSeconds;
};

/// The communicator of this process. Asking for MPI in a runtime built
/// without it is an unavailable error naming the missing package. Create
/// at most one per process (MPI is initialized once).
Expected<std::unique_ptr<Communicator>>
createCommunicator(const CommunicatorOptions &options = {});

/// Whether this runtime was built with MPI.
bool mpiAvailable();

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_COMMUNICATOR_H
