//===- ExecutorTest.cpp - Executor: externs vs reference, state, steps ----===//
//
// Tolerances: oneDNN and dnnl_sgemm accumulate in float32 in their own order;
// the references run in float64 on the same float32 inputs. With K terms
// of magnitude up to max|ref| the float32 rounding error is at most about
// K * 2^-24 relative (K = 144 for a 3x3x16 window: 9e-6), so
// kRelativeTolerance = 1e-4 of max|ref| leaves a 10x margin and still fails
// on any wrong index, padding or transpose (errors of order 1).
//
//===----------------------------------------------------------------------===//
#include "TestArtifact.h"
#include "TestKernels.h"
#include "../common/LayoutCopy.h"

#include "simclr/Reference/Kernels.h"
#include "simclr/Runtime/Executor.h"

#include "Cpu/CpuExterns.h"
#include "simclr/Support/ParameterInit.h"
#include "simclr/Support/Safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <random>

namespace simclr {
namespace {

using artifact::AttrMap;
using artifact::BufferRegion;
using artifact::Plan;
using runtime::Artifact;
using runtime::Executor;
using test::PlanBuilder;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Shape = std::vector<int64_t>;

constexpr double kRelativeTolerance = 1e-4;
/// Fixed seed of the random operands.
constexpr uint32_t kDataSeed = 1234;
constexpr int kThreads = 2;

std::vector<float> randomValues(int64_t count, std::mt19937 &rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(count));
  for (float &v : values)
    v = dist(rng);
  return values;
}

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t e : shape)
    n *= e;
  return n;
}

ref::Tensor<double> toDouble(const Shape &shape, const std::vector<float> &v) {
  return ref::Tensor<double>(shape, std::vector<double>(v.begin(), v.end()));
}

template <typename T> T take(Expected<T> e) {
  EXPECT_TRUE(e) << e.status().message();
  return e ? std::move(*e) : T();
}

/// max |got - want| <= kRelativeTolerance * max |want|.
void expectClose(const std::vector<float> &got, const ref::Tensor<double> &want,
                 const std::string &what) {
  ASSERT_EQ(got.size(), want.data.size()) << what;
  double maxRef = 0, maxErr = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    maxRef = std::max(maxRef, std::abs(want.data[i]));
    maxErr = std::max(maxErr, std::abs(got[i] - want.data[i]));
  }
  ASSERT_GT(maxRef, 0) << what << ": the reference is all zeros";
  EXPECT_LE(maxErr, kRelativeTolerance * maxRef)
      << what << ": max error " << maxErr << ", max |ref| " << maxRef;
}

std::unique_ptr<Executor> makeExecutor(const Plan &plan) {
  std::string dir = test::writeArtifact(plan);
  Expected<std::shared_ptr<const Artifact>> a = Artifact::load(dir);
  EXPECT_TRUE(a) << a.status().message();
  if (!a)
    return nullptr;
  Expected<std::unique_ptr<Executor>> e = Executor::create(*a, {kThreads});
  EXPECT_TRUE(e) << e.status().message();
  return e ? std::move(*e) : nullptr;
}

/// Executor::create's error for `plan`, its "DIR/plan.json: " prefix
/// replaced by "PLAN: " (DIR is a fresh temporary directory).
std::string createError(const Plan &plan) {
  std::string dir = test::writeArtifact(plan);
  Expected<std::shared_ptr<const Artifact>> a = Artifact::load(dir);
  EXPECT_TRUE(a) << a.status().message();
  if (!a)
    return "";
  Expected<std::unique_ptr<Executor>> e = Executor::create(*a, {kThreads});
  EXPECT_FALSE(e);
  if (e)
    return "";
  std::string message = e.status().message();
  std::string prefix = dir + "/plan.json: ";
  if (message.rfind(prefix, 0) != 0)
    return message;
  return "PLAN: " + message.substr(prefix.size());
}

/// `plain` (row-major NCHW values of `shape`) in `layout`, and back; a
/// plain tensor of any rank (matmul operands are 2-D) is left as it is.
std::vector<float> toLayout(const std::vector<float> &plain, const Shape &shape,
                            Layout layout) {
  if (layout == Layout::kPlain)
    return plain;
  return test::toLayout(plain, {shape[0], shape[1], shape[2], shape[3]},
                        layout);
}
std::vector<float> fromLayout(const std::vector<float> &laid, const Shape &shape,
                              Layout layout) {
  if (layout == Layout::kPlain)
    return laid;
  return test::fromLayout(laid, {shape[0], shape[1], shape[2], shape[3]},
                          layout);
}

