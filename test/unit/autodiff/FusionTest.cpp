//===- FusionTest.cpp - simclr-fuse keeps the train step's numbers --------===//
//
// The train step of a tiny spec, run by the reference executor before and
// after the fusion passes. Fusions hold the same ops, so fusing changes no
// number at all; expanding linear into matmul + bias add only moves the
// bias to the end of each sum, a rounding-level change.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"
#include "simclr/Frontend/GraphBuilder.h"
#include "../common/TinySpec.h"
#include "simclr/Reference/ReferenceExecutor.h"
#include "simclr/Support/ParameterInit.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace mlir::simclr {
namespace {

using ::simclr::ref::Tensor;
namespace frontend = ::simclr::frontend;

/// Float64 relative error allowed between linear and its expansion: the
/// bias is added first or last in each dot product, then the difference
/// propagates through one train step (a few hundred ops), far below 1e-9.
constexpr double kExpansionTolerance = 1e-9;

frontend::TrainingSpec tinySpec() {
  return ::simclr::testing::tinyAugmentedSpec(frontend::OptimizerKind::kAdamW);
}

class FusionTest : public ::testing::Test {
protected:
  FusionTest() {
    context.loadDialect<SimclrDialect, func::FuncDialect>();
    auto built = frontend::buildSimclrModule(context, tinySpec());
    EXPECT_TRUE(succeeded(built));
    unfused = std::move(*built);
    PassManager pm(&context);
    SimclrAutodiffOptions autodiff;
    autodiff.replaceSource = true;
    pm.addPass(createSimclrAutodiff(autodiff));
    pm.addPass(createSimclrBuildTrainStep());
    EXPECT_TRUE(succeeded(pm.run(*unfused)));

    expanded = unfused->clone();
    PassManager expand(&context);
    expand.addNestedPass<func::FuncOp>(createSimclrExpandLinear());
    EXPECT_TRUE(succeeded(expand.run(*expanded)));

    fused = unfused->clone();
    PassManager fuse(&context);
    buildSimclrFusePipeline(fuse);
    EXPECT_TRUE(succeeded(fuse.run(*fused)));
  }

  static func::FuncOp trainStep(ModuleOp module) {
    return module.lookupSymbol<func::FuncOp>("train_step");
  }

  /// Initialized parameters, zero state and statistics, random images.
  template <typename T> SmallVector<RefValue<T>> arguments(func::FuncOp func) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> pixel(0, 255);
    SmallVector<RefValue<T>> args;
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      StringRef kind = func.getArgAttrOfType<StringAttr>(i, kKindAttrName).getValue();
      if (kind == kKindRngKey) {
        args.push_back(::simclr::keyFromSeed(5));
        continue;
      }
      if (kind == kKindStep) {
        args.push_back(int64_t(3));
        continue;
      }
      auto type = cast<RankedTensorType>(func.getArgumentTypes()[i]);
      std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
      Tensor<T> value = Tensor<T>::zeros(shape);
      if (kind == kKindImages) {
        for (T &x : value.data)
          x = static_cast<T>(pixel(rng));
      } else if (auto init = func.getArgAttrOfType<StringAttr>(i, kInitAttrName)) {
        auto fanIn = func.getArgAttrOfType<IntegerAttr>(i, kFanInAttrName);
        auto name = func.getArgAttrOfType<StringAttr>(i, kNameAttrName);
        std::vector<float> values;
        EXPECT_TRUE(::simclr::initializeTensor(*::simclr::parseInitKind(init.getValue().str()),
                                               shape, fanIn ? fanIn.getInt() : 0, 0,
                                               name.getValue().str(), values)
                        .isOk());
        value.data.assign(values.begin(), values.end());
      }
      args.push_back(value);
    }
    return args;
  }

  template <typename T> SmallVector<RefValue<T>> run(ModuleOp module) {
    func::FuncOp func = trainStep(module);
    EXPECT_TRUE(func);
    auto results = executeReference<T>(func, arguments<T>(func));
    EXPECT_TRUE(succeeded(results));
    return succeeded(results) ? *results : SmallVector<RefValue<T>>{};
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> unfused, expanded, fused;
};

TEST_F(FusionTest, FormsEveryKindOfFusion) {
  unsigned counts[4] = {0, 0, 0, 0};
  trainStep(*fused).walk([&](FusionOp op) { ++counts[static_cast<unsigned>(op.getKind())]; });
  EXPECT_GT(counts[static_cast<unsigned>(FusionKind::Elementwise)], 0u);
  EXPECT_GT(counts[static_cast<unsigned>(FusionKind::Anchored)], 0u);
  EXPECT_EQ(counts[static_cast<unsigned>(FusionKind::NtXent)], 1u);
  EXPECT_EQ(counts[static_cast<unsigned>(FusionKind::Optimizer)], 1u);
}

// Fusion only regroups ops: the reference executor gives the same bits.
TEST_F(FusionTest, FusedStepIsBitIdenticalToTheExpandedOne) {
  auto before = run<float>(*expanded);
  auto after = run<float>(*fused);
  ASSERT_EQ(before.size(), after.size());
  ASSERT_FALSE(before.empty());
  for (unsigned i = 0; i < before.size(); ++i)
    EXPECT_EQ(std::get<Tensor<float>>(before[i]).data, std::get<Tensor<float>>(after[i]).data)
        << "result " << i;
}

// Expanding linear changes only the order of one addition per output.
TEST_F(FusionTest, ExpandedLinearMatchesLinear) {
  auto before = run<double>(*unfused);
  auto after = run<double>(*expanded);
  ASSERT_EQ(before.size(), after.size());
  ASSERT_FALSE(before.empty());
  for (unsigned i = 0; i < before.size(); ++i) {
    const auto &a = std::get<Tensor<double>>(before[i]).data;
    const auto &b = std::get<Tensor<double>>(after[i]).data;
    ASSERT_EQ(a.size(), b.size()) << "result " << i;
    for (size_t k = 0; k < a.size(); ++k)
      EXPECT_LE(std::abs(a[k] - b[k]), kExpansionTolerance * std::max(1.0, std::abs(a[k])))
          << "result " << i << " element " << k;
  }
}

} // namespace
} // namespace mlir::simclr
