//===- SyncBatchNormEmitTest.cpp - Synchronized BN kernels, described and printed -===//
//
// Kernel-level IR of one kernel anchored on each synchronized batch-norm op
// (SimclrDataParallelOps.td), as simclr-data-parallel forms them, runs
// through simclr-describe-kernels and both emitters (no tool prints C++
// from kernel-level IR, hence a unit test rather than a lit test). Checked:
// the description (access, results, workspace bytes of Scratch.h), the
// template call each emitter prints, and that the CPU translation unit
// compiles against the templates (argument order and types), with the
// host compiler the CPU target uses.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Dialect/Kernel/Transforms/Passes.h"
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Kernels/Scratch.h"
#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/Vocabulary.h"
#include "simclr/Target/Cpu/CpuTarget.h"
#include "simclr/Target/Cuda/CudaTarget.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using namespace mlir;

// T = tensor<2x16x3x3xf32>, V = tensor<16xf32>, S = tensor<3x16xf64>.
constexpr const char *kKernels = R"mlir(
simclr_kernel.kernel @k_stats kind "anchored" {
^bb0(%x: tensor<2x16x3x3xf32>, %z: tensor<2x16x3x3xf32>):
  %s = simclr.add %x, %z : tensor<2x16x3x3xf32>
  %st = simclr.batch_norm_statistics %s : tensor<2x16x3x3xf32> -> tensor<3x16xf64>
  simclr_kernel.yield %st : tensor<3x16xf64>
}
simclr_kernel.kernel @k_apply kind "anchored" {
^bb0(%x: tensor<2x16x3x3xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>, %st: tensor<3x16xf64>):
  %y, %m, %v = simclr.batch_norm_apply %x, %g, %b, %st {epsilon = 1.0e-05 : f64}
      : (tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>)
      -> (tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>)
  %r = simclr.relu %y : tensor<2x16x3x3xf32>
  simclr_kernel.yield %r, %m, %v : tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>
}
simclr_kernel.kernel @k_running kind "anchored" {
^bb0(%rm: tensor<16xf32>, %rv: tensor<16xf32>, %st: tensor<3x16xf64>):
  %m, %v = simclr.running_stats_from_sums %rm, %rv, %st {momentum = 1.0e-01 : f64}
      : (tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>) -> (tensor<16xf32>, tensor<16xf32>)
  simclr_kernel.yield %m, %v : tensor<16xf32>, tensor<16xf32>
}
simclr_kernel.kernel @k_bstats kind "anchored" {
^bb0(%gy: tensor<2x16x3x3xf32>, %y: tensor<2x16x3x3xf32>, %x: tensor<2x16x3x3xf32>, %m: tensor<16xf32>, %v: tensor<16xf32>):
  %dy = simclr.relu_backward %gy, %y : tensor<2x16x3x3xf32>
  %gs = simclr.batch_norm_backward_statistics %dy, %x, %m, %v {epsilon = 1.0e-05 : f64}
      : (tensor<2x16x3x3xf32>, tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<3x16xf64>
  simclr_kernel.yield %gs : tensor<3x16xf64>
}
simclr_kernel.kernel @k_bapply kind "anchored" {
^bb0(%gy: tensor<2x16x3x3xf32>, %y: tensor<2x16x3x3xf32>, %x: tensor<2x16x3x3xf32>, %g: tensor<16xf32>, %m: tensor<16xf32>, %v: tensor<16xf32>, %gs: tensor<3x16xf64>):
  %dy = simclr.relu_backward %gy, %y : tensor<2x16x3x3xf32>
  %dx, %dg, %db = simclr.batch_norm_backward_apply %dy, %x, %g, %m, %v, %gs {epsilon = 1.0e-05 : f64}
      : (tensor<2x16x3x3xf32>, tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>)
      -> (tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>)
  simclr_kernel.yield %dx, %dg, %db : tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>
}
)mlir";

class SyncBatchNormEmitTest : public ::testing::Test {
protected:
  void SetUp() override {
    context.loadDialect<mlir::simclr::SimclrDialect, mlir::simclr_kernel::KernelDialect,
                        func::FuncDialect>();
    module = parseSourceString<ModuleOp>(kKernels, &context);
    ASSERT_TRUE(module) << "the kernels do not parse or verify";
    PassManager pm(&context);
    pm.addPass(simclr_kernel::createSimclrDescribeKernels());
    ASSERT_TRUE(succeeded(pm.run(*module)));
  }