/// Runs one extern entry on inputs of `inShapes` (random plain values,
/// returned in `inputs`) into an output of `outShape`; returns the output,
/// plain. `layouts` (inputs, output) lays the buffers out; with
/// `workspaceBytes` > 0 the entry gets a planned workspace of that size.
std::vector<float> runExtern(const std::string &name,
                             const std::vector<Shape> &inShapes,
                             const Shape &outShape, const AttrMap &attrs,
                             std::vector<std::vector<float>> &inputs,
                             std::array<Layout, 3> layouts = {},
                             int64_t workspaceBytes = 0) {
  PlanBuilder b;
  int64_t in0 = b.buffer("%in0", DType::kF32, inShapes[0], BufferRegion::kInput);
  int64_t in1 = b.buffer("%in1", DType::kF32, inShapes[1], BufferRegion::kInput);
  int64_t out = b.buffer("%out", DType::kF32, outShape, BufferRegion::kArena);
  std::vector<int64_t> operands = {in0, in1, out};
  if (workspaceBytes > 0)
    operands.push_back(b.buffer("%workspace", DType::kU8, {workspaceBytes},
                                BufferRegion::kArena));
  artifact::Program &p = b.program("single");
  p.inputs = {{"in0", in0}, {"in1", in1}};
  p.outputs = {{"out", out}};
  artifact::ScheduleEntry entry = test::externEntry(name, operands, attrs);
  entry.numOutputs = 1;
  p.schedule.push_back(entry);
  artifact::Plan plan = b.finish();
  for (artifact::Buffer &buffer : plan.buffers) {
    if (buffer.id == in0)
      buffer.layout = layouts[0];
    if (buffer.id == in1)
      buffer.layout = layouts[1];
    if (buffer.id == out)
      buffer.layout = layouts[2];
  }
  std::unique_ptr<Executor> exec = makeExecutor(plan);
  if (!exec)
    return {};
  std::mt19937 rng(kDataSeed);
  inputs = {randomValues(numElements(inShapes[0]), rng),
            randomValues(numElements(inShapes[1]), rng)};
  std::vector<float> laid0 = toLayout(inputs[0], inShapes[0], layouts[0]);
  std::vector<float> laid1 = toLayout(inputs[1], inShapes[1], layouts[1]);
  Status status =
      exec->run("single", {{"in0", laid0.data()}, {"in1", laid1.data()}});
  EXPECT_TRUE(status.isOk()) << status.message();
  const float *data = static_cast<const float *>(exec->bufferData(out));
  return fromLayout(std::vector<float>(data, data + numElements(outShape)),
                    outShape, layouts[2]);
}

//===----------------------------------------------------------------------===//
// Externs against lib/Reference
//===----------------------------------------------------------------------===//

struct ConvCase {
  const char *label;
  Shape x, w;
  ref::Conv2dOptions options;
};

/// gtest prints a case by its label instead of its bytes.
void PrintTo(const ConvCase &c, std::ostream *os) { *os << c.label; }

AttrMap convAttrs(const ref::Conv2dOptions &o) {
  return {{"stride", std::vector<int64_t>(o.stride.begin(), o.stride.end())},
          {"padding", std::vector<int64_t>(o.padding.begin(), o.padding.end())},
          {"dilation", std::vector<int64_t>(o.dilation.begin(), o.dilation.end())},
          {"groups", o.groups}};
}

class RuntimeExecutorConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(RuntimeExecutorConvTest, MatchesTheReference) {
  const ConvCase &c = GetParam();
  ref::Conv2dOptions o = c.options;
  Shape y = {c.x[0], c.w[0],
             ref::convOutputSize(c.x[2], c.w[2], o.stride[0], o.padding[0], o.dilation[0]),
             ref::convOutputSize(c.x[3], c.w[3], o.stride[1], o.padding[1], o.dilation[1])};
  AttrMap attrs = convAttrs(o);

  std::vector<std::vector<float>> in;
  std::vector<float> got = runExtern("conv2d", {c.x, c.w}, y, attrs, in);
  ref::Tensor<double> x = toDouble(c.x, in[0]), w = toDouble(c.w, in[1]);
  expectClose(got, take(ref::conv2d<double>(x, w, nullptr, o)), "conv2d");

  got = runExtern("conv2d_backward_input", {y, c.w}, c.x, attrs, in);
  ref::Tensor<double> dy = toDouble(y, in[0]);
  w = toDouble(c.w, in[1]);
  ref::Tensor<double> anyX = ref::Tensor<double>::zeros(c.x);
  expectClose(got, take(ref::conv2dBackward<double>(dy, anyX, w, false, o)).dx,
              "conv2d_backward_input");

