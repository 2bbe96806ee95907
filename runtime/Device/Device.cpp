//===- Device.cpp - CPU description and CUDA probing ----------------------===//
//
// CUDA is reached through dlopen of libcudart, so the runtime links no CUDA
// library. Only entry points whose C ABI is stable across CUDA versions are
// used: cudaGetDeviceCount, cudaGetErrorName/String and
// cudaDeviceGetAttribute from the runtime, and the driver's cuDeviceGetName
// and cuDeviceTotalMem for name and memory (cudaGetDeviceProperties is
// avoided: its struct layout changes between versions).
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/Device.h"

#include "Cuda/CudaLibrarySearch.h"

#include <dlfcn.h>

#include <array>
#include <cstdlib>
#include <string>
#include <fstream>
#include <thread>

namespace simclr {

namespace {

// CUDA runtime ABI (cuda_runtime_api.h): cudaError_t is an int-sized enum.
using CudaGetDeviceCountFn = int (*)(int *);
using CudaGetErrorTextFn = const char *(*)(int);
using CudaDeviceGetAttributeFn = int (*)(int *, int, int);
// CUDA driver ABI (cuda.h), for the device name and memory.
using CuInitFn = int (*)(unsigned);
using CuDeviceGetFn = int (*)(int *, int);
using CuDeviceGetNameFn = int (*)(char *, int, int);
using CuDeviceTotalMemFn = int (*)(size_t *, int);

// cudaDeviceAttr values from driver_types.h.
constexpr int kCudaAttrMultiProcessorCount = 16;
constexpr int kCudaAttrComputeCapabilityMajor = 75;
constexpr int kCudaAttrComputeCapabilityMinor = 76;
constexpr int kCudaSuccess = 0;
constexpr int kDeviceNameLength = 256;

/// The sonames tried in order, each where the CUDA backend looks for its
/// libraries (CudaLibrarySearch.h: $SIMCLR_CUDA_LIBRARY_PATH, the loader's
/// path, /usr/local/cuda/lib64): the runtime of CUDA 13, then of CUDA 12.
constexpr std::array<const char *, 2> kCudartNames = {"libcudart.so.13",
                                                      "libcudart.so.12"};

namespace librarySearch = runtime::cuda;

void *openCudart() {
  const char *searchPath = std::getenv(librarySearch::kLibraryPathVariable);
  for (const char *soname : kCudartNames)
    for (const std::string &candidate :
         librarySearch::cudaLibraryCandidates(soname, searchPath))
      if (void *handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL))
        return handle;
  return nullptr;
}

template <typename Fn> Fn symbol(void *handle, const char *name) {
  return reinterpret_cast<Fn>(dlsym(handle, name));
}

std::string cpuModelName() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  const std::string key = "model name";
  while (std::getline(cpuinfo, line)) {
    if (line.compare(0, key.size(), key) != 0)
      continue;
    size_t colon = line.find(':');
    if (colon != std::string::npos && colon + 2 <= line.size())
      return line.substr(colon + 2);
  }
  return "CPU";
}

} // namespace

std::string DeviceSpec::toString() const {
  if (kind == DeviceKind::kCpu)
    return "cpu";
  return "cuda:" + std::to_string(index);
}

Expected<DeviceSpec> parseDeviceSpec(const std::string &text) {
  if (text == "cpu")
    return DeviceSpec{DeviceKind::kCpu, 0};
  if (text == "cuda")
    return DeviceSpec{DeviceKind::kCuda, 0};
  const std::string prefix = "cuda:";
  if (text.compare(0, prefix.size(), prefix) == 0 && text.size() > prefix.size()) {
    std::string digits = text.substr(prefix.size());
    bool allDigits = digits.size() <= 4 &&
                     digits.find_first_not_of("0123456789") == std::string::npos;
    if (allDigits)
      return DeviceSpec{DeviceKind::kCuda, std::atoi(digits.c_str())};
  }
  return invalidArgument("unknown device '" + text +
                         "': expected 'cpu', 'cuda' or 'cuda:N'");
}