  simclr_kernel::KernelOp kernel(StringRef name) {
    return module->lookupSymbol<simclr_kernel::KernelOp>(name);
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
};

TEST_F(SyncBatchNormEmitTest, DescriptionsPlanScratchH) {
  // n = 2, c = 16, hw = 9: one row block of partial sums.
  const int64_t sums = ::simclr::kernels::channelSumsScratchBytes(2, 16, 9);
  const int64_t coefficients = ::simclr::kernels::channelCoefficientsScratchBytes(16);
  EXPECT_EQ(sums, 256);
  EXPECT_EQ(coefficients, 192);
  struct Expected {
    const char *name;
    std::vector<int64_t> results, scratch;
  };
  for (const Expected &e :
       {Expected{"k_stats", {2}, {sums}}, Expected{"k_apply", {4, 5, 6}, {coefficients}},
        Expected{"k_running", {3, 4}, {}}, Expected{"k_bstats", {5}, {sums}},
        Expected{"k_bapply", {7, 8, 9}, {coefficients}}}) {
    SCOPED_TRACE(e.name);
    simclr_kernel::KernelOp k = kernel(e.name);
    ASSERT_TRUE(k);
    ASSERT_TRUE(k.isDescribed());
    EXPECT_EQ(std::vector<int64_t>(k.getResults()->begin(), k.getResults()->end()), e.results);
    EXPECT_EQ(std::vector<int64_t>(k.getScratch()->begin(), k.getScratch()->end()), e.scratch);
  }
}

TEST_F(SyncBatchNormEmitTest, BothEmittersCallTheTemplates) {
  FailureOr<simclr_kernel::KernelSource> cpu = simclr_kernel::emitCpuKernels(*module);
  ASSERT_TRUE(succeeded(cpu));
  FailureOr<simclr_kernel::KernelSource> cuda = simclr_kernel::emitCudaKernels(*module);
  ASSERT_TRUE(succeeded(cuda));
  for (const char *call :
       {"batchNormStatistics<1>(", "batchNormApply<1>(", "runningStatsFromSums(",
        "batchNormBackwardStatistics<1>(", "batchNormBackwardApply<1>("}) {
    EXPECT_NE(cpu->text.find(std::string("simclr::cpu::") + call), std::string::npos)
        << call << " in\n" << cpu->text;
    EXPECT_NE(cuda->text.find(std::string("simclr::cuda::") + call + "phase, "),
              std::string::npos)
        << call << " in\n" << cuda->text;
  }
  // The statistics buffers are doubles on both sides of the collective.
  EXPECT_NE(cpu->text.find("double *o0 = static_cast<double *>(operands[2]);"),
            std::string::npos);
  EXPECT_NE(cpu->text.find("const double *a3 = static_cast<const double *>(operands[3]);"),
            std::string::npos);
  // Two launches per template: statistics (partials, combine), apply
  // (coefficients, elements); one for the running statistics.
  for (auto [name, launches] : {std::pair<const char *, int64_t>{"k_stats", 2},
                                {"k_apply", 2},
                                {"k_running", 1},
                                {"k_bstats", 2},
                                {"k_bapply", 2}}) {
    auto entry = cuda->entryAttributes.find(name);
    ASSERT_NE(entry, cuda->entryAttributes.end()) << name;
    auto count = entry->second.find(::simclr::launch_attr::kLaunches);
    ASSERT_NE(count, entry->second.end()) << name;
    EXPECT_EQ(count->second, ::simclr::artifact::AttrValue(launches)) << name;
  }
}

TEST_F(SyncBatchNormEmitTest, CpuSourceCompilesAgainstTheTemplates) {
  FailureOr<simclr_kernel::KernelSource> cpu = simclr_kernel::emitCpuKernels(*module);
  ASSERT_TRUE(succeeded(cpu));
  const char *tmp = std::getenv("SIMCLR_TEST_TMPDIR");
  std::string path = std::string(tmp ? tmp : "/tmp") + "/sync-bn-kernels-" +
                     std::to_string(getpid()) + ".cpp";
  {
    std::ofstream file(path);
    file << cpu->text;
  }
  std::string command = "c++ -std=c++17 -fopenmp -fsyntax-only -I" SIMCLR_KERNEL_INCLUDE_DIR
                        " " + path;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::remove(path.c_str());
}

} // namespace