  got = runExtern("conv2d_backward_filter", {y, c.x}, c.w, attrs, in);
  dy = toDouble(y, in[0]);
  x = toDouble(c.x, in[1]);
  ref::Tensor<double> anyW = ref::Tensor<double>::zeros(c.w);
  expectClose(got, take(ref::conv2dBackward<double>(dy, x, anyW, false, o)).dw,
              "conv2d_backward_filter");
}

ref::Conv2dOptions options(int64_t stride, int64_t padding, int64_t dilation = 1,
                           int64_t groups = 1) {
  return {{stride, stride}, {padding, padding}, {dilation, dilation}, groups};
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RuntimeExecutorConvTest,
    ::testing::Values(
        ConvCase{"k3_s1_p1_c16", {2, 16, 8, 8}, {8, 16, 3, 3}, options(1, 1)},
        ConvCase{"k3_s2_p1", {2, 8, 8, 8}, {16, 8, 3, 3}, options(2, 1)},
        // Odd input: the last window row of the stride drops off (floor).
        ConvCase{"k3_s2_p1_odd", {3, 4, 9, 7}, {6, 4, 3, 3}, options(2, 1)},
        ConvCase{"k1_s1_p0", {2, 8, 6, 6}, {4, 8, 1, 1}, options(1, 0)},
        ConvCase{"k1_s2_p0", {2, 8, 8, 8}, {16, 8, 1, 1}, options(2, 0)},
        ConvCase{"k3_s1_p2_dilation2", {2, 4, 8, 8}, {4, 4, 3, 3}, options(1, 2, 2)},
        ConvCase{"k3_s1_p1_groups2", {2, 8, 6, 6}, {6, 4, 3, 3}, options(1, 1, 1, 2)},
        ConvCase{"k7_s2_p3_stem", {2, 3, 16, 16}, {8, 3, 7, 7}, options(2, 3)}),
    [](const ::testing::TestParamInfo<ConvCase> &info) {
      return std::string(info.param.label);
    });

/// Convolutions on activations in the blocked layouts simclr-assign-layouts
/// gives them (and a plain input beside a blocked output, as the stem
/// reads the views), with the workspace simclrc plans for them.
TEST(RuntimeExecutorConvTest, BlockedActivationsWithPlannedWorkspace) {
  ref::Conv2dOptions o = options(1, 1);
  AttrMap attrs = convAttrs(o);
  Shape x = {2, 16, 6, 6}, w = {16, 16, 3, 3}, y = {2, 16, 6, 6};
  Shape stemX = {2, 1, 6, 6}, stemW = {16, 1, 3, 3};
  auto workspace = [&](const std::string &name, std::vector<Shape> shapes,
                       std::array<Layout, 3> layouts) {
    std::vector<artifact::Buffer> buffers(3);
    std::vector<const artifact::Buffer *> pointers;
    for (size_t i = 0; i < 3; ++i) {
      buffers[i].shape = shapes[i];
      buffers[i].layout = layouts[i];
      buffers[i].bytes = numElements(shapes[i]) * 4;
      pointers.push_back(&buffers[i]);
    }
    artifact::ScheduleEntry entry = test::externEntry(name, {0, 1, 2}, attrs);
    entry.numOutputs = 1;
    Expected<int64_t> bytes = runtime::cpuExternWorkspaceBytes(entry, pointers);
    EXPECT_TRUE(bytes) << bytes.status().message();
    return bytes ? *bytes : 0;
  };
  for (Layout blocked : {Layout::kNChw8c, Layout::kNChw16c}) {
    SCOPED_TRACE(std::string(layoutName(blocked)));
    std::vector<std::vector<float>> in;
    std::array<Layout, 3> forward = {blocked, Layout::kPlain, blocked};
    std::vector<float> got =
        runExtern("conv2d", {x, w}, y, attrs, in, forward,
                  workspace("conv2d", {x, w, y}, forward));
    expectClose(got,
                take(ref::conv2d<double>(toDouble(x, in[0]), toDouble(w, in[1]),
                                         nullptr, o)),
                "conv2d");
    got = runExtern("conv2d_backward_input", {y, w}, x, attrs, in, forward,
                    workspace("conv2d_backward_input", {y, w, x}, forward));
    expectClose(got,
                take(ref::conv2dBackward<double>(
                         toDouble(y, in[0]), ref::Tensor<double>::zeros(x),
                         toDouble(w, in[1]), false, o))
                    .dx,
                "conv2d_backward_input");
    std::array<Layout, 3> filter = {blocked, blocked, Layout::kPlain};
    got = runExtern("conv2d_backward_filter", {y, x}, w, attrs, in, filter,
                    workspace("conv2d_backward_filter", {y, x, w}, filter));
    expectClose(got,
                take(ref::conv2dBackward<double>(
                         toDouble(y, in[0]), toDouble(x, in[1]),
                         ref::Tensor<double>::zeros(w), false, o))
                    .dw,
                "conv2d_backward_filter");
    // The stem: plain one-channel views, blocked output.
    std::array<Layout, 3> stem = {Layout::kPlain, Layout::kPlain, blocked};
    got = runExtern("conv2d", {stemX, stemW}, y, attrs, in, stem,
                    workspace("conv2d", {stemX, stemW, y}, stem));
    expectClose(got,
                take(ref::conv2d<double>(toDouble(stemX, in[0]),
                                         toDouble(stemW, in[1]), nullptr, o)),
                "stem conv2d");
    std::array<Layout, 3> stemFilter = {blocked, Layout::kPlain, Layout::kPlain};
    got = runExtern("conv2d_backward_filter", {y, stemX}, stemW, attrs, in,
                    stemFilter,
                    workspace("conv2d_backward_filter", {y, stemX, stemW},
                              stemFilter));
    expectClose(got,
                take(ref::conv2dBackward<double>(
                         toDouble(y, in[0]), toDouble(stemX, in[1]),
                         ref::Tensor<double>::zeros(stemW), false, o))
                    .dw,
                "stem conv2d_backward_filter");
  }
}

