//===- CudaNccl.h - NCCL by dlopen: the CUDA backend's collectives -*- C++ -*-===//
//
// With a Communicator of several replicas, the CUDA backend runs the plan's
// collective entries with NCCL, one GPU per rank: libnccl.so.2 is opened at
// run time like the other CUDA libraries (CudaLibraries.h: the same search,
// $SIMCLR_CUDA_LIBRARY_PATH first, where scripts/cuda-library-path.sh puts
// pip's nvidia-nccl-cu13 wheel), and the ncclUniqueId is bootstrapped over
// the Communicator (rank 0 creates it, broadcast). The collectives are
// enqueued on the compute stream, so stream order is the schedule's order
// and an all_reduce_sum completes before any later entry (ArtifactPlan.h's
// asynchronous completion point is then automatic).
//
// Bit-identical sums: NCCL's all-reduce algorithms (ring: reduce-scatter
// then all-gather; tree: reduce then broadcast) compute each element's sum
// once, on one rank, and copy it to the others, so every rank gets the
// same bits; for a fixed rank count, topology, NCCL version and NCCL_ALGO /
// NCCL_PROTO the order is fixed, not timing-dependent.
//
// Ownership: ncclLibrary()'s table is static (opened once, never closed);
// an NcclCommunicator owns its ncclComm_t (destroyed, or aborted after an
// error, with it).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CUDA_CUDANCCL_H
#define SIMCLR_RUNTIME_BACKEND_CUDA_CUDANCCL_H

#include "simclr/Runtime/Communicator.h"
#include "simclr/Support/Status.h"

#include <cuda.h>
#include <nccl.h>

#include <memory>
#include <string>

namespace simclr::runtime::cuda {

/// soname of NCCL 2 (pip's nvidia-nccl-cu13 ships the same).
inline constexpr const char *kNcclLibrary = "libnccl.so.2";

#define SIMCLR_NCCL_FUNCTIONS(X)                                               \
  X(ncclGetVersion)                                                            \
  X(ncclGetErrorString)                                                        \
  X(ncclGetUniqueId)                                                           \
  X(ncclCommInitRank)                                                          \
  X(ncclCommDestroy)                                                           \
  X(ncclCommAbort)                                                             \
  X(ncclCommGetAsyncError)                                                     \
  X(ncclGroupStart)                                                            \
  X(ncclGroupEnd)                                                              \
  X(ncclAllReduce)                                                             \
  X(ncclAllGather)

struct NcclApi {
#define SIMCLR_NCCL_MEMBER(name) decltype(&::name) name = nullptr;
  SIMCLR_NCCL_FUNCTIONS(SIMCLR_NCCL_MEMBER)
#undef SIMCLR_NCCL_MEMBER
  std::string path;
  int version = 0;
};

/// NCCL, opened once per process. Fails, as kUnavailable, with one line
/// starting "NCCL unavailable: " naming where it looked or the missing
/// function.
Expected<const NcclApi *> ncclLibrary();
/// The same for a library at `path` (tests): not cached.
Expected<std::unique_ptr<NcclApi>> openNcclLibrary(const std::string &path);

/// "CALL failed: NCCL error N (description)".
Status ncclError(const NcclApi &nccl, ncclResult_t result, const char *call);

/// One rank's NCCL communicator over the replicas of `bootstrap`.
class NcclCommunicator {
public:
  /// Collective: every rank calls it with its device current.
  static Expected<std::unique_ptr<NcclCommunicator>>
  create(const NcclApi &nccl, Communicator &bootstrap);
  ~NcclCommunicator();

  int rank() const { return rank_; }
  int size() const { return size_; }

  /// In-place sum of `elements` values of `dtype` (f32/f64) at `data`.
  Status allReduceSum(CUdeviceptr data, int64_t elements, DType dtype,
                      CUstream stream);
  /// ArtifactPlan.h's all_gather of `bytes` cut in `blocks`: one NCCL
  /// all-gather per block, each into its run of size() blocks.
  Status allGather(CUdeviceptr input, CUdeviceptr output, int64_t bytes,
                   int64_t blocks, CUstream stream);
  /// ncclGroupStart/End around several collectives.
  Status groupStart();
  Status groupEnd();
  /// An error NCCL found asynchronously (a peer died), as a Status.
  Status asyncError();

private:
  NcclCommunicator(const NcclApi &nccl, ncclComm_t comm, int rank, int size)
      : nccl_(nccl), comm_(comm), rank_(rank), size_(size) {}
  const NcclApi &nccl_;
  ncclComm_t comm_;
  int rank_, size_;
  bool failed_ = false;
};

} // namespace simclr::runtime::cuda

#endif // SIMCLR_RUNTIME_BACKEND_CUDA_CUDANCCL_H
