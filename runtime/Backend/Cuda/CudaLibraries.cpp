//===- CudaLibraries.cpp - Opening the driver, cuDNN and cuBLASLt ---------===//
//
// Each library is opened at most once per process (a function-local static
// holds the outcome, error included, so a second Executor gets the same
// line without searching again).
//
//===----------------------------------------------------------------------===//
#include "Cuda/CudaLibraries.h"

#include <dlfcn.h>

#include <cstdlib>

namespace simclr::runtime::cuda {
namespace {

// Two steps, so that a name cuda.h defines as a macro is expanded to the
// versioned symbol it stands for (cuMemAlloc -> "cuMemAlloc_v2").
#define SIMCLR_CUDA_SYMBOL_TEXT(name) #name
#define SIMCLR_CUDA_SYMBOL(name) SIMCLR_CUDA_SYMBOL_TEXT(name)

const char *searchPath() { return std::getenv(kLibraryPathVariable); }

/// The first candidate of `soname` that opens; `path` gets where it was.
/// The error names the library, its role and where it was looked for.
Expected<void *> openLibrary(const char *soname, const char *role,
                             int extraFlags, std::string &path) {
  std::string lastError;
  for (const std::string &candidate :
       cudaLibraryCandidates(soname, searchPath())) {
    dlerror();
    if (void *handle = dlopen(candidate.c_str(), RTLD_NOW | extraFlags)) {
      path = candidate;
      return handle;
    }
    const char *error = dlerror();
    lastError = error ? error : "dlopen failed";
  }
  return unavailable("CUDA unavailable: " + std::string(soname) + " (" + role +
                     ") was not found; looked in " +
                     describeLibrarySearch(searchPath()) +
                     " (last error: " + lastError + ")");
}

/// Resolves one symbol into `slot`; the error names the library and symbol.
template <typename Fn>
Status resolve(void *handle, const std::string &path, const char *symbol,
               Fn &slot) {
  slot = reinterpret_cast<Fn>(dlsym(handle, symbol));
  if (!slot)
    return unavailable("CUDA unavailable: " + path + " lacks " + symbol +
                       " (too old a version?)");
  return Status::ok();
}

Expected<const DriverApi *> openDriver() {
  static DriverApi api;
  Expected<void *> handle =
      openLibrary(kDriverLibrary, "the CUDA driver", RTLD_LOCAL, api.path);
  if (!handle)
    return handle.takeStatus();
#define SIMCLR_RESOLVE(name)                                                   \
  SIMCLR_RETURN_IF_ERROR(                                                      \
      resolve(*handle, api.path, SIMCLR_CUDA_SYMBOL(name), api.name));
  SIMCLR_CUDA_DRIVER_FUNCTIONS(SIMCLR_RESOLVE)
#undef SIMCLR_RESOLVE
  CUresult result = api.cuInit(0);
  if (result != CUDA_SUCCESS) {
    const char *name = nullptr, *text = nullptr;
    // The stub answers nothing to cuGetErrorName: the usual refusals are
    // named here.
    if (api.cuGetErrorName(result, &name) != CUDA_SUCCESS || !name ||
        api.cuGetErrorString(result, &text) != CUDA_SUCCESS || !text) {
      switch (result) {
      case CUDA_ERROR_NO_DEVICE:
        name = "CUDA_ERROR_NO_DEVICE";
        text = "a driver but no CUDA-capable device";
        break;
      case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH:
        name = "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH";
        text = "the driver library does not match the kernel driver";
        break;
      case CUDA_ERROR_STUB_LIBRARY:
        name = "CUDA_ERROR_STUB_LIBRARY";
        text = "the toolkit's link stub, not a driver";
        break;
      default:
        name = "unknown error";
        text = "no description";
        break;
      }
    }
    return unavailable("CUDA unavailable: cuInit returned " +
                       std::to_string(static_cast<int>(result)) + " (" + name +
                       ": " + text + ") from " + api.path);
  }
  int count = 0;
  if (api.cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0)
    return unavailable("CUDA unavailable: the driver (" + api.path +
                       ") reports no CUDA device");
  return &api;
}

Expected<const CudnnApi *> openCudnn() {
  static CudnnApi api;
  Expected<void *> handle =
      openLibrary(kCudnnLibrary, "cuDNN 9", RTLD_GLOBAL, api.path);
  if (!handle)
    return handle.takeStatus();
  // Its sub-libraries from the same directory, so that cuDNN's dlopen of
  // their sonames finds them loaded; one that fails to open (a missing
  // optional engine library) is left to cuDNN to report when it needs it.
  if (std::string dir = directoryOf(api.path); !dir.empty())
    for (const char *sub : kCudnnSubLibraries)
      dlopen((dir + "/" + sub).c_str(), RTLD_NOW | RTLD_GLOBAL);
#define SIMCLR_RESOLVE(name)                                                   \
  SIMCLR_RETURN_IF_ERROR(                                                      \
      resolve(*handle, api.path, SIMCLR_CUDA_SYMBOL(name), api.name));
  SIMCLR_CUDNN_FUNCTIONS(SIMCLR_RESOLVE)
#undef SIMCLR_RESOLVE
  // The backend API's attributes and enums are cuDNN 9's (cudnn_graph.h).
  size_t version = api.cudnnGetVersion();
  if (version / 10000 != CUDNN_MAJOR)
    return unavailable("CUDA unavailable: " + api.path + " is cuDNN version " +
                       std::to_string(version) + ", this runtime needs " +
                       std::to_string(CUDNN_MAJOR) + ".x");
  return &api;
}

Expected<const CublasLtApi *> openCublasLt() {
  static CublasLtApi api;
  Expected<void *> handle =
      openLibrary(kCublasLtLibrary, "cuBLASLt", RTLD_LOCAL, api.path);
  if (!handle)
    return handle.takeStatus();
#define SIMCLR_RESOLVE(name)                                                   \
  SIMCLR_RETURN_IF_ERROR(                                                      \
      resolve(*handle, api.path, SIMCLR_CUDA_SYMBOL(name), api.name));
  SIMCLR_CUBLASLT_FUNCTIONS(SIMCLR_RESOLVE)
#undef SIMCLR_RESOLVE
  return &api;
}

/// `call`'s text up to its argument list: "cuMemAlloc(&p, n)" -> "cuMemAlloc".
std::string callName(const char *call) {
  std::string text = call;
  return text.substr(0, text.find('('));
}

} // namespace

Expected<const DriverApi *> cudaDriver() {
  static const Expected<const DriverApi *> driver = openDriver();
  return driver;
}

Expected<const CudnnApi *> cudnnLibrary() {
  static const Expected<const CudnnApi *> cudnn = openCudnn();
  return cudnn;
}

Expected<const CublasLtApi *> cublasLtLibrary() {
  static const Expected<const CublasLtApi *> cublasLt = openCublasLt();
  return cublasLt;
}

Status driverError(const DriverApi &driver, CUresult result, const char *call) {
  const char *name = nullptr, *text = nullptr;
  driver.cuGetErrorName(result, &name);
  driver.cuGetErrorString(result, &text);
  return internalError(
      callName(call) +
      " failed: " + (name ? name : std::to_string(static_cast<int>(result))) +
      " (" + (text ? text : "no description") + ")");
}

Status cudnnError(const CudnnApi &cudnn, cudnnStatus_t status,
                  const char *call) {
  // cuDNN 9 keeps the reason of the last failure per thread.
  char detail[256] = {};
  cudnn.cudnnGetLastErrorString(detail, sizeof(detail));
  std::string message =
      callName(call) + " failed: " + cudnn.cudnnGetErrorString(status);
  if (detail[0])
    message += " (" + std::string(detail) + ")";
  for (char &c : message)
    if (c == '\n')
      c = ' ';
  return internalError(message);
}

Status cublasLtError(const CublasLtApi &cublasLt, cublasStatus_t status,
                     const char *call) {
  return internalError(callName(call) +
                       " failed: " + cublasLt.cublasLtGetStatusString(status));
}

} // namespace simclr::runtime::cuda