TEST(RuntimeExecutorMatmulTest, MatchesTheReferenceForEveryTranspose) {
  constexpr int64_t m = 7, k = 13, n = 5;
  for (int ta = 0; ta <= 1; ++ta)
    for (int tb = 0; tb <= 1; ++tb) {
      Shape a = ta ? Shape{k, m} : Shape{m, k};
      Shape b = tb ? Shape{n, k} : Shape{k, n};
      std::vector<std::vector<float>> in;
      std::vector<float> got = runExtern(
          "matmul", {a, b}, {m, n},
          {{"transpose_lhs", int64_t{ta}}, {"transpose_rhs", int64_t{tb}}}, in);
      expectClose(got,
                  take(ref::matmul<double>(toDouble(a, in[0]), toDouble(b, in[1]),
                                           ta, tb)),
                  "matmul transpose_lhs=" + std::to_string(ta) +
                      " transpose_rhs=" + std::to_string(tb));
    }
}

TEST(RuntimeExecutorTest, ConvReluMatmulProgramMatchesTheReference) {
  using testkernels::kElementwiseCount;
  PlanBuilder b;
  Shape xShape = {2, 3, 8, 8}, wShape = {4, 3, 3, 3}, yShape = {2, 4, 8, 8};
  ASSERT_EQ(numElements(yShape), kElementwiseCount);
  int64_t w = b.buffer("conv.weight", DType::kF32, wShape, BufferRegion::kState);
  int64_t w2 = b.buffer("fc.weight", DType::kF32, {5, 256}, BufferRegion::kState);
  int64_t x = b.buffer("%x", DType::kF32, xShape, BufferRegion::kInput);
  int64_t y = b.buffer("%y", DType::kF32, yShape, BufferRegion::kArena);
  int64_t r = b.buffer("%r", DType::kF32, {2, 256}, BufferRegion::kArena);
  int64_t c = b.buffer("%c", DType::kF32, {2, 5}, BufferRegion::kArena);
  b.state("conv.weight", w, "kaiming_normal_fan_out");
  b.state("fc.weight", w2, "uniform_fan_in", 256);
  artifact::Program &p = b.program("forward");
  p.inputs = {{"x", x}};
  p.outputs = {{"c", c}};
  p.schedule = {test::externEntry("conv2d", {x, w, y}, convAttrs(options(1, 1))),
                test::kernelEntry("simclr_test_relu", {y, r}, 1),
                test::externEntry("matmul", {r, w2, c},
                                  {{"transpose_lhs", int64_t{0}},
                                   {"transpose_rhs", int64_t{1}}})};
  std::unique_ptr<Executor> exec = makeExecutor(b.finish());
  ASSERT_TRUE(exec);
  ASSERT_TRUE(exec->initializeState(7).isOk());
  std::mt19937 rng(kDataSeed);
  std::vector<float> xData = randomValues(numElements(xShape), rng);
  Status status = exec->run("forward", {{"x", xData.data()}});
  ASSERT_TRUE(status.isOk()) << status.message();

  auto stateValues = [&](const std::string &name, const Shape &shape) {
    const float *data = static_cast<const float *>(take(exec->stateTensor(name)).data);
    return toDouble(shape, std::vector<float>(data, data + numElements(shape)));
  };
  ref::Tensor<double> yRef = take(ref::conv2d<double>(
      toDouble(xShape, xData), stateValues("conv.weight", wShape), nullptr,
      options(1, 1)));
  ref::Tensor<double> rRef({2, 256}, yRef.data);
  for (double &v : rRef.data)
    v = std::max(v, 0.0);
  ref::Tensor<double> cRef =
      take(ref::matmul<double>(rRef, stateValues("fc.weight", {5, 256}), false, true));
  const float *got = static_cast<const float *>(exec->bufferData(c));
  expectClose(std::vector<float>(got, got + 10), cRef, "conv -> relu -> matmul");
}

