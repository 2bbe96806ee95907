//===- CompiledStepTest.cpp - The compiled train step end to end ----------===//
//
// Compiles the small ResNet of the PyTorch golden files
// (scripts/make_pytorch_goldens.py) through simclrc's whole pipeline
// (autodiff, fusion, kernel level, memory plan, C++ emitter, host compiler)
// into an artifact, runs two steps of each optimizer with the runtime's
// Executor (no MLIR) and compares loss, parameters and optimizer state with
// PyTorch. Tolerance: 1e-4 relative L2 norm, as the reference executor's
// GoldenTest (PyTorch's own float32-vs-float64 spread is <= 1.6e-5). The
// unfused artifact must agree with the fused one to float32 rounding.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Frontend/GraphBuilder.h"
#include "../common/GoldenSpec.h"
#include "CompileArtifact.h"
#include "simclr/Runtime/Executor.h"
#include "simclr/Support/Safetensors.h"
#include "simclr/Target/Artifact.h"
#include "simclr/Target/Pipeline.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

namespace mlir::simclr {
namespace {

using ::simclr::DType;
using ::simclr::SafetensorsReader;
namespace frontend = ::simclr::frontend;
namespace runtime = ::simclr::runtime;

constexpr double kGoldenTolerance = 1e-4;
using ::simclr::testing::goldenSpec;

using ::simclr::testing::scratchDirectory;

class CompiledStepTest : public ::testing::TestWithParam<const char *> {
protected:
  CompiledStepTest() {
    context.loadDialect<SimclrDialect, func::FuncDialect, memref::MemRefDialect,
                        simclr_kernel::KernelDialect>();
  }

  void SetUp() override {
    std::string path = std::string(SIMCLR_SOURCE_DIR) + "/test/golden/" + GetParam();
    auto opened = SafetensorsReader::open(path);
    ASSERT_TRUE(opened.hasValue()) << opened.status().message();
    golden = std::make_unique<SafetensorsReader>(std::move(*opened));
    temperature = std::string(GetParam()).find("tau0.05") != std::string::npos ? 0.05 : 0.5;
  }

  std::vector<float> load(const std::string &name) {
    const ::simclr::TensorInfo *info = golden->find(name);
    EXPECT_TRUE(info) << "golden file lacks '" << name << "'";
    if (!info)
      return {};
    int64_t count = 1;
    for (int64_t d : info->shape)
      count *= d;
    std::vector<float> values(count);
    ::simclr::Status status = golden->read(name, DType::kF32, info->shape, values.data(),
                                           values.size() * sizeof(float));
    EXPECT_TRUE(status.isOk()) << status.message();
    return values;
  }

  static double relativeError(const float *actual, const std::vector<float> &expected) {
    double diff = 0, norm = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      if (!std::isfinite(actual[i]))
        return INFINITY;
      diff += std::pow(double(actual[i]) - expected[i], 2);
      norm += double(expected[i]) * expected[i];
    }
    return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
  }

  /// Compiles `spec` into an artifact directory and loads it.
  std::shared_ptr<const runtime::Artifact> compile(const frontend::TrainingSpec &spec,
                                                   bool fused, const std::string &dir) {
    return ::simclr::testing::compileArtifact(context, spec, fused, dir);
  }

  /// Parameters and running statistics from the golden file; optimizer
  /// state zero (PyTorch's initial state).
  void setGoldenState(runtime::Executor &executor) {
    for (runtime::StateTensorView view : executor.stateTensors()) {
      if (view.tensor->kind == ::simclr::value_kind::kOptimizerState) {
        std::memset(view.data, 0, view.buffer->bytes);
        continue;
      }
      std::vector<float> values = load(view.tensor->name);
      ASSERT_EQ(values.size() * sizeof(float), size_t(view.buffer->bytes))
          << view.tensor->name;
      std::memcpy(view.data, values.data(), view.buffer->bytes);
    }
  }