DeviceInfo cpuDevice() {
  DeviceInfo info;
  info.spec = DeviceSpec{DeviceKind::kCpu, 0};
  info.name = cpuModelName();
  info.computeUnits = std::max(1u, std::thread::hardware_concurrency());
  return info;
}

Expected<std::vector<DeviceInfo>> cudaDevices() {
  void *runtime = openCudart();
  if (!runtime)
    return unavailable(
        "CUDA unavailable: the CUDA runtime library (libcudart.so.13 or .12) "
        "was not found; looked in " +
        librarySearch::describeLibrarySearch(
            std::getenv(librarySearch::kLibraryPathVariable)));
  auto getCount = symbol<CudaGetDeviceCountFn>(runtime, "cudaGetDeviceCount");
  auto errorName = symbol<CudaGetErrorTextFn>(runtime, "cudaGetErrorName");
  auto errorString = symbol<CudaGetErrorTextFn>(runtime, "cudaGetErrorString");
  auto getAttribute = symbol<CudaDeviceGetAttributeFn>(runtime, "cudaDeviceGetAttribute");
  if (!getCount || !errorName || !errorString || !getAttribute)
    return unavailable("CUDA unavailable: libcudart lacks cudaGetDeviceCount");

  int count = 0;
  int error = getCount(&count);
  if (error != kCudaSuccess)
    // 35 (cudaErrorInsufficientDriver) on a machine with the toolkit but no
    // driver or GPU, 100 (cudaErrorNoDevice) with a driver but no GPU.
    return unavailable("CUDA unavailable: cudaGetDeviceCount returned " +
                       std::to_string(error) + " (" + errorName(error) + ": " +
                       errorString(error) + ")");
  if (count == 0)
    return unavailable("CUDA unavailable: no CUDA device found");

  // The driver library is present whenever cudaGetDeviceCount succeeded.
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  auto cuInit = driver ? symbol<CuInitFn>(driver, "cuInit") : nullptr;
  auto cuDeviceGet = driver ? symbol<CuDeviceGetFn>(driver, "cuDeviceGet") : nullptr;
  auto cuDeviceGetName = driver ? symbol<CuDeviceGetNameFn>(driver, "cuDeviceGetName") : nullptr;
  auto cuDeviceTotalMem = driver ? symbol<CuDeviceTotalMemFn>(driver, "cuDeviceTotalMem_v2") : nullptr;
  bool haveDriver = cuInit && cuDeviceGet && cuDeviceGetName && cuDeviceTotalMem &&
                    cuInit(0) == kCudaSuccess;

  std::vector<DeviceInfo> devices;
  for (int i = 0; i < count; ++i) {
    DeviceInfo info;
    info.spec = DeviceSpec{DeviceKind::kCuda, i};
    int major = 0, minor = 0, units = 0;
    getAttribute(&major, kCudaAttrComputeCapabilityMajor, i);
    getAttribute(&minor, kCudaAttrComputeCapabilityMinor, i);
    getAttribute(&units, kCudaAttrMultiProcessorCount, i);
    info.computeCapability = major * 10 + minor;
    info.computeUnits = units;
    info.name = "CUDA device " + std::to_string(i);
    int device = 0;
    if (haveDriver && cuDeviceGet(&device, i) == kCudaSuccess) {
      std::array<char, kDeviceNameLength> name{};
      if (cuDeviceGetName(name.data(), kDeviceNameLength, device) == kCudaSuccess)
        info.name = name.data();
      size_t bytes = 0;
      if (cuDeviceTotalMem(&bytes, device) == kCudaSuccess)
        info.memoryBytes = static_cast<int64_t>(bytes);
    }
    devices.push_back(std::move(info));
  }
  return devices;
}

Expected<DeviceInfo> findDevice(const DeviceSpec &spec) {
  if (spec.kind == DeviceKind::kCpu)
    return cpuDevice();
  Expected<std::vector<DeviceInfo>> devices = cudaDevices();
  if (!devices)
    return devices.takeStatus().withContext("device " + spec.toString());
  if (spec.index >= static_cast<int>(devices->size()))
    return notFound("device " + spec.toString() + " does not exist: this machine has " +
                    std::to_string(devices->size()) + " CUDA device(s)");
  return (*devices)[spec.index];
}

} // namespace simclr
