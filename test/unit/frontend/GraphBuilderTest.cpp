//===- GraphBuilderTest.cpp - Tests of the C++ builder API ----------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Frontend/GraphBuilder.h"
#include "simclr/Frontend/InitialWeights.h"
#include "simclr/Frontend/SpecReader.h"
#include "simclr/Support/FileIO.h"
#include "simclr/Support/Safetensors.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

namespace simclr::frontend {
namespace {

/// A spec built in C++ for a torchvision architecture on 3x224x224 images.
TrainingSpec imagenetSpec(const std::string &arch) {
  TrainingSpec spec;
  spec.data.channels = 3;
  spec.data.height = spec.data.width = 224;
  spec.data.batchSize = 2;
  spec.data.trainImages = 2;
  EXPECT_TRUE(setEncoderArchitecture(arch, spec.encoder));
  spec.encoder.stem = StemKind::kImageNet;
  return spec;
}

class GraphBuilderTest : public ::testing::Test {
protected:
  GraphBuilderTest() { context.loadDialect<mlir::simclr::SimclrDialect, mlir::func::FuncDialect>(); }

  mlir::OwningOpRef<mlir::ModuleOp> build(const TrainingSpec &spec) {
    EXPECT_TRUE(validateSpec(spec).isOk()) << validateSpec(spec).message();
    auto module = buildSimclrModule(context, spec);
    EXPECT_TRUE(mlir::succeeded(module));
    return mlir::succeeded(module) ? std::move(*module) : nullptr;
  }

  ParameterCounts counts(const TrainingSpec &spec) {
    mlir::OwningOpRef<mlir::ModuleOp> module = build(spec);
    auto result = countParameters(*module);
    EXPECT_TRUE(mlir::succeeded(result));
    return *result;
  }

