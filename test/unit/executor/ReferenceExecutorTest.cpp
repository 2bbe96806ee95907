//===- ReferenceExecutorTest.cpp - Tests of the reference executor --------===//
//
// The executor runs the same lib/Reference kernels a direct call does, so its
// results must equal the direct calls bit for bit; chains of ops must equal
// the chained kernels; and every user error is a diagnostic, never a crash.
//
//===----------------------------------------------------------------------===//
#include "simclr/Reference/ReferenceExecutor.h"

#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Reference/Augment.h"
#include "simclr/Reference/Kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace mlir::simclr {
namespace {

namespace ref = ::simclr::ref;
using TensorD = ref::Tensor<double>;
using ValueD = RefValue<double>;

/// The decomposed NT-Xent chain reassociates sums (a matmul of normalized
/// rows, a separate mean) relative to the fused kernel; in double the two
/// agree to a few ulps of the O(1) loss.
constexpr double kDecompositionTolerance = 1e-12;

/// Unwraps a kernel result; an error becomes an exception, which GoogleTest
/// reports as a failure of the running test.
template <typename V> V take(::simclr::Expected<V> expected) {
  if (!expected)
    throw std::runtime_error(expected.status().toString());
  return std::move(*expected);
}

void check(const ::simclr::Status &status) {
  if (!status)
    throw std::runtime_error(status.toString());
}

/// A tensor of `shape` with elements uniform in [lo, hi).
template <typename T = double>
ref::Tensor<T> randomTensor(std::vector<int64_t> shape, std::mt19937_64 &rng,
                            double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  ref::Tensor<T> t = ref::Tensor<T>::zeros(std::move(shape));
  for (T &value : t.data)
    value = static_cast<T>(dist(rng));
  return t;
}

/// The tensor held by an executor result; throws when it holds another kind.
template <typename T> const ref::Tensor<T> &tensorOf(const RefValue<T> &value) {
  const auto *tensor = std::get_if<ref::Tensor<T>>(&value);
  if (!tensor)
    throw std::runtime_error("the executor result is not a tensor");
  return *tensor;
}

/// Expects bitwise-equal shapes and elements: both sides ran the same kernel.
template <typename T>
void expectSame(const RefValue<T> &actual, const ref::Tensor<T> &expected,
                const char *what) {
  const ref::Tensor<T> &tensor = tensorOf(actual);
  EXPECT_EQ(tensor.shape, expected.shape) << what;
  EXPECT_EQ(tensor.data, expected.data) << what;
}

class ReferenceExecutorTest : public ::testing::Test {
protected:
  ReferenceExecutorTest() {
    context.loadDialect<SimclrDialect, func::FuncDialect>();
  }

  /// Parses `ir` and returns its function @main (null on a parse error).
  func::FuncOp parse(StringRef ir) {
    module = parseSourceString<ModuleOp>(ir, &context);
    if (!module)
      return nullptr;
    return module->lookupSymbol<func::FuncOp>("main");
  }

  /// Runs @main of `ir` on `arguments`, expecting success.
  template <typename T = double>
  SmallVector<RefValue<T>> run(StringRef ir, ArrayRef<RefValue<T>> arguments) {
    func::FuncOp func = parse(ir);
    if (!func)
      throw std::runtime_error("the test IR does not parse");
    std::string diagnostics;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
      diagnostics += diagnostic.str() + "\n";
      return success();
    });
    FailureOr<SmallVector<RefValue<T>>> results =
        executeReference<T>(func, arguments);
    if (failed(results))
      throw std::runtime_error("the executor failed: " + diagnostics);
    return std::move(*results);
  }

  /// Runs @main of `ir` on `arguments`, expecting failure, and returns the
  /// diagnostics it emitted.
  std::string runExpectingError(StringRef ir, ArrayRef<ValueD> arguments) {
    func::FuncOp func = parse(ir);
    if (!func)
      throw std::runtime_error("the test IR does not parse");
    std::string diagnostics;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
      diagnostics += diagnostic.str() + "\n";
      return success();
    });
    EXPECT_TRUE(failed(executeReference<double>(func, arguments)));
    return diagnostics;
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  std::mt19937_64 rng{20240607};
};

//===----------------------------------------------------------------------===//
// Encoder ops
//===----------------------------------------------------------------------===//

constexpr const char *kConvIR = R"mlir(
func.func @main(%x: tensor<2x4x7x7xf32>, %w: tensor<6x2x3x3xf32>, %b: tensor<6xf32>)
    -> tensor<2x6x3x3xf32> {
  %y = simclr.conv2d %x, %w, %b {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>,
         dilation = array<i64: 2, 2>, groups = 2 : i64}
       : (tensor<2x4x7x7xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<2x6x3x3xf32>
  return %y : tensor<2x6x3x3xf32>
}
)mlir";

ref::Conv2dOptions convTestOptions() {
  ref::Conv2dOptions options;
  options.stride = {2, 2};
  options.padding = {1, 1};
  options.dilation = {2, 2};
  options.groups = 2;
  return options;
}

TEST_F(ReferenceExecutorTest, Conv2dWithGroupsAndBias) {
  TensorD x = randomTensor({2, 4, 7, 7}, rng);
  TensorD w = randomTensor({6, 2, 3, 3}, rng);
  TensorD b = randomTensor({6}, rng);
  SmallVector<ValueD> results = run<double>(kConvIR, {x, w, b});
  ASSERT_EQ(results.size(), 1u);
  expectSame(results[0], take(ref::conv2d(x, w, &b, convTestOptions())),
             "conv2d");
}