TEST(RuntimeExecutorTest, ExternErrorsNameTheEntry) {
  auto plan = [](const std::string &name, Shape outShape, int64_t numOperands) {
    PlanBuilder b;
    int64_t a = b.buffer("%a", DType::kF32, {4, 3}, BufferRegion::kInput);
    int64_t w = b.buffer("%w", DType::kF32, {3, 2}, BufferRegion::kInput);
    int64_t c = b.buffer("%c", DType::kF32, outShape, BufferRegion::kArena);
    artifact::Program &p = b.program("forward");
    p.schedule.push_back(test::kernelEntry("simclr_test_relu", {c, c}, 1));
    std::vector<int64_t> operands = {a, w, c};
    operands.resize(static_cast<size_t>(numOperands));
    p.schedule.push_back(test::externEntry(name, operands));
    return b.finish();
  };
  EXPECT_EQ(createError(plan("conv3d", {4, 2}, 3)),
            "PLAN: program 'forward': schedule[1] (extern 'conv3d'): "
                  "unknown extern (the CPU table has conv2d, "
                  "conv2d_backward_input, conv2d_backward_filter, matmul)");
  EXPECT_EQ(createError(plan("matmul", {4, 2}, 2)),
            "PLAN: program 'forward': schedule[1] (extern 'matmul'): "
                  "expects 2 inputs and 1 output, got 2 inputs and 0 outputs");
  EXPECT_EQ(createError(plan("matmul", {4, 3}, 3)),
            "PLAN: program 'forward': schedule[1] (extern 'matmul'): "
                  "result (operand 2, '%c', [4, 3]) should be [4, 2]");
  EXPECT_EQ(createError(plan("conv2d", {4, 2}, 3)),
            "PLAN: program 'forward': schedule[1] (extern 'conv2d'): "
                  "input x (operand 0, '%a', [4, 3]) must have rank 4");

  PlanBuilder b;
  int64_t x = b.buffer("%x", DType::kF32, {2, 4, 8, 8}, BufferRegion::kInput);
  int64_t w = b.buffer("%w", DType::kF32, {8, 4, 3, 3}, BufferRegion::kInput);
  int64_t y = b.buffer("%y", DType::kF32, {2, 8, 8, 8}, BufferRegion::kArena);
  b.program("forward").schedule.push_back(
      test::externEntry("conv2d", {x, w, y}, convAttrs(options(2, 1))));
  EXPECT_EQ(createError(b.finish()),
            "PLAN: program 'forward': schedule[0] (extern 'conv2d'): "
                  "output y (operand 2, '%y', [2, 8, 8, 8]) should be [2, 8, 4, 4] "
                  "for input x (operand 0, '%x', [2, 4, 8, 8]) and filter w "
                  "(operand 1, '%w', [8, 4, 3, 3])");
}

//===----------------------------------------------------------------------===//
// State: initialization, checkpoints
//===----------------------------------------------------------------------===//

Plan statePlan() {
  PlanBuilder b;
  b.state("conv1.weight", b.buffer("conv1.weight", DType::kF32, {8, 3, 3, 3}, BufferRegion::kState),
          "kaiming_normal_fan_out");
  b.state("projector.0.bias", b.buffer("projector.0.bias", DType::kF32, {5}, BufferRegion::kState),
          "uniform_fan_in", 256);
  b.state("bn1.weight", b.buffer("bn1.weight", DType::kF32, {8}, BufferRegion::kState), "ones");
  b.state("bn1.running_mean", b.buffer("bn1.running_mean", DType::kF32, {8}, BufferRegion::kState),
          "zeros", 0, "running_stat");
  b.state("conv1.weight.exp_avg",
          b.buffer("conv1.weight.exp_avg", DType::kF32, {8, 3, 3, 3}, BufferRegion::kState),
          "zeros", 0, "optimizer_state");
  return b.finish();
}

