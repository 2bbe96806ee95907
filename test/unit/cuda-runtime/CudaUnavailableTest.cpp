//===- CudaUnavailableTest.cpp - A CUDA artifact where no GPU is ----------===//
//
// On a machine without a usable GPU (CI, the build machine) a CUDA artifact
// is refused by Artifact::load and by simclr-train with one line saying
// why; a CPU artifact asked to run on a CUDA device is refused naming its
// target. On a machine with a GPU the CUDA checks are
// scripts/device-check.sh's; here they are skipped.
//
//===----------------------------------------------------------------------===//
#include "../executor-runtime/TestArtifact.h"
#include "../executor-runtime/TestKernels.h"

#ifdef SIMCLR_HAVE_CUDA_BACKEND
#include "Cuda/CudaLibraries.h"
#endif

#include "simclr/Runtime/Device.h"
#include "simclr/Runtime/Executor.h"
#include "simclr/Support/FileIO.h"
#include "simclr/Support/Vocabulary.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sys/wait.h>

namespace simclr {
namespace {

struct ToolRun {
  int exitCode = -1;
  std::string output;
};

size_t lineCount(const std::string &text) {
  size_t lines = 0;
  for (char c : text)
    lines += c == '\n';
  return lines;
}

/// A CUDA artifact directory: one kernel entry with a launch, a
/// stand-in kernels.cubin (an ELF header and nothing else) with its
/// checksum, and a train_step program with views and step inputs.
std::string writeCudaArtifact() {
  test::PlanBuilder b;
  int64_t w = b.buffer("w", DType::kF32, {4}, artifact::BufferRegion::kState);
  b.state("w", w, "ones");
  int64_t views = b.buffer("%views", DType::kF32, {4, 1, 4, 4},
                           artifact::BufferRegion::kInput);
  int64_t step =
      b.buffer("%step", DType::kI64, {}, artifact::BufferRegion::kInput);
  int64_t loss =
      b.buffer("%loss", DType::kF32, {}, artifact::BufferRegion::kArena);
  int64_t lr = b.buffer("%lr", DType::kF32, {}, artifact::BufferRegion::kArena);
  artifact::Program &train = b.program(program_name::kTrainStep);
  train.inputs = {{binding_role::kViews, views}, {binding_role::kStep, step}};
  train.outputs = {{binding_role::kLoss, loss},
                   {binding_role::kLearningRate, lr}};
  artifact::ScheduleEntry entry =
      test::kernelEntry("train_step_kernel", {views, step, w, w, loss, lr}, 3);
  entry.attrs[launch_attr::kLaunches] = int64_t{1};
  entry.attrs[launchAttributeName(0, launch_attr::kFunction)] =
      std::string("train_step_kernel_0");
  entry.attrs[launchAttributeName(0, launch_attr::kGrid)] =
      std::vector<int64_t>{1, 1, 1};
  entry.attrs[launchAttributeName(0, launch_attr::kBlock)] =
      std::vector<int64_t>{32, 1, 1};
  entry.attrs[launchAttributeName(0, launch_attr::kSharedBytes)] = int64_t{0};
  train.schedule.push_back(entry);
  artifact::Plan plan = b.finish();

  Expected<std::string> dir =
      makeTempDirectory(test::testTmpDir(), "cuda-artifact-");
  EXPECT_TRUE(dir) << dir.status().message();
  if (!dir)
    return "";
  const std::vector<uint8_t> cubin = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  EXPECT_TRUE(writeFileAtomically(*dir + "/kernels.cubin", cubin).isOk());
  plan.library.file = "kernels.cubin";
  plan.library.sha256 = artifact::sha256Hex(cubin.data(), cubin.size());
  plan.library.fingerprint = "0123456789abcdef";
  plan.library.target = std::string(targetKindName(TargetKind::kCuda));
  plan.library.architecture = kDefaultCudaArchitecture;
  Status written = artifact::writePlanFile(plan, *dir + "/plan.json");
  EXPECT_TRUE(written.isOk()) << written.message();
  return *dir;
}

#ifdef SIMCLR_HAVE_CUDA_BACKEND

/// Whether this machine runs CUDA, by the backend's own probe (then the
/// no-GPU checks do not apply).
bool haveGpu() { return static_cast<bool>(runtime::cuda::cudaDriver()); }

TEST(CudaUnavailable, ArtifactLoadSaysWhyInOneLine) {
  if (haveGpu())
    GTEST_SKIP() << "a CUDA device is present: scripts/device-check.sh runs "
                    "the CUDA artifact tests";
  std::string dir = writeCudaArtifact();
  Expected<std::shared_ptr<const runtime::Artifact>> artifact =
      runtime::Artifact::load(dir);
  ASSERT_FALSE(artifact);
  const Status &status = artifact.status();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  const std::string &message = status.message();
  EXPECT_EQ(message.rfind(dir + "/plan.json: CUDA unavailable: ", 0), 0u)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  // The driver probe's own line, with the plan's path in front.
  EXPECT_EQ(message, dir + "/plan.json: " +
                         runtime::cuda::cudaDriver().status().message());
  // Either the driver library is missing (named with where it was looked
  // for) or cuInit / the device count said no (with the error's number).
  bool noLibrary = message.find("libcuda.so.1 (the CUDA driver) was not "
                                "found; looked in SIMCLR_CUDA_LIBRARY_PATH") !=
                   std::string::npos;
  bool cuInitFailed = message.find("cuInit returned ") != std::string::npos;
  bool noDevice = message.find("reports no CUDA device") != std::string::npos;
  EXPECT_TRUE(noLibrary || cuInitFailed || noDevice) << message;
}

/// Runs simclr-train on `dir` with `environment` (VAR=value ...) in front.
ToolRun runTrain(const std::string &dir, const std::string &environment = "") {
  ToolRun run;
  std::string command = environment + " " + SIMCLR_TRAIN_TOOL + " " + dir +
                        " --out " + dir + "/run --data " + dir + " 2>&1";
  std::FILE *pipe = ::popen(command.c_str(), "r");
  if (!pipe)
    return run;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;)
    run.output.append(buffer, n);
  int status = ::pclose(pipe);
  if (WIFEXITED(status))
    run.exitCode = WEXITSTATUS(status);
  return run;
}

TEST(CudaUnavailable, SimclrTrainExitsOneWithOneLine) {
  if (haveGpu())
    GTEST_SKIP() << "a CUDA device is present";
  std::string dir = writeCudaArtifact();
  ToolRun run = runTrain(dir);
  EXPECT_EQ(run.exitCode, 1) << run.output;
  EXPECT_EQ(lineCount(run.output), 1u) << run.output;
  EXPECT_EQ(run.output.rfind("simclr-train: error: " + dir +
                                 "/plan.json: CUDA unavailable: ",
                             0),
            0u)
      << run.output;
}

/// The toolkit's link stub of the driver: a libcuda whose cuInit always
/// fails (34), as the real driver fails on a machine without a GPU.
constexpr char kDriverStub[] = "/usr/local/cuda/lib64/stubs/libcuda.so";

TEST(CudaUnavailable, ACuInitFailureIsNamedWithItsNumber) {
  if (haveGpu())
    GTEST_SKIP() << "a CUDA device is present";
  if (!std::filesystem::exists(kDriverStub))
    GTEST_SKIP() << kDriverStub << " is not installed";
  std::string dir = writeCudaArtifact();
  // SIMCLR_CUDA_LIBRARY_PATH is searched first: the stub, as libcuda.so.1.
  std::filesystem::create_directories(dir + "/driver");
  std::filesystem::create_symlink(kDriverStub, dir + "/driver/libcuda.so.1");
  ToolRun run = runTrain(dir, "SIMCLR_CUDA_LIBRARY_PATH=" + dir + "/driver");
  EXPECT_EQ(run.exitCode, 1) << run.output;
  EXPECT_EQ(run.output,
            "simclr-train: error: " + dir +
                "/plan.json: CUDA unavailable: cuInit returned 34 "
                "(CUDA_ERROR_STUB_LIBRARY: the toolkit's link stub, not a "
                "driver) from " +
                dir + "/driver/libcuda.so.1\n");
}

#endif // SIMCLR_HAVE_CUDA_BACKEND

TEST(CudaUnavailable, CpuArtifactOnACudaDeviceIsRefusedNamingItsTarget) {
  test::PlanBuilder b;
  int64_t x = b.buffer("x", DType::kF32, {4}, artifact::BufferRegion::kState);
  b.state("x", x, "ones");
  b.program(program_name::kEncode);
  std::string dir = test::writeArtifact(b.finish());
  Expected<std::shared_ptr<const runtime::Artifact>> artifact =
      runtime::Artifact::load(dir);
  ASSERT_TRUE(artifact) << artifact.status().message();
  runtime::ExecutorOptions options;
  options.device = DeviceSpec{DeviceKind::kCuda, 1};
  Expected<std::unique_ptr<runtime::Executor>> executor =
      runtime::Executor::create(*artifact, options);
  ASSERT_FALSE(executor);
  EXPECT_EQ(executor.status().message(),
            dir + "/plan.json: the artifact is compiled for target 'cpu', "
                  "which does not run on cuda:1; compile the spec for that "
                  "device (simclrc --target)");
  options.device = DeviceSpec{DeviceKind::kCpu, 0};
  executor = runtime::Executor::create(*artifact, options);
  EXPECT_TRUE(executor) << executor.status().message();
}

#ifdef SIMCLR_TRAIN_STEP_BENCH

/// Runs `command` (stderr joined to stdout).
ToolRun runCommand(const std::string &command) {
  ToolRun run;
  std::FILE *pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe)
    return run;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;)
    run.output.append(buffer, n);
  int status = ::pclose(pipe);
  if (WIFEXITED(status))
    run.exitCode = WEXITSTATUS(status);
  return run;
}