TEST_F(ReferenceExecutorTest, Conv2dInFloat) {
  // The float instantiation computes in float: the same as the float kernel.
  using TensorF = ref::Tensor<float>;
  TensorF x = randomTensor<float>({2, 4, 7, 7}, rng);
  TensorF w = randomTensor<float>({6, 2, 3, 3}, rng);
  TensorF b = randomTensor<float>({6}, rng);
  SmallVector<RefValue<float>> results = run<float>(kConvIR, {x, w, b});
  ASSERT_EQ(results.size(), 1u);
  expectSame(results[0], take(ref::conv2d(x, w, &b, convTestOptions())),
             "conv2d<float>");
}

TEST_F(ReferenceExecutorTest, BatchNormTrainAndRunningStats) {
  constexpr double kEpsilon = 1e-5;
  constexpr double kMomentum = 0.1;
  constexpr int64_t kCount = 4 * 2 * 2;
  const char *ir = R"mlir(
func.func @main(%x: tensor<4x3x2x2xf32>, %g: tensor<3xf32>, %b: tensor<3xf32>,
                %rm: tensor<3xf32>, %rv: tensor<3xf32>)
    -> (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %y, %mean, %var = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64}
      : (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>)
      -> (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>)
  %m, %v = simclr.running_stats_update %rm, %rv, %mean, %var {momentum = 1.0e-01 : f64,
             count = 16 : i64} : tensor<3xf32>
  return %y, %mean, %var, %m, %v
      : tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}
)mlir";
  TensorD x = randomTensor({4, 3, 2, 2}, rng);
  TensorD gamma = randomTensor({3}, rng);
  TensorD beta = randomTensor({3}, rng);
  TensorD runningMean = randomTensor({3}, rng);
  TensorD runningVar = randomTensor({3}, rng, 0.5, 2.0);
  SmallVector<ValueD> results =
      run<double>(ir, {x, gamma, beta, runningMean, runningVar});
  ASSERT_EQ(results.size(), 5u);

  ref::BatchNormTrainResult<double> bn =
      take(ref::batchNormTrain(x, gamma, beta, kEpsilon));
  check(ref::runningStatsUpdate(runningMean, runningVar, bn.batchMean,
                                bn.batchVar, kCount, kMomentum));
  expectSame(results[0], bn.y, "y");
  expectSame(results[1], bn.batchMean, "batch_mean");
  expectSame(results[2], bn.batchVar, "batch_var");
  expectSame(results[3], runningMean, "new_mean");
  expectSame(results[4], runningVar, "new_var");
}

TEST_F(ReferenceExecutorTest, PoolingAndInferenceNorm) {
  const char *ir = R"mlir(
func.func @main(%x: tensor<2x3x5x5xf32>, %g: tensor<3xf32>, %b: tensor<3xf32>,
                %m: tensor<3xf32>, %v: tensor<3xf32>)
    -> (tensor<2x3x5x5xf32>, tensor<2x3x3x3xf32>, tensor<2x3xf32>, tensor<2x3x5x5xf32>) {
  %n = simclr.batch_norm_inference %x, %g, %b, %m, %v {epsilon = 1.0e-03 : f64}
      : tensor<2x3x5x5xf32>, tensor<3xf32>
  %p = simclr.max_pool2d %n {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>,
         padding = array<i64: 1, 1>} : tensor<2x3x5x5xf32> -> tensor<2x3x3x3xf32>
  %h = simclr.global_avg_pool %p : tensor<2x3x3x3xf32> -> tensor<2x3xf32>
  %r = simclr.relu %x : tensor<2x3x5x5xf32>
  %s = simclr.add %r, %n : tensor<2x3x5x5xf32>
  return %n, %p, %h, %s : tensor<2x3x5x5xf32>, tensor<2x3x3x3xf32>, tensor<2x3xf32>, tensor<2x3x5x5xf32>
}
)mlir";
  TensorD x = randomTensor({2, 3, 5, 5}, rng);
  TensorD gamma = randomTensor({3}, rng);
  TensorD beta = randomTensor({3}, rng);
  TensorD mean = randomTensor({3}, rng);
  TensorD var = randomTensor({3}, rng, 0.5, 2.0);
  SmallVector<ValueD> results = run<double>(ir, {x, gamma, beta, mean, var});
  ASSERT_EQ(results.size(), 4u);

  TensorD n = take(ref::batchNormInference(x, gamma, beta, mean, var, 1e-3));
  ref::Pool2dOptions pool;
  pool.kernel = {3, 3};
  pool.stride = {2, 2};
  pool.padding = {1, 1};
  TensorD p = take(ref::maxPool2d(n, pool));
  expectSame(results[0], n, "batch_norm_inference");
  expectSame(results[1], p, "max_pool2d");
  expectSame(results[2], take(ref::globalAvgPool(p)), "global_avg_pool");
  expectSame(results[3], take(ref::add(take(ref::relu(x)), n)), "relu + add");
}

TEST_F(ReferenceExecutorTest, LinearWithAndWithoutBias) {
  const char *ir = R"mlir(
func.func @main(%x: tensor<4x5xf32>, %w: tensor<3x5xf32>, %b: tensor<3xf32>)
    -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  %y = simclr.linear %x, %w, %b : (tensor<4x5xf32>, tensor<3x5xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %z = simclr.linear %x, %w : (tensor<4x5xf32>, tensor<3x5xf32>) -> tensor<4x3xf32>
  return %y, %z : tensor<4x3xf32>, tensor<4x3xf32>
}
)mlir";
  TensorD x = randomTensor({4, 5}, rng);
  TensorD w = randomTensor({3, 5}, rng);
  TensorD b = randomTensor({3}, rng);
  SmallVector<ValueD> results = run<double>(ir, {x, w, b});
  ASSERT_EQ(results.size(), 2u);
  expectSame(results[0], take(ref::linear(x, w, &b)), "with bias");
  expectSame(results[1], take(ref::linear<double>(x, w, nullptr)),
             "without bias");
}

