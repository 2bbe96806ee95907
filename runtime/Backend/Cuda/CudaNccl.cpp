//===- CudaNccl.cpp - NCCL by dlopen, bootstrapped over the Communicator --===//
#include "Cuda/CudaNccl.h"

#include "Cuda/CudaLibrarySearch.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

namespace simclr::runtime::cuda {
namespace {

#define SIMCLR_NCCL_SYMBOL_TEXT(name) #name
#define SIMCLR_NCCL_SYMBOL(name) SIMCLR_NCCL_SYMBOL_TEXT(name)

Status resolveAll(void *handle, NcclApi &api) {
#define SIMCLR_RESOLVE(name)                                                   \
  api.name = reinterpret_cast<decltype(api.name)>(                             \
      dlsym(handle, SIMCLR_NCCL_SYMBOL(name)));                                \
  if (!api.name)                                                               \
    return unavailable("NCCL unavailable: " + api.path + " lacks " +           \
                       SIMCLR_NCCL_SYMBOL(name) + " (too old a version?)");
  SIMCLR_NCCL_FUNCTIONS(SIMCLR_RESOLVE)
#undef SIMCLR_RESOLVE
  if (api.ncclGetVersion(&api.version) != ncclSuccess)
    return unavailable("NCCL unavailable: " + api.path +
                       ": ncclGetVersion failed");
  return Status::ok();
}

Expected<const NcclApi *> openOnce() {
  static NcclApi api;
  const char *searchPath = std::getenv(kLibraryPathVariable);
  std::string lastError = "dlopen failed";
  void *handle = nullptr;
  for (const std::string &candidate :
       cudaLibraryCandidates(kNcclLibrary, searchPath)) {
    dlerror();
    if ((handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL))) {
      api.path = candidate;
      break;
    }
    const char *error = dlerror();
    lastError = error ? error : "dlopen failed";
  }
  if (!handle)
    return unavailable("NCCL unavailable: " + std::string(kNcclLibrary) +
                       " was not found; looked in " +
                       describeLibrarySearch(searchPath) +
                       " (last error: " + lastError +
                       "); pip install nvidia-nccl-cu13 and source "
                       "scripts/cuda-library-path.sh");
  SIMCLR_RETURN_IF_ERROR(resolveAll(handle, api));
  return &api;
}

} // namespace

Expected<const NcclApi *> ncclLibrary() {
  static Expected<const NcclApi *> api = openOnce();
  return api;
}

Expected<std::unique_ptr<NcclApi>> openNcclLibrary(const std::string &path) {
  auto api = std::make_unique<NcclApi>();
  api->path = path;
  dlerror();
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *error = dlerror();
    return unavailable("NCCL unavailable: " + path + ": " +
                       (error ? error : "dlopen failed"));
  }
  SIMCLR_RETURN_IF_ERROR(resolveAll(handle, *api));
  return api;
}

Status ncclError(const NcclApi &nccl, ncclResult_t result, const char *call) {
  const char *text = nccl.ncclGetErrorString(result);
  return internalError(std::string(call) + " failed: NCCL error " +
                       std::to_string(static_cast<int>(result)) + " (" +
                       (text ? text : "unknown") + ")");
}

#define SIMCLR_NCCL_CHECK(expr, call)                                          \
  do {                                                                         \
    ncclResult_t simclrResult_ = (expr);                                       \
    if (simclrResult_ != ncclSuccess) {                                        \
      failed_ = true;                                                          \
      return ncclError(nccl_, simclrResult_, call);                            \
    }                                                                          \
  } while (false)

Expected<std::unique_ptr<NcclCommunicator>>
NcclCommunicator::create(const NcclApi &nccl, Communicator &bootstrap) {
  ncclUniqueId id;
  std::memset(&id, 0, sizeof id);
  if (bootstrap.rank() == 0) {
    ncclResult_t result = nccl.ncclGetUniqueId(&id);
    if (result != ncclSuccess)
      return ncclError(nccl, result, "ncclGetUniqueId");
  }
  SIMCLR_RETURN_IF_ERROR(bootstrap.broadcast(&id, sizeof id));
  ncclComm_t comm = nullptr;
  ncclResult_t result =
      nccl.ncclCommInitRank(&comm, bootstrap.size(), id, bootstrap.rank());
  if (result != ncclSuccess)
    return ncclError(nccl, result, "ncclCommInitRank");
  return std::unique_ptr<NcclCommunicator>(
      new NcclCommunicator(nccl, comm, bootstrap.rank(), bootstrap.size()));
}

NcclCommunicator::~NcclCommunicator() {
  if (failed_)
    nccl_.ncclCommAbort(comm_);
  else
    nccl_.ncclCommDestroy(comm_);
}

Status NcclCommunicator::allReduceSum(CUdeviceptr data, int64_t elements,
                                      DType dtype, CUstream stream) {
  if (dtype != DType::kF32 && dtype != DType::kF64)
    return invalidArgument("all_reduce_sum takes f32 or f64 buffers");
  auto *pointer = reinterpret_cast<void *>(data);
  SIMCLR_NCCL_CHECK(
      nccl_.ncclAllReduce(pointer, pointer, static_cast<size_t>(elements),
                          dtype == DType::kF32 ? ncclFloat32 : ncclFloat64,
                          ncclSum, comm_, reinterpret_cast<cudaStream_t>(stream)),
      "ncclAllReduce");
  return Status::ok();
}

Status NcclCommunicator::allGather(CUdeviceptr input, CUdeviceptr output,
                                   int64_t bytes, int64_t blocks,
                                   CUstream stream) {
  int64_t blockBytes = bytes / blocks;
  SIMCLR_NCCL_CHECK(nccl_.ncclGroupStart(), "ncclGroupStart");
  for (int64_t b = 0; b < blocks; ++b)
    SIMCLR_NCCL_CHECK(
        nccl_.ncclAllGather(
            reinterpret_cast<const void *>(input + b * blockBytes),
            reinterpret_cast<void *>(output + b * size_ * blockBytes),
            static_cast<size_t>(blockBytes), ncclUint8, comm_,
            reinterpret_cast<cudaStream_t>(stream)),
        "ncclAllGather");
  SIMCLR_NCCL_CHECK(nccl_.ncclGroupEnd(), "ncclGroupEnd");
  return Status::ok();
}

Status NcclCommunicator::groupStart() {
  SIMCLR_NCCL_CHECK(nccl_.ncclGroupStart(), "ncclGroupStart");
  return Status::ok();
}
Status NcclCommunicator::groupEnd() {
  SIMCLR_NCCL_CHECK(nccl_.ncclGroupEnd(), "ncclGroupEnd");
  return Status::ok();
}

Status NcclCommunicator::asyncError() {
  ncclResult_t state = ncclSuccess;
  SIMCLR_NCCL_CHECK(nccl_.ncclCommGetAsyncError(comm_, &state),
                    "ncclCommGetAsyncError");
  if (state != ncclSuccess && state != ncclInProgress) {
    failed_ = true;
    return ncclError(nccl_, state, "an earlier NCCL collective");
  }
  return Status::ok();
}

} // namespace simclr::runtime::cuda