TEST(RuntimeExecutorStateTest, InitializesAsInitializeTensor) {
  Plan plan = statePlan();
  std::unique_ptr<Executor> exec = makeExecutor(plan);
  ASSERT_TRUE(exec);
  constexpr uint64_t kSeed = 42;
  ASSERT_TRUE(exec->initializeState(kSeed).isOk());
  std::vector<runtime::StateTensorView> views = exec->stateTensors();
  ASSERT_EQ(views.size(), plan.state.size());
  for (const runtime::StateTensorView &v : views) {
    std::vector<float> want;
    ASSERT_TRUE(initializeTensor(take(parseInitKind(v.tensor->init.kind)),
                                 v.buffer->shape, v.tensor->init.fanIn, kSeed,
                                 v.tensor->name, want)
                    .isOk());
    ASSERT_EQ(static_cast<int64_t>(want.size() * sizeof(float)), v.buffer->bytes);
    EXPECT_EQ(std::memcmp(v.data, want.data(), want.size() * sizeof(float)), 0)
        << v.tensor->name;
  }
  // Different seeds, different weights (the test above could not pass by
  // leaving zeros).
  std::vector<float> before(8 * 27);
  std::memcpy(before.data(), take(exec->stateTensor("conv1.weight")).data, before.size() * 4);
  ASSERT_TRUE(exec->initializeState(kSeed + 1).isOk());
  EXPECT_NE(std::memcmp(before.data(), take(exec->stateTensor("conv1.weight")).data,
                        before.size() * 4),
            0);
  EXPECT_EQ(exec->stateTensor("nope").status().message(),
            "no state tensor named 'nope'");
}

std::vector<uint8_t> stateBytes(Executor &exec) {
  std::vector<uint8_t> bytes;
  for (const runtime::StateTensorView &v : exec.stateTensors()) {
    const uint8_t *data = static_cast<const uint8_t *>(v.data);
    bytes.insert(bytes.end(), data, data + v.buffer->bytes);
  }
  return bytes;
}

TEST(RuntimeExecutorStateTest, SaveLoadRoundTripsBitForBit) {
  std::unique_ptr<Executor> a = makeExecutor(statePlan());
  std::unique_ptr<Executor> b = makeExecutor(statePlan());
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->initializeState(1).isOk());
  // Optimizer state that is not all zeros, to see it travel.
  float *expAvg = static_cast<float *>(take(a->stateTensor("conv1.weight.exp_avg")).data);
  for (int i = 0; i < 8 * 27; ++i)
    expAvg[i] = 0.001f * static_cast<float>(i) - 0.1f;
  ASSERT_TRUE(b->initializeState(2).isOk());
  ASSERT_NE(stateBytes(*a), stateBytes(*b));

  std::string path = test::testTmpDir() + "/executor-state.safetensors";
  Status saved = a->saveState(path, {{"step", "17"}, {"plan", a->artifact().identity()}});
  ASSERT_TRUE(saved.isOk()) << saved.message();
  Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->metadata().at("step"), "17");
  EXPECT_EQ(reader->tensors().size(), 5u);

  Status loaded = b->loadState(path);
  ASSERT_TRUE(loaded.isOk()) << loaded.message();
  EXPECT_EQ(stateBytes(*a), stateBytes(*b));

  // parametersOnly keeps the optimizer state.
  std::unique_ptr<Executor> c = makeExecutor(statePlan());
  ASSERT_TRUE(c->initializeState(3).isOk());
  ASSERT_TRUE(c->loadState(path, /*parametersOnly=*/true).isOk());
  float *cExpAvg = static_cast<float *>(take(c->stateTensor("conv1.weight.exp_avg")).data);
  EXPECT_EQ(cExpAvg[5], 0.0f);
  EXPECT_EQ(std::memcmp(take(c->stateTensor("conv1.weight")).data,
                        take(a->stateTensor("conv1.weight")).data, 8 * 27 * 4),
            0);
}

