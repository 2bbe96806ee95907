//===- AutodiffTest.cpp - simclr-autodiff against finite differences ------===//
//
// Every gradient simclr-autodiff builds is compared, in float64 through the
// reference executor, with central finite differences of the forward
// function: per op on small random shapes (odd sizes, stride 2, padding,
// dilation, groups), and for a whole small SimCLR network.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"
#include "simclr/Frontend/GraphBuilder.h"
#include "simclr/Reference/ReferenceExecutor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace mlir::simclr {
namespace {

using ::simclr::ref::Tensor;

/// Central-difference step. With double arithmetic the truncation error
/// (~h^2) and the rounding error (~1e-16 / h) are both far below the
/// tolerance at this step.
constexpr double kFiniteDifferenceStep = 1e-6;
/// Relative error allowed between analytic and numeric gradients (issue 3).
constexpr double kGradientTolerance = 1e-6;

class AutodiffTest : public ::testing::Test {
protected:
  AutodiffTest() {
    context.loadDialect<SimclrDialect, func::FuncDialect>();
  }

  OwningOpRef<ModuleOp> parse(const std::string &ir) {
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &context);
    EXPECT_TRUE(module) << ir;
    return module;
  }

  /// Random values in [-1, 1] for every tensor argument of `func`; steps
  /// get `step`.
  SmallVector<RefValue<double>> randomArguments(func::FuncOp func, std::mt19937 &rng) {
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    SmallVector<RefValue<double>> args;
    for (Type type : func.getArgumentTypes()) {
      auto tensor = cast<RankedTensorType>(type);
      std::vector<int64_t> shape(tensor.getShape().begin(), tensor.getShape().end());
      Tensor<double> value = Tensor<double>::zeros(shape);
      for (double &x : value.data)
        x = uniform(rng);
      args.push_back(value);
    }
    return args;
  }

  double lossOf(func::FuncOp forward, ArrayRef<RefValue<double>> args) {
    auto results = executeReference<double>(forward, args);
    EXPECT_TRUE(succeeded(results));
    return std::get<Tensor<double>>((*results)[0]).data[0];
  }

  /// Differentiates @forward_loss and compares every parameter gradient with
  /// central differences, on all coordinates or `coordinatesPerParameter`
  /// random ones.
  void checkGradients(ModuleOp module, unsigned seed, int coordinatesPerParameter = -1) {
    auto forward = module.lookupSymbol<func::FuncOp>("forward_loss");
    ASSERT_TRUE(forward);
    FailureOr<func::FuncOp> backward = differentiateFunction(forward, "forward_backward");
    ASSERT_TRUE(succeeded(backward));

    std::mt19937 rng(seed);
    SmallVector<RefValue<double>> args = randomArguments(forward, rng);
    auto results = executeReference<double>(*backward, args);
    ASSERT_TRUE(succeeded(results));

    unsigned gradientIndex = forward.getNumResults();
    for (unsigned arg = 0; arg < forward.getNumArguments(); ++arg) {
      auto kind = forward.getArgAttrOfType<StringAttr>(arg, kKindAttrName);
      if (!kind || kind.getValue() != kKindParameter)
        continue;
      const Tensor<double> &analytic = std::get<Tensor<double>>((*results)[gradientIndex++]);
      auto &param = std::get<Tensor<double>>(args[arg]);
      std::vector<int64_t> coordinates;
      for (int64_t i = 0; i < param.numElements(); ++i)
        coordinates.push_back(i);
      if (coordinatesPerParameter >= 0 &&
          coordinates.size() > static_cast<size_t>(coordinatesPerParameter)) {
        std::shuffle(coordinates.begin(), coordinates.end(), rng);
        coordinates.resize(coordinatesPerParameter);
      }
      double diffNorm = 0, numericNorm = 0;
      for (int64_t i : coordinates) {
        double saved = param.data[i];
        param.data[i] = saved + kFiniteDifferenceStep;
        double up = lossOf(forward, args);
        param.data[i] = saved - kFiniteDifferenceStep;
        double down = lossOf(forward, args);
        param.data[i] = saved;
        double numeric = (up - down) / (2 * kFiniteDifferenceStep);
        diffNorm += std::pow(analytic.data[i] - numeric, 2);
        numericNorm += numeric * numeric;
      }
      auto name = forward.getArgAttrOfType<StringAttr>(arg, kNameAttrName);
      double relative = std::sqrt(diffNorm) / std::max(std::sqrt(numericNorm), 1e-12);
      EXPECT_LT(relative, kGradientTolerance)
          << "parameter " << (name ? name.getValue().str() : std::to_string(arg));
      EXPECT_GT(numericNorm, 0.0) << "a zero gradient checks nothing";
    }
  }

  MLIRContext context;
};