  mlir::MLIRContext context;
};

// torchvision's totals minus their fc layer (512*1000+1000 = 513,000 for
// basic blocks, 2048*1000+1000 = 2,049,000 for bottlenecks).
TEST_F(GraphBuilderTest, EncoderCountsMatchTorchvision) {
  EXPECT_EQ(counts(imagenetSpec("resnet18")).encoder, 11689512 - 513000);
  EXPECT_EQ(counts(imagenetSpec("resnet34")).encoder, 21797672 - 513000);
  EXPECT_EQ(counts(imagenetSpec("resnet50")).encoder, 25557032 - 2049000);
  EXPECT_EQ(counts(imagenetSpec("resnet101")).encoder, 44549160 - 2049000);
}

TEST_F(GraphBuilderTest, HeadCountFollowsItsLayers) {
  TrainingSpec spec = imagenetSpec("resnet18");
  spec.head.hiddenDims = {512};
  spec.head.outputDim = 128;
  EXPECT_EQ(counts(spec).head, 512 * 512 + 512 + 512 * 128 + 128);

  // Batch norm adds a scale and a shift per hidden unit; no bias, no bias params.
  spec.head.batchNorm = true;
  spec.head.bias = false;
  spec.head.hiddenDims = {256, 64};
  EXPECT_EQ(counts(spec).head, 512 * 256 + 2 * 256 + 256 * 64 + 2 * 64 + 64 * 128);
}

TEST_F(GraphBuilderTest, WidthMultiplierScalesEveryStage) {
  TrainingSpec spec = imagenetSpec("resnet10");
  spec.encoder.widthMultiplier = 0.5;
  spec.encoder.stem = StemKind::kSmall;
  EXPECT_EQ(encoderFeatureDim(spec.encoder), 256);
  mlir::OwningOpRef<mlir::ModuleOp> module = build(spec);
  auto encode = module->lookupSymbol<mlir::func::FuncOp>("encode");
  ASSERT_TRUE(encode);
  auto features = mlir::cast<mlir::RankedTensorType>(encode.getResultTypes()[0]);
  EXPECT_EQ(features.getShape(), llvm::ArrayRef<int64_t>({2, 256}));
}

TEST_F(GraphBuilderTest, HeadNamesFollowNnSequential) {
  TrainingSpec spec = imagenetSpec("resnet18");
  spec.head.batchNorm = true;
  mlir::OwningOpRef<mlir::ModuleOp> module = build(spec);
  auto forward = module->lookupSymbol<mlir::func::FuncOp>("forward_loss");
  std::vector<std::string> headNames;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
    auto name = forward.getArgAttrOfType<mlir::StringAttr>(i, mlir::simclr::kNameAttrName);
    if (name && name.getValue().starts_with("projector."))
      headNames.push_back(name.getValue().str());
  }
  // Linear(0), BatchNorm1d(1), ReLU(2), Linear(3).
  std::vector<std::string> expected = {
      "projector.0.weight",       "projector.0.bias",        "projector.1.weight",
      "projector.1.bias",         "projector.1.running_mean", "projector.1.running_var",
      "projector.3.weight",       "projector.3.bias"};
  EXPECT_EQ(headNames, expected);
}

TEST_F(GraphBuilderTest, OptimizerUpdateHasOneStatePerMoment) {
  TrainingSpec spec = imagenetSpec("resnet18");
  spec.optimizer.kind = OptimizerKind::kAdamW;
  spec.optimizer.excludeBiasAndNorm = false;
  mlir::OwningOpRef<mlir::ModuleOp> module = build(spec);
  auto update = module->lookupSymbol<mlir::func::FuncOp>("optimizer_update");
  int64_t updates = 0;
  update.walk([&](mlir::simclr::AdamWUpdateOp op) {
    ++updates;
    EXPECT_EQ(op.getWeightDecay().convertToDouble(), spec.optimizer.weightDecay);
  });
  // resnet18 without fc has 60 parameter tensors (torchvision's 62 minus
  // fc.weight and fc.bias); the head adds 4.
  constexpr unsigned kTensors = 64;
  EXPECT_EQ(updates, kTensors);
  // step + parameters + gradients + two moments; results: parameters, two moments, lr.
  EXPECT_EQ(update.getNumArguments(), 1u + 4u * kTensors);
  EXPECT_EQ(update.getNumResults(), 3u * kTensors + 1u);
}

TEST_F(GraphBuilderTest, ReducedPrecisionPropagates) {
  TrainingSpec spec = imagenetSpec("resnet10");
  spec.data.elementType = ElementType::kBF16;
  mlir::OwningOpRef<mlir::ModuleOp> module = build(spec);
  auto forward = module->lookupSymbol<mlir::func::FuncOp>("forward_loss");
  EXPECT_TRUE(forward.getResultTypes()[0] ==
              mlir::RankedTensorType::get({}, mlir::BFloat16Type::get(&context)));
}

// NetworkBuilder on its own: a user-assembled network.
TEST_F(GraphBuilderTest, NetworkBuilderBuildsCustomNetworks) {
  mlir::OpBuilder builder(&context);
  auto module = mlir::ModuleOp::create(builder.getUnknownLoc());
  builder.setInsertionPointToEnd(module.getBody());
  auto func = builder.create<mlir::func::FuncOp>(builder.getUnknownLoc(), "tiny",
                                                 builder.getFunctionType({}, {}));
  func.addEntryBlock();
  NetworkBuilder net(func, NormMode::kTrain, builder.getF32Type());
  mlir::Value x = net.addArgument(mlir::RankedTensorType::get({4, 3, 8, 8}, builder.getF32Type()),
                                  mlir::simclr::kKindImages, "images");
  x = net.relu(net.batchNorm(net.conv2d(x, "stem", 5, 3, 2, 1), "stem_bn"));
  mlir::Value y = net.linear(net.globalAvgPool(x), "fc", 7, /*bias=*/true);
  net.finish({y}, {mlir::simclr::kKindFeatures});
  ASSERT_TRUE(mlir::succeeded(mlir::verify(module)));

  // images, stem.weight, stem_bn.{weight,bias,running_mean,running_var}, fc.{weight,bias}
  EXPECT_EQ(func.getNumArguments(), 8u);
  // Features plus the two updated running statistics.
  ASSERT_EQ(func.getNumResults(), 3u);
  EXPECT_EQ(func.getResultTypes()[0], mlir::RankedTensorType::get({4, 7}, builder.getF32Type()));
  EXPECT_EQ(func.getResultAttrOfType<mlir::StringAttr>(2, mlir::simclr::kNameAttrName).getValue(),
            "stem_bn.running_var");
  EXPECT_EQ(func.getArgAttrOfType<mlir::StringAttr>(1, mlir::simclr::kInitAttrName).getValue(),
            "kaiming_normal_fan_out");
  module->erase();
}

// Initial weights carry torchvision's names and schemes, so a PyTorch user
// can load them; running statistics start at (0, 1).
TEST_F(GraphBuilderTest, InitialWeightsAreNamedAndInitialized) {
  TrainingSpec spec = imagenetSpec("resnet18");
  mlir::OwningOpRef<mlir::ModuleOp> module = build(spec);
  const char *tmp = std::getenv("SIMCLR_TEST_TMPDIR");
  Expected<std::string> dir = makeTempDirectory(tmp ? tmp : "/tmp", "weights");
  ASSERT_TRUE(dir.hasValue()) << dir.status().message();
  std::string path = *dir + "/init.safetensors";
  Status written = writeInitialWeights(*module, /*seed=*/5, path);
  ASSERT_TRUE(written.isOk()) << written.message();
  Status missingDir = writeInitialWeights(*module, 5, *dir + "/no/such/dir/w.safetensors");
  EXPECT_NE(missingDir.message().find("No such file or directory"), std::string::npos)
      << missingDir.message();

  Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
  ASSERT_TRUE(reader.hasValue()) << reader.status().message();
  // 64 parameters and 2 statistics for each of the 20 batch norms.
  EXPECT_EQ(reader->tensors().size(), 64u + 40u);
  std::vector<float> conv(64 * 3 * 7 * 7), bias(128), runningVar(64);
  ASSERT_TRUE(reader->read("conv1.weight", DType::kF32, {64, 3, 7, 7}, conv.data(),
                           conv.size() * sizeof(float)).isOk());
  ASSERT_TRUE(reader->read("projector.2.bias", DType::kF32, {128}, bias.data(),
                           bias.size() * sizeof(float)).isOk());
  ASSERT_TRUE(reader->read("bn1.running_var", DType::kF32, {64}, runningVar.data(),
                           runningVar.size() * sizeof(float)).isOk());
  double sumSquares = 0;
  for (float v : conv)
    sumSquares += v * v;
  // kaiming_normal_ fan_out: std = sqrt(2 / (64 * 49)).
  EXPECT_NEAR(std::sqrt(sumSquares / conv.size()), std::sqrt(2.0 / (64 * 49)), 0.03);
  // The head's last bias uses its layer's fan_in (512), not its own size.
  for (float v : bias)
    EXPECT_LE(std::abs(v), 1.0 / std::sqrt(512.0));
  EXPECT_EQ(runningVar, std::vector<float>(64, 1.0f));
  EXPECT_EQ(reader->metadata().at("seed"), "5");
}

} // namespace
} // namespace simclr::frontend