  MLIRContext context;
  std::unique_ptr<SafetensorsReader> golden;
  double temperature = 0.5;
};

TEST_P(CompiledStepTest, TwoStepsOfEachOptimizerMatchPyTorch) {
  struct Case {
    frontend::OptimizerKind kind;
    const char *prefix;
  };
  for (Case c : {Case{frontend::OptimizerKind::kSgd, "sgd"},
                 Case{frontend::OptimizerKind::kAdamW, "adamw"},
                 Case{frontend::OptimizerKind::kLars, "lars"}}) {
    SCOPED_TRACE(c.prefix);
    auto artifact = compile(goldenSpec(temperature, c.kind), /*fused=*/true,
                            scratchDirectory(c.prefix));
    ASSERT_TRUE(artifact);
    auto executor = runtime::Executor::create(artifact, {/*threads=*/2});
    ASSERT_TRUE(executor.hasValue()) << executor.status().message();
    setGoldenState(**executor);
    std::vector<float> views = load("views");
    for (int64_t step = 0; step < 2; ++step) {
      std::string prefix = std::string(c.prefix) + ".step" + std::to_string(step + 1) + ".";
      ASSERT_TRUE((*executor)->trainStep(views, step).isOk());
      float loss = (*executor)->lastLoss();
      EXPECT_LT(relativeError(&loss, load(prefix + "loss")), kGoldenTolerance) << prefix;
      for (runtime::StateTensorView view : (*executor)->stateTensors()) {
        std::string name;
        if (view.tensor->kind == "parameter")
          name = prefix + view.tensor->name;
        else if (view.tensor->kind == "optimizer_state")
          name = prefix + "state." + view.tensor->name;
        else
          continue;
        EXPECT_LT(relativeError(static_cast<const float *>(view.data), load(name)),
                  kGoldenTolerance)
            << name;
      }
    }
  }
}

TEST_P(CompiledStepTest, FusedAndUnfusedArtifactsAgree) {
  frontend::TrainingSpec spec = goldenSpec(temperature, frontend::OptimizerKind::kAdamW);
  auto fused = compile(spec, /*fused=*/true, scratchDirectory("fused"));
  auto unfused = compile(spec, /*fused=*/false, scratchDirectory("unfused"));
  ASSERT_TRUE(fused && unfused);
  // Fusion must cut the number of kernel launches.
  auto launches = [](const runtime::Artifact &artifact) {
    return artifact.plan().findProgram("train_step")->schedule.size();
  };
  EXPECT_LT(launches(*fused), launches(*unfused));
  auto a = runtime::Executor::create(fused, {2});
  auto b = runtime::Executor::create(unfused, {2});
  ASSERT_TRUE(a.hasValue() && b.hasValue());
  setGoldenState(**a);
  setGoldenState(**b);
  std::vector<float> views = load("views");
  for (int64_t step = 0; step < 3; ++step) {
    ASSERT_TRUE((*a)->trainStep(views, step).isOk());
    ASSERT_TRUE((*b)->trainStep(views, step).isOk());
    float lossA = (*a)->lastLoss();
    EXPECT_NEAR(lossA, (*b)->lastLoss(), 1e-5 * std::abs(lossA));
  }
  auto stateA = (*a)->stateTensors();
  auto stateB = (*b)->stateTensors();
  ASSERT_EQ(stateA.size(), stateB.size());
  for (size_t i = 0; i < stateA.size(); ++i) {
    std::vector<float> expected(static_cast<const float *>(stateB[i].data),
                                static_cast<const float *>(stateB[i].data) +
                                    stateB[i].buffer->bytes / 4);
    EXPECT_LT(relativeError(static_cast<const float *>(stateA[i].data), expected), 1e-5)
        << stateA[i].tensor->name;
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, CompiledStepTest,
                         ::testing::Values("small_resnet_tau0.5.safetensors",
                                           "small_resnet_tau0.05.safetensors"));

} // namespace
} // namespace mlir::simclr