TEST_F(ReferenceExecutorTest, ImagesToNormalizedFloats) {
  const char *ir = R"mlir(
func.func @main(%images: tensor<2x2x3x3xui8>) -> (tensor<2x2x3x3xf32>, tensor<2x2x3x3xf32>) {
  %x = simclr.image_to_float %images : tensor<2x2x3x3xui8> -> tensor<2x2x3x3xf32>
  %y = simclr.normalize %x {mean = array<f64: 0.5, 0.25>, std = array<f64: 0.2, 0.4>} : tensor<2x2x3x3xf32>
  return %x, %y : tensor<2x2x3x3xf32>, tensor<2x2x3x3xf32>
}
)mlir";
  TensorD images = TensorD::zeros({2, 2, 3, 3});
  std::uniform_int_distribution<int> pixel(0, 255);
  for (double &value : images.data)
    value = pixel(rng);
  SmallVector<ValueD> results = run<double>(ir, {images});
  ASSERT_EQ(results.size(), 2u);
  TensorD x = take(ref::imageToFloat(images));
  expectSame(results[0], x, "image_to_float");
  expectSame(results[1], take(ref::normalize(x, {0.5, 0.25}, {0.2, 0.4})),
             "normalize");
}

//===----------------------------------------------------------------------===//
// Randomness and augmentations
//===----------------------------------------------------------------------===//

TEST_F(ReferenceExecutorTest, RngFoldInDerivesTheViewKeys) {
  const char *ir = R"mlir(
func.func @main(%key: !simclr.rng_key) -> (!simclr.rng_key, !simclr.rng_key, !simclr.rng_key) {
  %view0 = simclr.rng_fold_in %key {tag = 0 : i64}
  %view1 = simclr.rng_fold_in %key {tag = 1 : i64}
  %step = simclr.rng_fold_in %view1 {tag = 3 : i64}
  return %view0, %view1, %step : !simclr.rng_key, !simclr.rng_key, !simclr.rng_key
}
)mlir";
  RngKey key = ::simclr::keyFromSeed(99);
  SmallVector<ValueD> results = run<double>(ir, {key});
  ASSERT_EQ(results.size(), 3u);
  RngKey expected[] = {::simclr::foldIn(key, 0), ::simclr::foldIn(key, 1),
                       ::simclr::foldIn(::simclr::foldIn(key, 1), 3)};
  for (size_t i = 0; i < 3; ++i) {
    const RngKey *actual = std::get_if<RngKey>(&results[i]);
    ASSERT_NE(actual, nullptr) << "result " << i;
    EXPECT_EQ(*actual, expected[i]) << "result " << i;
  }
  EXPECT_NE(expected[0], expected[1]);
}

/// One view's augmentation chain as simclrc builds it: a folded key per step.
constexpr const char *kAugmentIR = R"mlir(
func.func @main(%key: !simclr.rng_key, %images: tensor<4x3x12x10xui8>)
    -> (tensor<4x3x8x8xf32>, tensor<4x3x8x8xf32>, tensor<4x3x8x8xf32>,
        tensor<4x3x8x8xf32>, tensor<4x3x8x8xf32>) {
  %k0 = simclr.rng_fold_in %key {tag = 0 : i64}
  %k1 = simclr.rng_fold_in %key {tag = 1 : i64}
  %k2 = simclr.rng_fold_in %key {tag = 2 : i64}
  %k3 = simclr.rng_fold_in %key {tag = 3 : i64}
  %k4 = simclr.rng_fold_in %key {tag = 4 : i64}
  %x = simclr.image_to_float %images : tensor<4x3x12x10xui8> -> tensor<4x3x12x10xf32>
  %crop = simclr.random_resized_crop %k0, %x {scale = array<f64: 0.08, 1.0>,
            ratio = array<f64: 0.75, 1.3333333333333333>, size = array<i64: 8, 8>}
          : tensor<4x3x12x10xf32> -> tensor<4x3x8x8xf32>
  %flip = simclr.horizontal_flip %k1, %crop {p = 5.000000e-01 : f64} : tensor<4x3x8x8xf32>
  %jitter = simclr.color_jitter %k2, %flip {brightness = 4.0e-01 : f64, contrast = 4.0e-01 : f64,
              saturation = 4.0e-01 : f64, hue = 1.0e-01 : f64, p = 8.0e-01 : f64} : tensor<4x3x8x8xf32>
  %gray = simclr.random_grayscale %k3, %jitter {p = 5.0e-01 : f64} : tensor<4x3x8x8xf32>
  %blur = simclr.gaussian_blur %k4, %gray {kernel_size = 3 : i64,
            sigma = array<f64: 0.1, 2.0>, p = 5.0e-01 : f64} : tensor<4x3x8x8xf32>
  return %crop, %flip, %jitter, %gray, %blur
      : tensor<4x3x8x8xf32>, tensor<4x3x8x8xf32>, tensor<4x3x8x8xf32>,
        tensor<4x3x8x8xf32>, tensor<4x3x8x8xf32>
}
)mlir";

/// A uint8 image batch of `shape` with random pixel values.
template <typename T>
ref::Tensor<T> randomImages(std::vector<int64_t> shape, std::mt19937_64 &rng) {
  ref::Tensor<T> images = ref::Tensor<T>::zeros(std::move(shape));
  std::uniform_int_distribution<int> pixel(0, 255);
  for (T &value : images.data)
    value = static_cast<T>(pixel(rng));
  return images;
}

