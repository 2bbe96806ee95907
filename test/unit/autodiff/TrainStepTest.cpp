//===- TrainStepTest.cpp - The whole in-graph train step, run by reference -===//
//
// simclrc's @train_step for a tiny spec, with its augmentations in the
// graph, run by the reference executor: a pure function of its arguments
// (same key, same bytes; another key, other views), and a step that lowers
// the loss it was given on repeated application to the same batch.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"
#include "simclr/Frontend/GraphBuilder.h"
#include "../common/TinySpec.h"
#include "simclr/Reference/ReferenceExecutor.h"
#include "simclr/Runtime/Augmenter.h"
#include "simclr/Support/ParameterInit.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <random>

namespace mlir::simclr {
namespace {

using ::simclr::ref::Tensor;
namespace frontend = ::simclr::frontend;

constexpr int64_t kImages = ::simclr::testing::kTinyImages;
constexpr int64_t kSide = ::simclr::testing::kTinySide;

frontend::TrainingSpec tinySpec() {
  frontend::TrainingSpec spec =
      ::simclr::testing::tinyAugmentedSpec(frontend::OptimizerKind::kSgd);
  spec.schedule.finalLearningRateFraction = 1.0;
  frontend::AugmentationSpec jitter;
  jitter.kind = frontend::AugmentationKind::kColorJitter;
  jitter.brightness = jitter.contrast = jitter.saturation = 0.4;
  jitter.hue = 0.1;
  jitter.probability = 0.8;
  spec.augmentations.push_back(jitter);
  return spec;
}

class TrainStepTest : public ::testing::Test {
protected:
  TrainStepTest() {
    context.loadDialect<SimclrDialect, func::FuncDialect>();
    auto built = frontend::buildSimclrModule(context, tinySpec());
    EXPECT_TRUE(succeeded(built));
    module = std::move(*built);
    PassManager pm(&context);
    SimclrAutodiffOptions autodiff;
    autodiff.replaceSource = true;
    pm.addPass(createSimclrAutodiff(autodiff));
    pm.addPass(createSimclrBuildTrainStep());
    EXPECT_TRUE(succeeded(pm.run(*module)));
    trainStep = module->lookupSymbol<func::FuncOp>("train_step");
  }

  /// Initial state as the runtime would make it, random uint8 images.
  SmallVector<RefValue<float>> initialArguments(RngKey key, int64_t step) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> pixel(0, 255);
    SmallVector<RefValue<float>> args;
    for (unsigned i = 0; i < trainStep.getNumArguments(); ++i) {
      Type type = trainStep.getArgumentTypes()[i];
      StringRef kind = trainStep.getArgAttrOfType<StringAttr>(i, kKindAttrName).getValue();
      if (kind == kKindRngKey) {
        args.push_back(key);
        continue;
      }
      if (kind == kKindStep) {
        args.push_back(step);
        continue;
      }
      auto tensorType = cast<RankedTensorType>(type);
      std::vector<int64_t> shape(tensorType.getShape().begin(), tensorType.getShape().end());
      Tensor<float> value = Tensor<float>::zeros(shape);
      if (kind == kKindImages) {
        for (float &x : value.data)
          x = static_cast<float>(pixel(rng));
      } else if (auto init = trainStep.getArgAttrOfType<StringAttr>(i, kInitAttrName)) {
        auto fanIn = trainStep.getArgAttrOfType<IntegerAttr>(i, kFanInAttrName);
        auto name = trainStep.getArgAttrOfType<StringAttr>(i, kNameAttrName);
        std::vector<float> values;
        EXPECT_TRUE(::simclr::initializeTensor(*::simclr::parseInitKind(init.getValue().str()),
                                               shape, fanIn ? fanIn.getInt() : 0, 0,
                                               name.getValue().str(), values)
                        .isOk());
        value.data = values;
      }
      args.push_back(value);
    }
    return args;
  }

  /// Index of the first result of `kind`.
  unsigned resultIndex(StringRef kind) {
    for (unsigned i = 0; i < trainStep.getNumResults(); ++i)
      if (trainStep.getResultAttrOfType<StringAttr>(i, kKindAttrName).getValue() == kind)
        return i;
    ADD_FAILURE() << "no result of kind " << kind.str();
    return 0;
  }