/// Wraps `body`, which computes %y of type `yType` with `elements` elements
/// from the parameters in `params` ("%x: tensor<...>"), into @forward_loss
/// whose loss is sum(y * r) for a fixed random r.
std::string weightedSumLoss(const std::string &params, const std::string &body,
                            const std::string &yType, int64_t elements) {
  std::string flat = "tensor<1x" + std::to_string(elements) + "xf32>";
  std::string result;
  result += "func.func @forward_loss(" + params + ", %r: " + flat +
            ") -> (tensor<f32> {simclr.kind = \"loss\"}) {\n" + body + "\n";
  result += "  %flat = simclr.reshape %y : " + yType + " -> " + flat + "\n";
  result += "  %dot = simclr.linear %flat, %r : (" + flat + ", " + flat +
            ") -> tensor<1x1xf32>\n";
  result += "  %loss = simclr.reshape %dot : tensor<1x1xf32> -> tensor<f32>\n";
  result += "  return %loss : tensor<f32>\n}\n";
  return result;
}

std::string param(const std::string &name, const std::string &type) {
  return "%" + name + ": " + type + " {simclr.kind = \"parameter\", simclr.name = \"" +
         name + "\"}";
}

TEST_F(AutodiffTest, Conv2DStridedDilatedGroupedWithBias) {
  checkGradients(*parse(weightedSumLoss(
                     param("x", "tensor<2x4x7x7xf32>") + ", " + param("w", "tensor<6x2x3x3xf32>") +
                         ", " + param("b", "tensor<6xf32>"),
                     "  %y = simclr.conv2d %x, %w, %b {stride = array<i64: 2, 2>, padding = "
                     "array<i64: 1, 1>, dilation = array<i64: 2, 2>, groups = 2 : i64} : "
                     "(tensor<2x4x7x7xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> "
                     "tensor<2x6x3x3xf32>",
                     "tensor<2x6x3x3xf32>", 108)),
                 1);
}

TEST_F(AutodiffTest, Conv2DRectangularUnpadded) {
  checkGradients(*parse(weightedSumLoss(
                     param("x", "tensor<3x2x5x4xf32>") + ", " + param("w", "tensor<3x2x2x3xf32>"),
                     "  %y = simclr.conv2d %x, %w {stride = array<i64: 1, 1>, padding = "
                     "array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : "
                     "(tensor<3x2x5x4xf32>, tensor<3x2x2x3xf32>) -> tensor<3x3x4x2xf32>",
                     "tensor<3x3x4x2xf32>", 72)),
                 2);
}

TEST_F(AutodiffTest, BatchNormTrainNCHWAndVectors) {
  checkGradients(*parse(weightedSumLoss(
                     param("x", "tensor<3x2x2x3xf32>") + ", " + param("g", "tensor<2xf32>") +
                         ", " + param("b", "tensor<2xf32>"),
                     "  %y, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64} "
                     ": (tensor<3x2x2x3xf32>, tensor<2xf32>, tensor<2xf32>) -> "
                     "(tensor<3x2x2x3xf32>, tensor<2xf32>, tensor<2xf32>)",
                     "tensor<3x2x2x3xf32>", 36)),
                 3);
  checkGradients(*parse(weightedSumLoss(
                     param("x", "tensor<5x3xf32>") + ", " + param("g", "tensor<3xf32>") + ", " +
                         param("b", "tensor<3xf32>"),
                     "  %y, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64} "
                     ": (tensor<5x3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<5x3xf32>, "
                     "tensor<3xf32>, tensor<3xf32>)",
                     "tensor<5x3xf32>", 15)),
                 4);
}

TEST_F(AutodiffTest, ReluAndFanOut) {
  // x reaches the loss twice: through relu and directly.
  checkGradients(*parse(weightedSumLoss(param("x", "tensor<3x5xf32>"),
                                        "  %a = simclr.relu %x : tensor<3x5xf32>\n"
                                        "  %y = simclr.add %a, %x : tensor<3x5xf32>",
                                        "tensor<3x5xf32>", 15)),
                 5);
}

TEST_F(AutodiffTest, MaxPoolPaddedStrided) {
  checkGradients(*parse(weightedSumLoss(
                     param("x", "tensor<2x2x5x5xf32>"),
                     "  %y = simclr.max_pool2d %x {kernel = array<i64: 3, 3>, stride = "
                     "array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x2x5x5xf32> -> "
                     "tensor<2x2x3x3xf32>",
                     "tensor<2x2x3x3xf32>", 36)),
                 6);
}

TEST_F(AutodiffTest, GlobalAvgPoolAndReshape) {
  checkGradients(*parse(weightedSumLoss(
                     param("x", "tensor<2x3x2x3xf32>"),
                     "  %p = simclr.global_avg_pool %x : tensor<2x3x2x3xf32> -> tensor<2x3xf32>\n"
                     "  %y = simclr.reshape %p : tensor<2x3xf32> -> tensor<3x2xf32>",
                     "tensor<3x2xf32>", 6)),
                 7);
}

TEST_F(AutodiffTest, LinearWithBias) {
  checkGradients(*parse(weightedSumLoss(
                     param("x", "tensor<3x4xf32>") + ", " + param("w", "tensor<5x4xf32>") + ", " +
                         param("b", "tensor<5xf32>"),
                     "  %y = simclr.linear %x, %w, %b : (tensor<3x4xf32>, tensor<5x4xf32>, "
                     "tensor<5xf32>) -> tensor<3x5xf32>",
                     "tensor<3x5xf32>", 15)),
                 8);
}

