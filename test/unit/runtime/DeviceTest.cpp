//===- DeviceTest.cpp - Tests of device parsing and discovery -------------===//
#include "simclr/Runtime/Device.h"

#include <gtest/gtest.h>

namespace simclr {
namespace {

TEST(DeviceTest, ParsesDeviceNames) {
  Expected<DeviceSpec> cpu = parseDeviceSpec("cpu");
  ASSERT_TRUE(cpu.hasValue());
  EXPECT_EQ(cpu->kind, DeviceKind::kCpu);
  Expected<DeviceSpec> cuda = parseDeviceSpec("cuda");
  ASSERT_TRUE(cuda.hasValue());
  EXPECT_EQ(cuda->toString(), "cuda:0");
  Expected<DeviceSpec> second = parseDeviceSpec("cuda:3");
  ASSERT_TRUE(second.hasValue());
  EXPECT_EQ(second->index, 3);
}

TEST(DeviceTest, RejectsMalformedNames) {
  for (const char *bad : {"", "gpu", "cuda:", "cuda:-1", "cuda:x", "CPU", "cuda:99999"}) {
    Expected<DeviceSpec> spec = parseDeviceSpec(bad);
    ASSERT_FALSE(spec.hasValue()) << bad;
    EXPECT_EQ(spec.status().message(), std::string("unknown device '") + bad +
                                           "': expected 'cpu', 'cuda' or 'cuda:N'");
  }
}

TEST(DeviceTest, CpuAlwaysExists) {
  DeviceInfo cpu = cpuDevice();
  EXPECT_GE(cpu.computeUnits, 1);
  EXPECT_FALSE(cpu.name.empty());
  EXPECT_TRUE(findDevice(DeviceSpec{DeviceKind::kCpu, 0}).hasValue());
}

// On machines without a GPU (CI) the probe must explain itself, not crash;
// with one, every device reports a compute capability.
TEST(DeviceTest, CudaProbeExplainsItsAnswer) {
  Expected<std::vector<DeviceInfo>> devices = cudaDevices();
  if (devices.hasValue()) {
    ASSERT_FALSE(devices->empty());
    for (const DeviceInfo &device : *devices)
      EXPECT_GT(device.computeCapability, 0) << device.name;
    return;
  }
  EXPECT_EQ(devices.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(devices.status().message().rfind("CUDA unavailable: ", 0), 0u)
      << devices.status().message();
  Expected<DeviceInfo> missing = findDevice(DeviceSpec{DeviceKind::kCuda, 0});
  ASSERT_FALSE(missing.hasValue());
  EXPECT_EQ(missing.status().message().rfind("device cuda:0: CUDA unavailable: ", 0), 0u)
      << missing.status().message();
}

} // namespace
} // namespace simclr