/// Runs kAugmentIR in T and checks every op against the direct kernel call
/// with the same folded key.
template <typename T>
void checkAugmentChain(const SmallVector<RefValue<T>> &results, RngKey key,
                       const ref::Tensor<T> &images) {
  ASSERT_EQ(results.size(), 5u);
  auto stepKey = [&](uint64_t tag) { return ::simclr::foldIn(key, tag); };
  ref::Tensor<T> x = take(ref::imageToFloat(images));
  ref::Tensor<T> crop = take(ref::randomResizedCrop(
      x, stepKey(0), {0.08, 1.0}, {0.75, 1.3333333333333333}, 8, 8));
  expectSame(results[0], crop, "random_resized_crop");
  ref::Tensor<T> flip = take(ref::horizontalFlip(crop, stepKey(1), 0.5));
  expectSame(results[1], flip, "horizontal_flip");
  ref::Tensor<T> jitter = take(ref::colorJitter(
      flip, stepKey(2), ref::ColorJitterOptions{0.4, 0.4, 0.4, 0.1, 0.8}));
  expectSame(results[2], jitter, "color_jitter");
  ref::Tensor<T> gray = take(ref::randomGrayscale(jitter, stepKey(3), 0.5));
  expectSame(results[3], gray, "random_grayscale");
  expectSame(results[4],
             take(ref::gaussianBlur(gray, stepKey(4), 3, {0.1, 2.0}, 0.5)),
             "gaussian_blur");
}

TEST_F(ReferenceExecutorTest, AugmentationsEqualDirectKernelCalls) {
  RngKey key = ::simclr::keyFromSeed(2024);
  TensorD images = randomImages<double>({4, 3, 12, 10}, rng);
  SmallVector<ValueD> results = run<double>(kAugmentIR, {key, images});
  checkAugmentChain(results, key, images);
  // The ops draw: each one changes some image of this batch.
  for (size_t i = 1; i < results.size(); ++i)
    EXPECT_NE(tensorOf(results[i]).data, tensorOf(results[i - 1]).data)
        << "result " << i;
}

TEST_F(ReferenceExecutorTest, AugmentationsInFloat) {
  RngKey key = ::simclr::keyFromSeed(7);
  ref::Tensor<float> images = randomImages<float>({4, 3, 12, 10}, rng);
  SmallVector<RefValue<float>> results =
      run<float>(kAugmentIR, {RefValue<float>(key), RefValue<float>(images)});
  checkAugmentChain(results, key, images);
}

TEST_F(ReferenceExecutorTest, AugmentationNeedsAKey) {
  const char *ir = R"mlir(
func.func @main(%key: !simclr.rng_key, %x: tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32> {
  %y = simclr.horizontal_flip %key, %x {p = 5.000000e-01 : f64} : tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}
)mlir";
  std::string errors = runExpectingError(
      ir, {TensorD::zeros({2}), TensorD::zeros({2, 3, 4, 4})});
  EXPECT_NE(errors.find("argument #0 of type '!simclr.rng_key' must be an rng "
                        "key, got a tensor"),
            std::string::npos)
      << errors;
}

//===----------------------------------------------------------------------===//
// Loss and data movement
//===----------------------------------------------------------------------===//

TEST_F(ReferenceExecutorTest, NtXent) {
  const char *ir = R"mlir(
func.func @main(%z: tensor<8x5xf32>) -> tensor<f32> {
  %loss = simclr.nt_xent %z {temperature = 5.0e-01 : f64} : tensor<8x5xf32> -> tensor<f32>
  return %loss : tensor<f32>
}
)mlir";
  TensorD z = randomTensor({8, 5}, rng);
  SmallVector<ValueD> results = run<double>(ir, {z});
  ASSERT_EQ(results.size(), 1u);
  expectSame(results[0], take(ref::ntXent(z, 0.5)), "nt_xent");
}

TEST_F(ReferenceExecutorTest, DecomposedNtXentEqualsNtXent) {
  // The chain simclr-decompose-nt-xent produces, next to the fused op.
  const char *ir = R"mlir(
func.func @main(%z: tensor<8x5xf32>) -> (tensor<f32>, tensor<f32>) {
  %fused = simclr.nt_xent %z {temperature = 2.0e-01 : f64} : tensor<8x5xf32> -> tensor<f32>
  %u = simclr.l2_normalize %z {epsilon = 1.0e-12 : f64} : tensor<8x5xf32>
  %s = simclr.matmul %u, %u {transpose_lhs = false, transpose_rhs = true}
       : (tensor<8x5xf32>, tensor<8x5xf32>) -> tensor<8x8xf32>
  %l = simclr.masked_scaled_log_softmax %s {scale = 5.0 : f64} : tensor<8x8xf32>
  %p = simclr.gather_positives %l : tensor<8x8xf32> -> tensor<8xf32>
  %m = simclr.reduce_mean %p : tensor<8xf32> -> tensor<f32>
  %loss = simclr.scale %m {factor = -1.0 : f64} : tensor<f32>
  return %fused, %loss : tensor<f32>, tensor<f32>
}
)mlir";
  TensorD z = randomTensor({8, 5}, rng);
  SmallVector<ValueD> results = run<double>(ir, {z});
  ASSERT_EQ(results.size(), 2u);
  const TensorD &fused = tensorOf(results[0]);
  const TensorD &decomposed = tensorOf(results[1]);
  ASSERT_EQ(fused.shape, std::vector<int64_t>{});
  ASSERT_EQ(decomposed.shape, std::vector<int64_t>{});
  EXPECT_GT(std::abs(fused.data[0]), 0.1) << "a vacuous comparison";
  EXPECT_NEAR(fused.data[0], decomposed.data[0], kDecompositionTolerance);
}