TEST_F(AutodiffTest, MatmulEveryTransposition) {
  struct Case {
    bool transposeLhs, transposeRhs;
    const char *lhs, *rhs;
  };
  // op(lhs) is 3x4 and op(rhs) is 4x2 in every case.
  for (Case c : {Case{false, false, "tensor<3x4xf32>", "tensor<4x2xf32>"},
                 Case{true, false, "tensor<4x3xf32>", "tensor<4x2xf32>"},
                 Case{false, true, "tensor<3x4xf32>", "tensor<2x4xf32>"},
                 Case{true, true, "tensor<4x3xf32>", "tensor<2x4xf32>"}}) {
    std::string body = std::string("  %y = simclr.matmul %a, %b {transpose_lhs = ") +
                       (c.transposeLhs ? "true" : "false") + ", transpose_rhs = " +
                       (c.transposeRhs ? "true" : "false") + "} : (" + c.lhs + ", " + c.rhs +
                       ") -> tensor<3x2xf32>";
    SCOPED_TRACE(body);
    checkGradients(*parse(weightedSumLoss(param("a", c.lhs) + ", " + param("b", c.rhs), body,
                                          "tensor<3x2xf32>", 6)),
                   9);
  }
}

TEST_F(AutodiffTest, L2Normalize) {
  checkGradients(*parse(weightedSumLoss(
                     param("x", "tensor<3x4xf32>"),
                     "  %y = simclr.l2_normalize %x {epsilon = 1.0e-12 : f64} : tensor<3x4xf32>",
                     "tensor<3x4xf32>", 12)),
                 10);
}

TEST_F(AutodiffTest, NtXentFusedAndDecomposed) {
  for (const char *temperature : {"0.5", "0.1"}) {
    std::string fused = std::string("func.func @forward_loss(") + param("z", "tensor<6x3xf32>") +
                        ") -> (tensor<f32> {simclr.kind = \"loss\"}) {\n"
                        "  %l = simclr.nt_xent %z {temperature = " +
                        temperature +
                        " : f64} : tensor<6x3xf32> -> tensor<f32>\n"
                        "  return %l : tensor<f32>\n}\n";
    SCOPED_TRACE(fused);
    checkGradients(*parse(fused), 11);
  }
  // The primitive chain of simclr-decompose-nt-xent, op by op.
  checkGradients(
      *parse(std::string("func.func @forward_loss(") + param("z", "tensor<4x3xf32>") +
             ") -> (tensor<f32> {simclr.kind = \"loss\"}) {\n"
             "  %u = simclr.l2_normalize %z {epsilon = 1.0e-12 : f64} : tensor<4x3xf32>\n"
             "  %s = simclr.matmul %u, %u {transpose_rhs = true} : (tensor<4x3xf32>, "
             "tensor<4x3xf32>) -> tensor<4x4xf32>\n"
             "  %l = simclr.masked_scaled_log_softmax %s {scale = 2.0 : f64} : tensor<4x4xf32>\n"
             "  %p = simclr.gather_positives %l : tensor<4x4xf32> -> tensor<4xf32>\n"
             "  %m = simclr.reduce_mean %p : tensor<4xf32> -> tensor<f32>\n"
             "  %n = simclr.scale %m {factor = -1.0 : f64} : tensor<f32>\n"
             "  return %n : tensor<f32>\n}\n"),
      12);
}

TEST_F(AutodiffTest, ConcatSlicesBack) {
  checkGradients(*parse(weightedSumLoss(
                     param("a", "tensor<2x3xf32>") + ", " + param("b", "tensor<1x3xf32>"),
                     "  %y = simclr.concat %a, %b {dim = 0 : i64} : (tensor<2x3xf32>, "
                     "tensor<1x3xf32>) -> tensor<3x3xf32>",
                     "tensor<3x3xf32>", 9)),
                 13);
}

// A whole SimCLR network with one residual block per stage (including
// downsampling shortcuts), a projection head and NT-Xent, as the frontend
// builds it; 12 random coordinates per parameter tensor.
TEST_F(AutodiffTest, SmallResNetWithHeadAndNtXent) {
  ::simclr::frontend::TrainingSpec spec;
  spec.data.channels = 3;
  spec.data.height = spec.data.width = 6;
  spec.data.batchSize = 3;
  spec.data.trainImages = 3;
  spec.encoder.blocksPerStage = {1, 1, 1};
  spec.encoder.widthMultiplier = 4.0 / 64.0;
  spec.head.hiddenDims = {8};
  spec.head.outputDim = 5;
  ::simclr::frontend::BuildOptions options;
  options.viewsAsInput = true;
  auto module = ::simclr::frontend::buildSimclrModule(context, spec, options);
  ASSERT_TRUE(succeeded(module));
  constexpr int kCoordinatesPerParameter = 12;
  checkGradients(**module, 14, kCoordinatesPerParameter);
}

} // namespace
} // namespace mlir::simclr