  float lossOf(const SmallVector<RefValue<float>> &results) {
    return std::get<Tensor<float>>(results[resultIndex(kKindLoss)]).data[0];
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  func::FuncOp trainStep;
};

TEST_F(TrainStepTest, IsAPureFunctionOfItsKey) {
  ASSERT_TRUE(trainStep);
  RngKey key = ::simclr::keyFromSeed(11);
  auto first = executeReference<float>(trainStep, initialArguments(key, 0));
  auto again = executeReference<float>(trainStep, initialArguments(key, 0));
  auto other = executeReference<float>(trainStep, initialArguments(::simclr::keyFromSeed(12), 0));
  ASSERT_TRUE(succeeded(first) && succeeded(again) && succeeded(other));
  for (unsigned i = 0; i < first->size(); ++i)
    EXPECT_EQ(std::get<Tensor<float>>((*first)[i]).data,
              std::get<Tensor<float>>((*again)[i]).data)
        << "result " << i;
  // Other views, other loss.
  EXPECT_NE(lossOf(*first), lossOf(*other));
  EXPECT_TRUE(std::isfinite(lossOf(*first)));
}

// Ten steps on the same images and key: each step's parameters, optimizer
// state and running statistics feed the next, and the loss goes down.
TEST_F(TrainStepTest, RepeatedStepsLowerTheLoss) {
  ASSERT_TRUE(trainStep);
  RngKey key = ::simclr::keyFromSeed(3);
  SmallVector<RefValue<float>> args = initialArguments(key, 0);
  float firstLoss = 0, lastLoss = 0;
  constexpr int kSteps = 10;
  for (int step = 0; step < kSteps; ++step) {
    auto results = executeReference<float>(trainStep, args);
    ASSERT_TRUE(succeeded(results));
    float loss = lossOf(*results);
    ASSERT_TRUE(std::isfinite(loss)) << "step " << step;
    if (step == 0)
      firstLoss = loss;
    lastLoss = loss;
    // Results in argument order: parameters, optimizer state, running stats.
    unsigned carried = 0;
    for (unsigned i = 0; i < trainStep.getNumArguments(); ++i) {
      StringRef kind = trainStep.getArgAttrOfType<StringAttr>(i, kKindAttrName).getValue();
      if (kind == kKindParameter || kind == kKindOptimizerState || kind == kKindRunningStat)
        args[i] = (*results)[carried++];
      else if (kind == kKindStep)
        args[i] = int64_t(step + 1);
    }
  }
  EXPECT_LT(lastLoss, firstLoss);
}

// The input pipeline's augmenter (outside the graph) and the graph's own
// augmentation ops make the same views from the same key: a spec compiled
// with --views-as-input and fed the pipeline's views computes the same loss
// as the graph that augments itself.
TEST_F(TrainStepTest, PipelineViewsEqualInGraphAugmentation) {
  frontend::TrainingSpec spec = tinySpec();
  frontend::BuildOptions viewsOptions;
  viewsOptions.viewsAsInput = true;
  auto inGraph = frontend::buildSimclrModule(context, spec);
  auto outside = frontend::buildSimclrModule(context, spec, viewsOptions);
  ASSERT_TRUE(succeeded(inGraph) && succeeded(outside));
  auto inGraphLoss = (*inGraph)->lookupSymbol<func::FuncOp>("forward_loss");
  auto outsideLoss = (*outside)->lookupSymbol<func::FuncOp>("forward_loss");
  // Also return the in-graph views (the concat of both augmented views), so
  // they can be compared element by element: the loss alone is symmetric in
  // the two views and would not notice them swapped.
  ConcatOp concat;
  inGraphLoss.walk([&](ConcatOp op) { concat = op; });
  ASSERT_TRUE(concat);
  auto terminator = cast<func::ReturnOp>(inGraphLoss.front().getTerminator());
  terminator->insertOperands(terminator.getNumOperands(), concat.getResult());
  SmallVector<Type> resultTypes(inGraphLoss.getResultTypes());
  resultTypes.push_back(concat.getType());
  inGraphLoss.setType(FunctionType::get(&context, inGraphLoss.getArgumentTypes(), resultTypes));

  RngKey key = ::simclr::keyFromSeed(21);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::vector<uint8_t> pixels(kImages * 3 * kSide * kSide);
  for (uint8_t &p : pixels)
    p = static_cast<uint8_t>(pixel(rng));

  auto augmenter = ::simclr::createReferenceAugmenter(spec.augmentations);
  ASSERT_TRUE(augmenter.hasValue()) << augmenter.status().message();
  int64_t viewElements = kImages * 3 * kSide * kSide;
  Tensor<float> views = Tensor<float>::zeros({2 * kImages, 3, kSide, kSide});
  ::simclr::ImageBatchView batch{pixels.data(), kImages, 3, kSide, kSide};
  for (uint64_t view = 0; view < 2; ++view)
    ASSERT_TRUE((*augmenter)
                    ->augmentView(batch, ::simclr::foldIn(key, view),
                                  views.data.data() + view * viewElements, viewElements)
                    .isOk());

  // Same parameters for both; the in-graph function also takes the images
  // and the key, the other the views.
  auto argumentsOf = [&](func::FuncOp func) {
    SmallVector<RefValue<float>> args;
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      StringRef kind = func.getArgAttrOfType<StringAttr>(i, kKindAttrName).getValue();
      auto name = func.getArgAttrOfType<StringAttr>(i, kNameAttrName);
      if (kind == kKindRngKey) {
        args.push_back(key);
      } else if (kind == kKindImages && name.getValue() == "views") {
        args.push_back(views);
      } else if (kind == kKindImages) {
        Tensor<float> images = Tensor<float>::zeros({kImages, 3, kSide, kSide});
        std::copy(pixels.begin(), pixels.end(), images.data.begin());
        args.push_back(images);
      } else {
        auto type = cast<RankedTensorType>(func.getArgumentTypes()[i]);
        std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
        Tensor<float> value = Tensor<float>::zeros(shape);
        std::vector<float> values;
        auto init = func.getArgAttrOfType<StringAttr>(i, kInitAttrName);
        auto fanIn = func.getArgAttrOfType<IntegerAttr>(i, kFanInAttrName);
        EXPECT_TRUE(::simclr::initializeTensor(*::simclr::parseInitKind(init.getValue().str()),
                                               shape, fanIn ? fanIn.getInt() : 0, 9,
                                               name.getValue().str(), values)
                        .isOk());
        value.data = values;
        args.push_back(value);
      }
    }
    return args;
  };
  auto a = executeReference<float>(inGraphLoss, argumentsOf(inGraphLoss));
  auto b = executeReference<float>(outsideLoss, argumentsOf(outsideLoss));
  ASSERT_TRUE(succeeded(a) && succeeded(b));
  EXPECT_EQ(std::get<Tensor<float>>(a->back()).data, views.data);
  EXPECT_EQ(std::get<Tensor<float>>((*a)[0]).data, std::get<Tensor<float>>((*b)[0]).data);
  EXPECT_TRUE(std::isfinite(std::get<Tensor<float>>((*a)[0]).data[0]));
}

} // namespace
} // namespace mlir::simclr
