//===- CudaLibraries.h - The CUDA driver, cuDNN and cuBLASLt by dlopen -*- C++ -*-===//
//
// The runtime links no CUDA library: the CUDA backend is built against the
// toolkit's headers only and opens, at run time, the driver (libcuda.so.1),
// cuDNN 9 (libcudnn.so.9) and cuBLASLt (libcublasLt.so.13), resolving the
// functions it calls into tables of pointers typed from those headers. So a
// binary built on a machine with the toolkit but no GPU runs on a GPU
// machine whose libraries sit anywhere (pip's nvidia/* wheels, for one),
// and a machine without them gets one line saying what is missing.
//
// Where a library is looked for, in order (cudaLibraryCandidates):
//   1. each directory of $SIMCLR_CUDA_LIBRARY_PATH (colon-separated);
//   2. the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache);
//   3. /usr/local/cuda/lib64.
// cuDNN 9 opens its sub-libraries (graph, ops, cnn, engines) by soname; when
// libcudnn.so.9 comes from a directory the loader does not search, its
// siblings there are opened first (RTLD_GLOBAL), so those sonames resolve
// to the same directory.
//
// Ownership: each library is opened once per process, on first use, and
// never closed; the tables returned are static.
//
// This header is included only by the CUDA backend's files (it needs the
// toolkit's headers); runtime/include exposes no CUDA type.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CUDA_CUDALIBRARIES_H
#define SIMCLR_RUNTIME_BACKEND_CUDA_CUDALIBRARIES_H

#include "Cuda/CudaLibrarySearch.h"

#include "simclr/Support/Status.h"

#include <cublasLt.h>
#include <cuda.h>
#include <cudnn_backend.h>

#include <string>

namespace simclr::runtime::cuda {

// The functions each table resolves. cuda.h maps several names to their
// versioned ABI symbol (cuMemAlloc -> cuMemAlloc_v2); the table's members
// and the symbols looked up expand the same way, so a member has exactly
// the prototype and symbol a link against libcuda would give.
#define SIMCLR_CUDA_DRIVER_FUNCTIONS(X)                                        \
  X(cuInit)                                                                    \
  X(cuDriverGetVersion)                                                        \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetName)                                                           \
  X(cuDeviceGetAttribute)                                                      \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuDevicePrimaryCtxRelease)                                                 \
  X(cuCtxSetCurrent)                                                           \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuModuleGetFunction)                                                       \
  X(cuModuleGetGlobal)                                                         \
  X(cuFuncSetAttribute)                                                        \
  X(cuMemAlloc)                                                                \
  X(cuMemFree)                                                                 \
  X(cuMemsetD8)                                                                \
  X(cuMemHostAlloc)                                                            \
  X(cuMemFreeHost)                                                             \
  X(cuMemcpyHtoD)                                                              \
  X(cuMemcpyHtoDAsync)                                                         \
  X(cuMemcpyDtoHAsync)                                                         \
  X(cuMemcpyDtoDAsync)                                                         \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamWaitEvent)                                                         \
  X(cuEventCreate)                                                             \
  X(cuEventDestroy)                                                            \
  X(cuEventRecord)                                                             \
  X(cuEventSynchronize)                                                        \
  X(cuLaunchKernel)                                                            \
  X(cuStreamBeginCapture)                                                      \
  X(cuStreamEndCapture)                                                        \
  X(cuGraphInstantiate)                                                        \
  X(cuGraphLaunch)                                                             \
  X(cuGraphExecDestroy)                                                        \
  X(cuGraphDestroy)

#define SIMCLR_CUDNN_FUNCTIONS(X)                                              \
  X(cudnnGetVersion)                                                           \
  X(cudnnGetErrorString)                                                       \
  X(cudnnGetLastErrorString)                                                   \
  X(cudnnCreate)                                                               \
  X(cudnnDestroy)                                                              \
  X(cudnnSetStream)                                                            \
  X(cudnnBackendCreateDescriptor)                                              \
  X(cudnnBackendDestroyDescriptor)                                             \
  X(cudnnBackendSetAttribute)                                                  \
  X(cudnnBackendGetAttribute)                                                  \
  X(cudnnBackendFinalize)                                                      \
  X(cudnnBackendExecute)