TEST_F(ReferenceExecutorTest, DataMovementOps) {
  const char *ir = R"mlir(
func.func @main(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>, %c: tensor<f32>, %x: tensor<3x2x2x2xf32>)
    -> (tensor<6x3xf32>, tensor<2x3xf32>, tensor<3x2xf32>, tensor<2x3xf32>, tensor<4x2xf32>, tensor<2xf32>, tensor<f32>) {
  %cat = simclr.concat %a, %b {dim = 0 : i64} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<6x3xf32>
  %sl = simclr.slice %cat {dim = 0 : i64, offset = 3 : i64} : tensor<6x3xf32> -> tensor<2x3xf32>
  %re = simclr.reshape %sl : tensor<2x3xf32> -> tensor<3x2xf32>
  %br = simclr.broadcast %c : tensor<f32> -> tensor<2x3xf32>
  %fi = simclr.fill {value = 2.5 : f64} : tensor<4x2xf32>
  %su = simclr.sum_to_channels %x : tensor<3x2x2x2xf32> -> tensor<2xf32>
  %mean = simclr.reduce_mean %x : tensor<3x2x2x2xf32> -> tensor<f32>
  return %cat, %sl, %re, %br, %fi, %su, %mean
      : tensor<6x3xf32>, tensor<2x3xf32>, tensor<3x2xf32>, tensor<2x3xf32>, tensor<4x2xf32>, tensor<2xf32>, tensor<f32>
}
)mlir";
  TensorD a = randomTensor({2, 3}, rng);
  TensorD b = randomTensor({4, 3}, rng);
  TensorD c = TensorD::scalar(-0.75);
  TensorD x = randomTensor({3, 2, 2, 2}, rng);
  SmallVector<ValueD> results = run<double>(ir, {a, b, c, x});
  ASSERT_EQ(results.size(), 7u);
  TensorD cat = take(ref::concat<double>({&a, &b}, 0));
  TensorD sl = take(ref::slice(cat, 0, 3, 2));
  expectSame(results[0], cat, "concat");
  expectSame(results[1], sl, "slice");
  expectSame(results[2], take(ref::reshape(sl, {3, 2})), "reshape");
  expectSame(results[3], take(ref::broadcast(c, {2, 3})), "broadcast");
  expectSame(results[4], TensorD::full({4, 2}, 2.5), "fill");
  expectSame(results[5], take(ref::sumToChannels(x)), "sum_to_channels");
  expectSame(results[6], take(ref::reduceMean(x)), "reduce_mean");
  // The slice starts inside b: rows 1 and 2 of b.
  EXPECT_EQ(tensorOf(results[1]).data[0], b.data[3]);
}

//===----------------------------------------------------------------------===//
// Backward ops
//===----------------------------------------------------------------------===//

TEST_F(ReferenceExecutorTest, ConvBackward) {
  const char *ir = R"mlir(
func.func @main(%gy: tensor<2x6x3x3xf32>, %x: tensor<2x4x7x7xf32>, %w: tensor<6x2x3x3xf32>)
    -> (tensor<2x4x7x7xf32>, tensor<6x2x3x3xf32>) {
  %gx = simclr.conv2d_backward_input %gy, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>,
          dilation = array<i64: 2, 2>, groups = 2 : i64}
      : (tensor<2x6x3x3xf32>, tensor<6x2x3x3xf32>) -> tensor<2x4x7x7xf32>
  %gw = simclr.conv2d_backward_filter %gy, %x {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>,
          dilation = array<i64: 2, 2>, groups = 2 : i64}
      : (tensor<2x6x3x3xf32>, tensor<2x4x7x7xf32>) -> tensor<6x2x3x3xf32>
  return %gx, %gw : tensor<2x4x7x7xf32>, tensor<6x2x3x3xf32>
}
)mlir";
  TensorD gy = randomTensor({2, 6, 3, 3}, rng);
  TensorD x = randomTensor({2, 4, 7, 7}, rng);
  TensorD w = randomTensor({6, 2, 3, 3}, rng);
  SmallVector<ValueD> results = run<double>(ir, {gy, x, w});
  ASSERT_EQ(results.size(), 2u);
  ref::Conv2dGrads<double> grads =
      take(ref::conv2dBackward(gy, x, w, /*hasBias=*/false, convTestOptions()));
  expectSame(results[0], grads.dx, "conv2d_backward_input");
  expectSame(results[1], grads.dw, "conv2d_backward_filter");
}

TEST_F(ReferenceExecutorTest, NormBackward) {
  const char *ir = R"mlir(
func.func @main(%gy: tensor<4x3x2x2xf32>, %x: tensor<4x3x2x2xf32>, %g: tensor<3xf32>,
                %m: tensor<3xf32>, %v: tensor<3xf32>, %gu: tensor<4x6xf32>, %z: tensor<4x6xf32>)
    -> (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<4x6xf32>) {
  %gx, %gs, %gb = simclr.batch_norm_train_backward %gy, %x, %g, %m, %v {epsilon = 1.0e-05 : f64}
      : (tensor<4x3x2x2xf32>, tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
      -> (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>)
  %gz = simclr.l2_normalize_backward %gu, %z {epsilon = 1.0e-12 : f64} : tensor<4x6xf32>
  return %gx, %gs, %gb, %gz : tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<4x6xf32>
}
)mlir";
  TensorD gy = randomTensor({4, 3, 2, 2}, rng);
  TensorD x = randomTensor({4, 3, 2, 2}, rng);
  TensorD gamma = randomTensor({3}, rng);
  TensorD beta = TensorD::zeros({3});
  ref::BatchNormTrainResult<double> forward =
      take(ref::batchNormTrain(x, gamma, beta, 1e-5));
  TensorD gu = randomTensor({4, 6}, rng);
  TensorD z = randomTensor({4, 6}, rng);
  SmallVector<ValueD> results = run<double>(
      ir, {gy, x, gamma, forward.batchMean, forward.batchVar, gu, z});
  ASSERT_EQ(results.size(), 4u);
  ref::BatchNormGrads<double> grads = take(ref::batchNormTrainBackward(
      gy, x, gamma, forward.batchMean, forward.batchVar, 1e-5));
  expectSame(results[0], grads.dx, "grad_input");
  expectSame(results[1], grads.dgamma, "grad_scale");
  expectSame(results[2], grads.dbeta, "grad_shift");
  expectSame(results[3], take(ref::l2NormalizeBackward(gu, z, 1e-12)),
             "l2_normalize_backward");
}

