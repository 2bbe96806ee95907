//===- CudaDevice.h - One GPU: context, streams, memory, the module -*- C++ -*-===//
//
// What the CUDA backend holds of the driver: the device's primary context
// (shared with any other CUDA user in the process, e.g. cuDNN), a compute
// stream on which every entry runs, a copy stream for the per-step inputs,
// the device allocations (one per block the Executor asks for, plus the
// operand tables and the library workspace) and the pinned staging buffer
// of the input block, and the kernel module.
//
// Ownership: a CudaDevice owns all of these and releases them in its
// destructor (module, allocations, streams, then the primary context).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CUDA_CUDADEVICE_H
#define SIMCLR_RUNTIME_BACKEND_CUDA_CUDADEVICE_H

#include "Cuda/CudaLibraries.h"

#include <memory>
#include <string>
#include <vector>

namespace simclr::runtime::cuda {

class CudaDevice {
public:
  /// Opens device `ordinal` (cuda:N): its primary context, made current on
  /// this thread, and the two streams. An ordinal this machine lacks is an
  /// error naming how many devices there are.
  static Expected<std::unique_ptr<CudaDevice>> open(const DriverApi &driver,
                                                    int ordinal);
  ~CudaDevice();
  CudaDevice(const CudaDevice &) = delete;
  CudaDevice &operator=(const CudaDevice &) = delete;

  const DriverApi &driver() const { return driver_; }
  /// "cuda:0 (NVIDIA H100 80GB HBM3, sm_90)".
  const std::string &description() const { return description_; }
  /// major * 10 + minor.
  int computeCapability() const { return computeCapability_; }
  int64_t maxSharedBytesPerBlock() const { return maxSharedBytes_; }
  CUstream stream() const { return stream_; }
  CUstream copyStream() const { return copyStream_; }

  /// Makes the context current on the calling thread (the Executor may be
  /// driven from another thread than the one that created it).
  Status makeCurrent() const;

  /// A zeroed device allocation of `bytes` (at least 1), owned by this
  /// object; `what` names it in the out-of-memory message.
  Expected<CUdeviceptr> allocate(size_t bytes, const std::string &what);
  /// Page-locked host memory of `bytes`, owned by this object.
  Expected<void *> allocatePinned(size_t bytes, const std::string &what);

  /// Loads `image` (a cubin) as the module; the error says whether the
  /// image is for another architecture.
  Status loadModule(const std::vector<char> &image, const std::string &path);
  CUmodule module() const { return module_; }

private:
  explicit CudaDevice(const DriverApi &driver) : driver_(driver) {}

  const DriverApi &driver_;
  std::string description_;
  int computeCapability_ = 0;
  int64_t maxSharedBytes_ = 0;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  CUstream stream_ = nullptr, copyStream_ = nullptr;
  CUmodule module_ = nullptr;
  std::vector<CUdeviceptr> allocations_;
  std::vector<void *> pinned_;
};

} // namespace simclr::runtime::cuda

#endif // SIMCLR_RUNTIME_BACKEND_CUDA_CUDADEVICE_H