TEST(CudaUnavailable, ToolsRefuseACpuArtifactOnACudaDevice) {
  // The executor tests' train step: views 2 x 2 x 1 x 4 x 4, one parameter
  // tensor (TestKernels.h).
  test::PlanBuilder b;
  int64_t param = b.buffer("w", DType::kF32, {testkernels::kParamCount},
                           artifact::BufferRegion::kState);
  b.state("w", param, "ones");
  int64_t views = b.buffer("%views", DType::kF32, {4, 1, 4, 4},
                           artifact::BufferRegion::kInput);
  int64_t step =
      b.buffer("%step", DType::kI64, {}, artifact::BufferRegion::kInput);
  int64_t loss =
      b.buffer("%loss", DType::kF32, {}, artifact::BufferRegion::kArena);
  int64_t lr = b.buffer("%lr", DType::kF32, {}, artifact::BufferRegion::kArena);
  artifact::Program &train = b.program(program_name::kTrainStep);
  train.inputs = {{binding_role::kViews, views}, {binding_role::kStep, step}};
  train.outputs = {{binding_role::kLoss, loss},
                   {binding_role::kLearningRate, lr}};
  train.schedule.push_back(test::kernelEntry(
      "simclr_test_train_step", {views, step, param, param, loss, lr}, 3));
  std::string dir = test::writeArtifact(b.finish());

  std::string bench = std::string(SIMCLR_TRAIN_STEP_BENCH) + " " + dir +
                      " --steps 1 --warmup 0 --threads 1";
  ToolRun cuda = runCommand(bench + " --device cuda");
  EXPECT_EQ(cuda.exitCode, 1) << cuda.output;
  EXPECT_EQ(cuda.output,
            "simclr-train-step-bench: error: " + dir +
                "/plan.json: the artifact is compiled for target 'cpu', which "
                "does not run on cuda:0; compile the spec for that device "
                "(simclrc --target)\n");
  ToolRun cpu = runCommand(bench + " --device cpu");
  EXPECT_EQ(cpu.exitCode, 0) << cpu.output;
  ToolRun bad = runCommand(bench + " --device gpu:1");
  EXPECT_EQ(bad.exitCode, 2) << bad.output;
  EXPECT_NE(bad.output.find("unknown device 'gpu:1'"), std::string::npos)
      << bad.output;
}

#endif // SIMCLR_TRAIN_STEP_BENCH

} // namespace
} // namespace simclr