TEST_F(ReferenceExecutorTest, ElementwiseAndPoolBackward) {
  const char *ir = R"mlir(
func.func @main(%gy: tensor<2x3x5x5xf32>, %y: tensor<2x3x5x5xf32>, %gp: tensor<2x3x3x3xf32>,
                %gh: tensor<2x3xf32>)
    -> (tensor<2x3x5x5xf32>, tensor<2x3x5x5xf32>, tensor<2x3x5x5xf32>) {
  %gr = simclr.relu_backward %gy, %y : tensor<2x3x5x5xf32>
  %gm = simclr.max_pool2d_backward %gp, %y {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>,
          padding = array<i64: 1, 1>} : (tensor<2x3x3x3xf32>, tensor<2x3x5x5xf32>) -> tensor<2x3x5x5xf32>
  %ga = simclr.global_avg_pool_backward %gh : tensor<2x3xf32> -> tensor<2x3x5x5xf32>
  return %gr, %gm, %ga : tensor<2x3x5x5xf32>, tensor<2x3x5x5xf32>, tensor<2x3x5x5xf32>
}
)mlir";
  TensorD gy = randomTensor({2, 3, 5, 5}, rng);
  TensorD y = randomTensor({2, 3, 5, 5}, rng);
  TensorD gp = randomTensor({2, 3, 3, 3}, rng);
  TensorD gh = randomTensor({2, 3}, rng);
  SmallVector<ValueD> results = run<double>(ir, {gy, y, gp, gh});
  ASSERT_EQ(results.size(), 3u);
  ref::Pool2dOptions pool;
  pool.kernel = {3, 3};
  pool.stride = {2, 2};
  pool.padding = {1, 1};
  expectSame(results[0], take(ref::reluBackward(gy, y)), "relu_backward");
  expectSame(results[1], take(ref::maxPool2dBackward(gp, y, pool)),
             "max_pool2d_backward");
  expectSame(results[2], take(ref::globalAvgPoolBackward(gh, {2, 3, 5, 5})),
             "global_avg_pool_backward");
}

TEST_F(ReferenceExecutorTest, LossBackward) {
  const char *ir = R"mlir(
func.func @main(%gl: tensor<f32>, %z: tensor<8x5xf32>, %gs: tensor<8x8xf32>, %s: tensor<8x8xf32>,
                %gp: tensor<8xf32>)
    -> (tensor<8x5xf32>, tensor<8x8xf32>, tensor<8x8xf32>) {
  %gz = simclr.nt_xent_backward %gl, %z {temperature = 5.0e-01 : f64} : tensor<f32>, tensor<8x5xf32>
  %l = simclr.masked_scaled_log_softmax %s {scale = 2.0 : f64} : tensor<8x8xf32>
  %gm = simclr.masked_scaled_log_softmax_backward %gs, %l {scale = 2.0 : f64} : tensor<8x8xf32>
  %gg = simclr.gather_positives_backward %gp : tensor<8xf32> -> tensor<8x8xf32>
  return %gz, %gm, %gg : tensor<8x5xf32>, tensor<8x8xf32>, tensor<8x8xf32>
}
)mlir";
  TensorD gl = TensorD::scalar(1.5);
  TensorD z = randomTensor({8, 5}, rng);
  TensorD gs = randomTensor({8, 8}, rng);
  TensorD s = randomTensor({8, 8}, rng);
  TensorD gp = randomTensor({8}, rng);
  SmallVector<ValueD> results = run<double>(ir, {gl, z, gs, s, gp});
  ASSERT_EQ(results.size(), 3u);
  TensorD l = take(ref::maskedScaledLogSoftmax(s, 2.0));
  expectSame(results[0], take(ref::ntXentBackward(gl, z, 0.5)),
             "nt_xent_backward");
  expectSame(results[1], take(ref::maskedScaledLogSoftmaxBackward(gs, l, 2.0)),
             "masked_scaled_log_softmax_backward");
  expectSame(results[2], take(ref::gatherPositivesBackward(gp)),
             "gather_positives_backward");
}

//===----------------------------------------------------------------------===//
// Optimizers and schedule
//===----------------------------------------------------------------------===//

constexpr const char *kLrScheduleIR = R"mlir(
func.func @main(%step: tensor<i64>) -> tensor<f32> {
  %lr = simclr.lr_schedule %step {base_lr = 1.5 : f64, final_lr = 0.25 : f64,
          warmup_steps = 10 : i64, total_steps = 50 : i64} : tensor<i64> -> tensor<f32>
  return %lr : tensor<f32>
}
)mlir";

TEST_F(ReferenceExecutorTest, LrScheduleWarmupDecayAndHold) {
  for (int64_t step : {int64_t(0), int64_t(4), int64_t(10), int64_t(33),
                       int64_t(50), int64_t(70)}) {
    SmallVector<ValueD> results = run<double>(kLrScheduleIR, {step});
    ASSERT_EQ(results.size(), 1u);
    expectSame(
        results[0],
        TensorD::scalar(take(ref::lrWarmupCosine(step, 1.5, 0.25, 10, 50))),
        "lr_schedule");
  }
}