TEST(RuntimeExecutorStateTest, LoadErrorsNameTheTensorAndLeaveStateAlone) {
  std::unique_ptr<Executor> exec = makeExecutor(statePlan());
  ASSERT_TRUE(exec);
  ASSERT_TRUE(exec->initializeState(5).isOk());
  std::vector<uint8_t> before = stateBytes(*exec);
  std::string path = test::testTmpDir() + "/executor-bad-state.safetensors";

  // Writes every state tensor of the plan, letting `change` alter one.
  auto writeFile = [&](const std::string &changed, const Shape *shape, bool drop,
                       bool extra) {
    SafetensorsWriter writer;
    std::vector<float> zeros(1024, 0.0f);
    for (const runtime::StateTensorView &v : exec->stateTensors()) {
      if (v.tensor->name == changed && drop)
        continue;
      Shape s = v.tensor->name == changed && shape ? *shape : v.buffer->shape;
      ASSERT_TRUE(writer.add(v.tensor->name, DType::kF32, s, zeros.data()).isOk());
    }
    if (extra) {
      ASSERT_TRUE(writer.add("layer9.weight", DType::kF32, {2}, zeros.data()).isOk());
    }
    ASSERT_TRUE(writer.writeAtomically(path).isOk());
  };

  Shape wrong = {8, 3, 3};
  writeFile("conv1.weight", &wrong, false, false);
  EXPECT_EQ(exec->loadState(path).message(),
            path + ": tensor 'conv1.weight': expected f32 [8, 3, 3, 3], found f32 "
                   "[8, 3, 3]");
  writeFile("bn1.running_mean", nullptr, true, false);
  EXPECT_EQ(exec->loadState(path).message(),
            path + ": missing state tensor 'bn1.running_mean'");
  writeFile("", nullptr, false, true);
  EXPECT_EQ(exec->loadState(path).message(),
            path + ": tensor 'layer9.weight' is not a state tensor of this artifact");
  // A missing optimizer state does not matter when loading parameters only.
  writeFile("conv1.weight.exp_avg", nullptr, true, false);
  EXPECT_EQ(exec->loadState(path).message(),
            path + ": missing state tensor 'conv1.weight.exp_avg'");
  EXPECT_EQ(stateBytes(*exec), before);
  EXPECT_TRUE(exec->loadState(path, true).isOk());

  EXPECT_THAT(exec->loadState(path + ".absent").message(),
              StartsWith(path + ".absent"));
}

//===----------------------------------------------------------------------===//
// train_step and encode
//===----------------------------------------------------------------------===//

Plan trainPlan() {
  using namespace testkernels;
  PlanBuilder b;
  int64_t param = b.buffer("w", DType::kF32, {kParamCount}, BufferRegion::kState);
  b.state("w", param, "ones");
  int64_t views = b.buffer("%views", DType::kF32, {4, 1, 4, 4}, BufferRegion::kInput);
  int64_t step = b.buffer("%step", DType::kI64, {}, BufferRegion::kInput);
  int64_t images = b.buffer("%images", DType::kU8, {kEncodeBatch, 1, 4, 4},
                            BufferRegion::kInput);
  int64_t loss = b.buffer("%loss", DType::kF32, {}, BufferRegion::kArena);
  int64_t lr = b.buffer("%lr", DType::kF32, {}, BufferRegion::kArena);
  int64_t reduced = b.buffer("%loss_reduced", DType::kF32, {}, BufferRegion::kArena);
  int64_t features = b.buffer("%features", DType::kF32, {kEncodeBatch, kFeatureDim},
                              BufferRegion::kArena);
  artifact::Program &train = b.program("train_step");
  train.inputs = {{"views", views}, {"step", step}};
  train.outputs = {{"loss", reduced}, {"lr", lr}};
  train.schedule.push_back(test::kernelEntry(
      "simclr_test_train_step", {views, step, param, param, loss, lr}, 3));
  artifact::ScheduleEntry allReduce;
  allReduce.kind = artifact::EntryKind::kCollective;
  allReduce.name = "all_reduce_sum";
  allReduce.operands = {loss, reduced};
  allReduce.numInputs = 1;
  allReduce.numOutputs = 1;
  train.schedule.push_back(allReduce);
  artifact::Program &encode = b.program("encode");
  encode.inputs = {{"images", images}};
  encode.outputs = {{"features", features}};
  encode.schedule.push_back(
      test::kernelEntry("simclr_test_encode", {images, features}, 1));
  return b.finish();
}

TEST(RuntimeExecutorTest, TrainStepUpdatesStateAndReportsLossAndLr) {
  using namespace testkernels;
  std::unique_ptr<Executor> exec = makeExecutor(trainPlan());
  ASSERT_TRUE(exec);
  ASSERT_TRUE(exec->initializeState(0).isOk());
  std::vector<float> views(kViewCount, 1.0f);
  ASSERT_TRUE(exec->trainStep(views, 0).isOk());
  // loss = mean(views) * w[0] = 1; lr = 0.5 / 1; w = 1 - 0.5.
  EXPECT_EQ(exec->lastLoss(), 1.0f);
  EXPECT_EQ(exec->lastLearningRate(), kBaseLr);
  ASSERT_TRUE(exec->trainStep(views, 1).isOk());
  EXPECT_EQ(exec->lastLoss(), 0.5f);
  EXPECT_EQ(exec->lastLearningRate(), kBaseLr / 2);
  const float *w = static_cast<const float *>(take(exec->stateTensor("w")).data);
  EXPECT_EQ(w[3], 1.0f - kBaseLr - kBaseLr / 2);

  std::vector<float> tooFew(kViewCount - 1, 1.0f);
  EXPECT_EQ(exec->trainStep(tooFew, 2).message(),
            "trainStep: 63 view values, the plan's views are [4, 1, 4, 4] (64 values)");
  EXPECT_EQ(w[3], 1.0f - kBaseLr - kBaseLr / 2);
}

