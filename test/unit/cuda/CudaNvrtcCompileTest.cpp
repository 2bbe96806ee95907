//===- CudaNvrtcCompileTest.cpp - The CUDA templates compile under NVRTC --===//
//
// Compiles InstantiateAll.cu (every template of CudaKernels.cuh in a
// __global__ kernel, as generated code calls them) with NVRTC for sm_90,
// with the options of the CUDA emitter, so that a template NVRTC rejects
// fails the suite on a machine without a GPU. Built only where CMake finds
// the CUDA toolkit.
//
//===----------------------------------------------------------------------===//
#include <nvrtc.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string readFile(const char *path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(CudaNvrtcCompile, EveryTemplateCompilesForSm90) {
  const std::string source = readFile(SIMCLR_CUDA_INSTANTIATE_ALL);
  ASSERT_FALSE(source.empty()) << "cannot read " SIMCLR_CUDA_INSTANTIATE_ALL;
  nvrtcProgram program;
  ASSERT_EQ(nvrtcCreateProgram(&program, source.c_str(), "InstantiateAll.cu", 0,
                               nullptr, nullptr),
            NVRTC_SUCCESS);
  const std::string include = std::string("-I") + SIMCLR_KERNELS_INCLUDE_DIR;
  const std::vector<const char *> options = {"--gpu-architecture=sm_90",
                                             "-std=c++17", include.c_str()};
  const nvrtcResult result = nvrtcCompileProgram(
      program, static_cast<int>(options.size()), options.data());
  size_t logSize = 0;
  nvrtcGetProgramLogSize(program, &logSize);
  std::string log(logSize, '\0');
  nvrtcGetProgramLog(program, log.data());
  EXPECT_EQ(result, NVRTC_SUCCESS) << log;
  // Warnings are errors too: the generated code must compile cleanly.
  EXPECT_EQ(log.find("warning"), std::string::npos) << log;
  size_t cubinSize = 0;
  if (result == NVRTC_SUCCESS) {
    ASSERT_EQ(nvrtcGetCUBINSize(program, &cubinSize), NVRTC_SUCCESS);
    EXPECT_GT(cubinSize, 0u);
  }
  nvrtcDestroyProgram(&program);
}

} // namespace