TEST_F(ReferenceExecutorTest, SgdUpdate) {
  const char *ir = R"mlir(
func.func @main(%p: tensor<4x3xf32>, %g: tensor<4x3xf32>, %b: tensor<4x3xf32>, %lr: tensor<f32>)
    -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  %p2, %b2 = simclr.sgd_update %p, %g, %b, %lr {momentum = 9.0e-01 : f64,
               weight_decay = 1.0e-04 : f64} : tensor<4x3xf32>, tensor<f32>
  return %p2, %b2 : tensor<4x3xf32>, tensor<4x3xf32>
}
)mlir";
  TensorD param = randomTensor({4, 3}, rng);
  TensorD grad = randomTensor({4, 3}, rng);
  TensorD buffer = randomTensor({4, 3}, rng);
  TensorD lr = TensorD::scalar(0.3);
  SmallVector<ValueD> results = run<double>(ir, {param, grad, buffer, lr});
  ASSERT_EQ(results.size(), 2u);
  ref::SgdOptions options;
  options.learningRate = 0.3;
  options.momentum = 0.9;
  options.weightDecay = 1e-4;
  check(ref::sgdStep(param, grad, buffer, options));
  expectSame(results[0], param, "new_param");
  expectSame(results[1], buffer, "new_momentum_buffer");
}

TEST_F(ReferenceExecutorTest, AdamWUpdateUsesOneBasedStep) {
  const char *ir = R"mlir(
func.func @main(%p: tensor<4x3xf32>, %g: tensor<4x3xf32>, %m: tensor<4x3xf32>, %v: tensor<4x3xf32>,
                %lr: tensor<f32>, %step: tensor<i64>)
    -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %p2, %m2, %v2 = simclr.adamw_update %p, %g, %m, %v, %lr, %step {beta1 = 9.0e-01 : f64,
      beta2 = 9.990000e-01 : f64, epsilon = 1.0e-08 : f64, weight_decay = 1.0e-02 : f64}
      : tensor<4x3xf32>, tensor<f32>
  return %p2, %m2, %v2 : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}
)mlir";
  constexpr int64_t kStep = 3;
  TensorD param = randomTensor({4, 3}, rng);
  TensorD grad = randomTensor({4, 3}, rng);
  TensorD expAvg = randomTensor({4, 3}, rng);
  TensorD expAvgSq = randomTensor({4, 3}, rng, 0.0, 1.0);
  TensorD lr = TensorD::scalar(1e-3);
  SmallVector<ValueD> results =
      run<double>(ir, {param, grad, expAvg, expAvgSq, lr, kStep});
  ASSERT_EQ(results.size(), 3u);
  ref::AdamWOptions options;
  options.learningRate = 1e-3;
  options.beta1 = 0.9;
  options.beta2 = 0.999;
  options.epsilon = 1e-8;
  options.weightDecay = 1e-2;
  TensorD wrongParam = param, wrongM = expAvg, wrongV = expAvgSq;
  check(ref::adamWStep(param, grad, expAvg, expAvgSq, kStep + 1, options));
  expectSame(results[0], param, "new_param");
  expectSame(results[1], expAvg, "new_exp_avg");
  expectSame(results[2], expAvgSq, "new_exp_avg_sq");
  // Passing the 0-based step straight through would differ.
  check(ref::adamWStep(wrongParam, grad, wrongM, wrongV, kStep, options));
  EXPECT_NE(tensorOf(results[0]).data, wrongParam.data);
}

TEST_F(ReferenceExecutorTest, LarsUpdateWithAndWithoutAdaptation) {
  const char *ir = R"mlir(
func.func @main(%p: tensor<4x3xf32>, %g: tensor<4x3xf32>, %b: tensor<4x3xf32>, %lr: tensor<f32>)
    -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %p2, %b2 = simclr.lars_update %p, %g, %b, %lr {momentum = 9.0e-01 : f64,
      weight_decay = 1.0e-06 : f64, trust_coefficient = 1.0e-03 : f64, layer_adaptation = true}
      : tensor<4x3xf32>, tensor<f32>
  %p3, %b3 = simclr.lars_update %p, %g, %b, %lr {momentum = 9.0e-01 : f64,
      weight_decay = 0.0 : f64, trust_coefficient = 1.0e-03 : f64, layer_adaptation = false}
      : tensor<4x3xf32>, tensor<f32>
  return %p2, %b2, %p3, %b3 : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}
)mlir";
  TensorD param = randomTensor({4, 3}, rng);
  TensorD grad = randomTensor({4, 3}, rng);
  TensorD buffer = randomTensor({4, 3}, rng);
  TensorD lr = TensorD::scalar(4.8);
  SmallVector<ValueD> results = run<double>(ir, {param, grad, buffer, lr});
  ASSERT_EQ(results.size(), 4u);
  ref::LarsOptions options;
  options.learningRate = 4.8;
  options.momentum = 0.9;
  options.weightDecay = 1e-6;
  options.eta = 1e-3;
  TensorD adaptedParam = param, adaptedBuffer = buffer;
  check(ref::larsStep(adaptedParam, grad, adaptedBuffer, options));
  options.weightDecay = 0;
  options.layerAdaptation = false;
  TensorD plainParam = param, plainBuffer = buffer;
  check(ref::larsStep(plainParam, grad, plainBuffer, options));
  expectSame(results[0], adaptedParam, "adapted new_param");
  expectSame(results[1], adaptedBuffer, "adapted new_momentum_buffer");
  expectSame(results[2], plainParam, "plain new_param");
  expectSame(results[3], plainBuffer, "plain new_momentum_buffer");
}

//===----------------------------------------------------------------------===//
// A whole forward pass
//===----------------------------------------------------------------------===//