TEST(RuntimeExecutorTest, EncodeWritesFeatures) {
  using namespace testkernels;
  std::unique_ptr<Executor> exec = makeExecutor(trainPlan());
  ASSERT_TRUE(exec);
  EXPECT_EQ(exec->encodeBatch(), kEncodeBatch);
  EXPECT_EQ(exec->featureDim(), kFeatureDim);
  std::vector<uint8_t> images(kEncodeBatch * kFeatureDim);
  for (size_t i = 0; i < images.size(); ++i)
    images[i] = static_cast<uint8_t>(i * 7);
  std::vector<float> features(kEncodeBatch * kFeatureDim);
  ASSERT_TRUE(exec->encode(images, features).isOk());
  EXPECT_EQ(features[3], 21.0f / 255.0f);
  EXPECT_EQ(exec->encode(std::span(images).first(3), features).message(),
            "encode: 3 image bytes, the plan's images are [2, 1, 4, 4] (32 bytes)");
  EXPECT_EQ(exec->encode(images, std::span(features).first(4)).message(),
            "encode: room for 4 features, the plan's are [2, 16] (32 values)");
}

TEST(RuntimeExecutorTest, RunRefusesUnknownProgramsAndRoles) {
  std::string dir;
  std::unique_ptr<Executor> exec = makeExecutor(trainPlan());
  ASSERT_TRUE(exec);
  dir = exec->artifact().directory();
  EXPECT_EQ(exec->run("eval", {}).message(),
            dir + "/plan.json: no program named 'eval'");
  float x = 0;
  EXPECT_EQ(exec->run("encode", {{"views", &x}}).message(),
            "program 'encode' has no input 'views'");
  EXPECT_EQ(exec->run("encode", {{"images", nullptr}}).message(),
            "program 'encode': input 'images' is null");
  EXPECT_EQ(exec->bufferData(12345), nullptr);
}

TEST(RuntimeExecutorTest, RefusesMistypedBindingsAndCollectives) {
  Plan plan = trainPlan();
  plan.buffers[2].dtype = DType::kI32; // %step
  plan.buffers[2].bytes = 4;
  EXPECT_EQ(createError(plan),
            "PLAN: program 'train_step': binding 'step' is i32 [], "
                  "expected i64 with one element");

  plan = trainPlan();
  plan.programs[0].schedule[1].operands[1] = 7; // features, not a scalar
  EXPECT_EQ(createError(plan),
            "PLAN: program 'train_step': schedule[1] (collective "
                  "'all_reduce_sum'): input '%loss' has 4 bytes, output "
                  "'%features' 128");
}

TEST(RuntimeExecutorTest, ProgramsWithoutTrainStepOrEncodeSayso) {
  PlanBuilder b;
  int64_t x = b.buffer("%x", DType::kF32, {512}, BufferRegion::kInput);
  int64_t y = b.buffer("%y", DType::kF32, {512}, BufferRegion::kArena);
  artifact::Program &p = b.program("scale");
  p.inputs = {{"x", x}};
  p.schedule.push_back(test::kernelEntry("simclr_test_scale2", {x, y}, 1));
  std::unique_ptr<Executor> exec = makeExecutor(b.finish());
  ASSERT_TRUE(exec);
  std::vector<float> in(512, 1.5f), none;
  ASSERT_TRUE(exec->run("scale", {{"x", in.data()}}).isOk());
  EXPECT_EQ(static_cast<const float *>(exec->bufferData(y))[511], 3.0f);
  std::string dir = exec->artifact().directory();
  EXPECT_EQ(exec->trainStep(none, 0).message(),
            dir + "/plan.json: the artifact has no 'train_step' program");
  std::vector<uint8_t> images;
  EXPECT_THAT(exec->encode(images, none).message(),
              StartsWith(dir + "/plan.json: the artifact has no 'encode' program"));
  EXPECT_EQ(exec->encodeBatch(), 0);
}

} // namespace
} // namespace simclr
