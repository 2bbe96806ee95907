//===- CudaDevice.cpp - One GPU: context, streams, memory, the module -----===//
#include "Cuda/CudaDevice.h"

#include <array>

namespace simclr::runtime::cuda {
namespace {

constexpr int kDeviceNameLength = 256;

} // namespace

Expected<std::unique_ptr<CudaDevice>> CudaDevice::open(const DriverApi &driver,
                                                       int ordinal) {
  int count = 0;
  SIMCLR_CU_CHECK(driver, cuDeviceGetCount(&count));
  if (ordinal < 0 || ordinal >= count)
    return notFound("device cuda:" + std::to_string(ordinal) +
                    " does not exist: this machine has " +
                    std::to_string(count) + " CUDA device(s)");
  std::unique_ptr<CudaDevice> device(new CudaDevice(driver));
  SIMCLR_CU_CHECK(driver, cuDeviceGet(&device->device_, ordinal));
  std::array<char, kDeviceNameLength> name{};
  SIMCLR_CU_CHECK(
      driver, cuDeviceGetName(name.data(), kDeviceNameLength, device->device_));
  int major = 0, minor = 0, shared = 0;
  SIMCLR_CU_CHECK(
      driver,
      cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                           device->device_));
  SIMCLR_CU_CHECK(
      driver,
      cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                           device->device_));
  SIMCLR_CU_CHECK(driver,
                  cuDeviceGetAttribute(
                      &shared,
                      CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                      device->device_));
  device->computeCapability_ = major * 10 + minor;
  device->maxSharedBytes_ = shared;
  device->description_ = "cuda:" + std::to_string(ordinal) + " (" +
                         name.data() + ", sm_" +
                         std::to_string(device->computeCapability_) + ")";
  SIMCLR_CU_CHECK(driver,
                  cuDevicePrimaryCtxRetain(&device->context_, device->device_));
  SIMCLR_RETURN_IF_ERROR(device->makeCurrent());
  // Non-blocking: neither stream synchronizes with the legacy default
  // stream that other code in the process might use.
  SIMCLR_CU_CHECK(driver,
                  cuStreamCreate(&device->stream_, CU_STREAM_NON_BLOCKING));
  SIMCLR_CU_CHECK(driver,
                  cuStreamCreate(&device->copyStream_, CU_STREAM_NON_BLOCKING));
  return device;
}

CudaDevice::~CudaDevice() {
  if (!context_)
    return;
  // Errors here cannot be reported; the context goes away with its
  // resources when the last user releases it.
  driver_.cuCtxSetCurrent(context_);
  if (stream_)
    driver_.cuStreamSynchronize(stream_);
  if (copyStream_)
    driver_.cuStreamSynchronize(copyStream_);
  if (module_)
    driver_.cuModuleUnload(module_);
  for (CUdeviceptr allocation : allocations_)
    driver_.cuMemFree(allocation);
  for (void *host : pinned_)
    driver_.cuMemFreeHost(host);
  if (stream_)
    driver_.cuStreamDestroy(stream_);
  if (copyStream_)
    driver_.cuStreamDestroy(copyStream_);
  driver_.cuDevicePrimaryCtxRelease(device_);
}

Status CudaDevice::makeCurrent() const {
  SIMCLR_CU_CHECK(driver_, cuCtxSetCurrent(context_));
  return Status::ok();
}

Expected<CUdeviceptr> CudaDevice::allocate(size_t bytes,
                                           const std::string &what) {
  SIMCLR_RETURN_IF_ERROR(makeCurrent());
  CUdeviceptr pointer = 0;
  size_t size = bytes ? bytes : 1;
  CUresult result = driver_.cuMemAlloc(&pointer, size);
  if (result != CUDA_SUCCESS)
    return driverError(driver_, result, "cuMemAlloc")
        .withContext("cannot allocate the " + what + " (" +
                     std::to_string(bytes) + " bytes) on " + description_);
  allocations_.push_back(pointer);
  SIMCLR_CU_CHECK(driver_, cuMemsetD8(pointer, 0, size));
  return pointer;
}

Expected<void *> CudaDevice::allocatePinned(size_t bytes,
                                            const std::string &what) {
  SIMCLR_RETURN_IF_ERROR(makeCurrent());
  void *host = nullptr;
  CUresult result = driver_.cuMemHostAlloc(&host, bytes ? bytes : 1, 0);
  if (result != CUDA_SUCCESS)
    return driverError(driver_, result, "cuMemHostAlloc")
        .withContext("cannot allocate " + std::to_string(bytes) +
                     " bytes of pinned host memory for the " + what);
  pinned_.push_back(host);
  return host;
}

Status CudaDevice::loadModule(const std::vector<char> &image,
                              const std::string &path) {
  SIMCLR_RETURN_IF_ERROR(makeCurrent());
  CUresult result =
      driver_.cuModuleLoadDataEx(&module_, image.data(), 0, nullptr, nullptr);
  if (result == CUDA_ERROR_NO_BINARY_FOR_GPU ||
      result == CUDA_ERROR_INVALID_IMAGE)
    return unavailable(path + ": the kernel library holds no code " +
                       description_ +
                       " can run; recompile the spec with simclrc "
                       "--target=cuda --cuda-arch=sm_" +
                       std::to_string(computeCapability_));
  if (result != CUDA_SUCCESS)
    return driverError(driver_, result, "cuModuleLoadDataEx").withContext(path);
  return Status::ok();
}

} // namespace simclr::runtime::cuda