#define SIMCLR_CUBLASLT_FUNCTIONS(X)                                           \
  X(cublasLtGetVersion)                                                        \
  X(cublasLtGetStatusString)                                                   \
  X(cublasLtCreate)                                                            \
  X(cublasLtDestroy)                                                           \
  X(cublasLtMatmulDescCreate)                                                  \
  X(cublasLtMatmulDescDestroy)                                                 \
  X(cublasLtMatmulDescSetAttribute)                                            \
  X(cublasLtMatrixLayoutCreate)                                                \
  X(cublasLtMatrixLayoutDestroy)                                               \
  X(cublasLtMatrixLayoutSetAttribute)                                          \
  X(cublasLtMatmulPreferenceCreate)                                            \
  X(cublasLtMatmulPreferenceDestroy)                                           \
  X(cublasLtMatmulPreferenceSetAttribute)                                      \
  X(cublasLtMatmulAlgoGetHeuristic)                                            \
  X(cublasLtMatmul)                                                            \
  X(cublasLtMatrixTransformDescCreate)                                         \
  X(cublasLtMatrixTransformDescDestroy)                                        \
  X(cublasLtMatrixTransformDescSetAttribute)                                   \
  X(cublasLtMatrixTransform)

#define SIMCLR_CUDA_TABLE_MEMBER(name) decltype(&::name) name = nullptr;

/// The driver's functions, after cuInit(0) succeeded.
struct DriverApi {
  SIMCLR_CUDA_DRIVER_FUNCTIONS(SIMCLR_CUDA_TABLE_MEMBER)
  /// Where libcuda.so.1 was found.
  std::string path;
};
struct CudnnApi {
  SIMCLR_CUDNN_FUNCTIONS(SIMCLR_CUDA_TABLE_MEMBER)
  std::string path;
};
struct CublasLtApi {
  SIMCLR_CUBLASLT_FUNCTIONS(SIMCLR_CUDA_TABLE_MEMBER)
  std::string path;
};

#undef SIMCLR_CUDA_TABLE_MEMBER

/// The driver, opened and initialized (cuInit(0)) once per process. Fails,
/// as kUnavailable, with one line starting "CUDA unavailable: ": the
/// library was not found (and where it was looked for), lacks a function,
/// or cuInit returned an error (100 CUDA_ERROR_NO_DEVICE, 34
/// CUDA_ERROR_STUB_LIBRARY, 803 CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, ...;
/// the runtime API's 35, cudaErrorInsufficientDriver, is the driver API's
/// missing library or 803), or the driver sees no device.
Expected<const DriverApi *> cudaDriver();
/// cuDNN 9 and cuBLASLt, opened once per process; errors as cudaDriver().
Expected<const CudnnApi *> cudnnLibrary();
Expected<const CublasLtApi *> cublasLtLibrary();

/// "CALL failed: CUDA_ERROR_X (description)" for a failed driver call.
Status driverError(const DriverApi &driver, CUresult result, const char *call);
Status cudnnError(const CudnnApi &cudnn, cudnnStatus_t status,
                  const char *call);
Status cublasLtError(const CublasLtApi &cublasLt, cublasStatus_t status,
                     const char *call);

} // namespace simclr::runtime::cuda

/// Returns, from the enclosing function, the Status of a failed driver,
/// cuDNN or cuBLASLt call, naming the call (its text up to the first '(').
#define SIMCLR_CU_CHECK(driver, expr)                                          \
  do {                                                                         \
    CUresult simclrResult_ = (driver).expr;                                    \
    if (simclrResult_ != CUDA_SUCCESS)                                         \
      return ::simclr::runtime::cuda::driverError((driver), simclrResult_,     \
                                                  #expr);                      \
  } while (false)
#define SIMCLR_CUDNN_CHECK(cudnn, expr)                                        \
  do {                                                                         \
    cudnnStatus_t simclrStatus_ = (cudnn).expr;                                \
    if (simclrStatus_ != CUDNN_STATUS_SUCCESS)                                 \
      return ::simclr::runtime::cuda::cudnnError((cudnn), simclrStatus_,       \
                                                 #expr);                       \
  } while (false)
#define SIMCLR_CUBLASLT_CHECK(cublasLt, expr)                                  \
  do {                                                                         \
    cublasStatus_t simclrStatus_ = (cublasLt).expr;                            \
    if (simclrStatus_ != CUBLAS_STATUS_SUCCESS)                                \
      return ::simclr::runtime::cuda::cublasLtError((cublasLt), simclrStatus_, \
                                                    #expr);                    \
  } while (false)

#endif // SIMCLR_RUNTIME_BACKEND_CUDA_CUDALIBRARIES_H
