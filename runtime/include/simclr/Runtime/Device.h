//===- Device.h - Which devices this machine can train on --------*- C++ -*-===//
//
// The runtime always has the CPU. CUDA is optional and probed at run time
// through the CUDA runtime library (dlopen), so one runtime binary works on
// machines with and without a GPU or driver: a machine without one gets a
// Status that says why (no library, no driver, cudaGetDeviceCount's error),
// never a crash.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_DEVICE_H
#define SIMCLR_RUNTIME_DEVICE_H

#include "simclr/Support/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace simclr {

enum class DeviceKind { kCpu, kCuda };

/// A device as the user names it with --device: "cpu", "cuda" (= cuda:0) or
/// "cuda:N".
struct DeviceSpec {
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;
  std::string toString() const;
};

/// Parses a --device value; errors name the value and the accepted forms.
Expected<DeviceSpec> parseDeviceSpec(const std::string &text);

/// A device found on this machine.
struct DeviceInfo {
  DeviceSpec spec;
  std::string name;
  /// CPU: hardware threads; CUDA: multiprocessors.
  int64_t computeUnits = 0;
  /// CUDA: global memory; CPU: 0 (not probed).
  int64_t memoryBytes = 0;
  /// CUDA: compute capability as major * 10 + minor (90 for Hopper).
  int computeCapability = 0;
};

/// The CPU's description (model name from /proc/cpuinfo where available).
DeviceInfo cpuDevice();

/// The CUDA devices, or kUnavailable explaining why there are none, e.g.
/// "CUDA unavailable: cudaGetDeviceCount returned 35
/// (cudaErrorInsufficientDriver: CUDA driver version is insufficient for
/// CUDA runtime version)".
Expected<std::vector<DeviceInfo>> cudaDevices();

/// Checks that `spec` exists on this machine; the error says what exists.
Expected<DeviceInfo> findDevice(const DeviceSpec &spec);

} // namespace simclr

#endif // SIMCLR_RUNTIME_DEVICE_H