TEST_F(ReferenceExecutorTest, EncoderHeadAndLossEqualChainedKernels) {
  const char *ir = R"mlir(
func.func @main(%x: tensor<4x3x6x6xf32>, %w: tensor<5x3x3x3xf32>, %g: tensor<5xf32>,
                %b: tensor<5xf32>, %pw: tensor<4x5xf32>, %pb: tensor<4xf32>) -> tensor<f32> {
  %c = simclr.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>,
         dilation = array<i64: 1, 1>, groups = 1 : i64}
       : (tensor<4x3x6x6xf32>, tensor<5x3x3x3xf32>) -> tensor<4x5x6x6xf32>
  %n, %mean, %var = simclr.batch_norm_train %c, %g, %b {epsilon = 1.0e-05 : f64}
      : (tensor<4x5x6x6xf32>, tensor<5xf32>, tensor<5xf32>)
      -> (tensor<4x5x6x6xf32>, tensor<5xf32>, tensor<5xf32>)
  %r = simclr.relu %n : tensor<4x5x6x6xf32>
  %h = simclr.global_avg_pool %r : tensor<4x5x6x6xf32> -> tensor<4x5xf32>
  %z = simclr.linear %h, %pw, %pb : (tensor<4x5xf32>, tensor<4x5xf32>, tensor<4xf32>) -> tensor<4x4xf32>
  %loss = simclr.nt_xent %z {temperature = 1.0e-01 : f64} : tensor<4x4xf32> -> tensor<f32>
  return %loss : tensor<f32>
}
)mlir";
  TensorD x = randomTensor({4, 3, 6, 6}, rng);
  TensorD w = randomTensor({5, 3, 3, 3}, rng);
  TensorD gamma = randomTensor({5}, rng);
  TensorD beta = randomTensor({5}, rng);
  TensorD pw = randomTensor({4, 5}, rng);
  TensorD pb = randomTensor({4}, rng);
  SmallVector<ValueD> results = run<double>(ir, {x, w, gamma, beta, pw, pb});
  ASSERT_EQ(results.size(), 1u);

  ref::Conv2dOptions options;
  options.padding = {1, 1};
  TensorD c = take(ref::conv2d<double>(x, w, nullptr, options));
  TensorD n = take(ref::batchNormTrain(c, gamma, beta, 1e-5)).y;
  TensorD h = take(ref::globalAvgPool(take(ref::relu(n))));
  TensorD z = take(ref::linear(h, pw, &pb));
  expectSame(results[0], take(ref::ntXent(z, 0.1)), "loss");
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST_F(ReferenceExecutorTest, WrongArgumentCount) {
  std::string errors = runExpectingError(kLrScheduleIR, {});
  EXPECT_NE(errors.find("expected 1 arguments, got 0"), std::string::npos)
      << errors;
}

TEST_F(ReferenceExecutorTest, WrongShapeNamesTheArgument) {
  std::string errors = runExpectingError(kConvIR, {TensorD::zeros({2, 4, 7, 7}),
                                                   TensorD::zeros({6, 2, 3, 2}),
                                                   TensorD::zeros({6})});
  EXPECT_NE(errors.find("argument #1 has shape [6, 2, 3, 2], but the function "
                        "expects [6, 2, 3, 3]"),
            std::string::npos)
      << errors;
}

TEST_F(ReferenceExecutorTest, WrongKindNamesTheArgument) {
  std::string errors = runExpectingError(kLrScheduleIR, {TensorD::scalar(3)});
  EXPECT_NE(errors.find("argument #0 of type 'tensor<i64>' must be a step, "
                        "got a tensor"),
            std::string::npos)
      << errors;
}

TEST_F(ReferenceExecutorTest, InconsistentTensorIsRejected) {
  TensorD broken = TensorD::zeros({6});
  broken.data.pop_back();
  std::string errors =
      runExpectingError(kConvIR, {TensorD::zeros({2, 4, 7, 7}),
                                  TensorD::zeros({6, 2, 3, 3}), broken});
  EXPECT_NE(errors.find("argument #2 holds 5 elements"), std::string::npos)
      << errors;
}

TEST_F(ReferenceExecutorTest, OpOfAnotherDialectIsADiagnostic) {
  // Every simclr op has a kernel; a call is outside what the executor runs.
  const char *ir = R"mlir(
func.func private @helper(tensor<2xf32>) -> tensor<2xf32>
func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = func.call @helper(%x) : (tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}
)mlir";
  std::string errors = runExpectingError(ir, {TensorD::zeros({2})});
  EXPECT_NE(errors.find("'func.call' op the reference executor has no kernel "
                        "for this op"),
            std::string::npos)
      << errors;
}

TEST_F(ReferenceExecutorTest, KernelErrorIsForwarded) {
  const char *ir = R"mlir(
func.func @main(%images: tensor<1x1x1x2xui8>) -> tensor<1x1x1x2xf32> {
  %x = simclr.image_to_float %images : tensor<1x1x1x2xui8> -> tensor<1x1x1x2xf32>
  return %x : tensor<1x1x1x2xf32>
}
)mlir";
  std::string errors = runExpectingError(ir, {TensorD({1, 1, 1, 2}, {3, 256})});
  EXPECT_NE(errors.find("'simclr.image_to_float' op reference kernel failed: "
                        "imageToFloat: operand 'x'"),
            std::string::npos)
      << errors;
}

TEST_F(ReferenceExecutorTest, InvalidIRIsRejectedByTheVerifier) {
  // Parsing verifies too, so build an invalid op after parsing: a relu whose
  // result type no longer matches its operand.
  func::FuncOp func = parse(R"mlir(
func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = simclr.relu %x : tensor<2xf32>
  return %y : tensor<2xf32>
}
)mlir");
  ASSERT_TRUE(func);
  Operation &relu = func.getBody().front().front();
  relu.getResult(0).setType(
      RankedTensorType::get({3}, Float32Type::get(&context)));
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
    diagnostics += diagnostic.str() + "\n";
    return success();
  });
  EXPECT_TRUE(failed(executeReference<double>(func, {TensorD::zeros({2})})));
  EXPECT_FALSE(diagnostics.empty());
}

} // namespace
} // namespace mlir::simclr
