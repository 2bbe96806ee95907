//===- CpuExterns.cpp - oneDNN convolutions and dnnl_sgemm for externs ----===//
//
// oneDNN 2.x (Debian's libdnnl, built with OpenMP, so it shares the
// kernels' thread pool). Convolutions run on plain NCHW/OIHW memory: the
// buffers the memory planner lays out are plain, and bench/conv_gemm_bench
// measured the plain-layout primitives (docs/benchmarks.md).
//
//===----------------------------------------------------------------------===//
#include "CpuExterns.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_map>

namespace simclr::runtime {
namespace {

using artifact::AttrMap;
using artifact::AttrValue;
using Shape = std::vector<int64_t>;

/// oneDNN's scratchpad and memory want at least cache-line alignment.
constexpr size_t kScratchpadAlignment = 64;
/// Image batches and filters are N x C x H x W and O x C/g x KH x KW.
constexpr size_t kConvRank = 4;
constexpr size_t kMatrixRank = 2;

std::string formatShape(const Shape &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Operand `index`'s description for messages: "operand 1 ('w', [8, 3, 3, 3])".
std::string describe(const std::vector<EntryOperand> &operands, size_t index,
                     const char *role) {
  const artifact::Buffer &b = *operands[index].buffer;
  return std::string(role) + " (operand " + std::to_string(index) + ", '" +
         b.name + "', " + formatShape(b.shape) + ")";
}

/// Reads an integer attribute, `fallback` when absent.
Expected<int64_t> intAttr(const AttrMap &attrs, const std::string &key,
                          int64_t fallback) {
  auto it = attrs.find(key);
  if (it == attrs.end())
    return fallback;
  if (const int64_t *v = std::get_if<int64_t>(&it->second))
    return *v;
  return invalidArgument("attribute '" + key + "' must be an integer");
}

/// Reads a {height, width} attribute, `fallback` for both when absent.
Expected<std::array<int64_t, 2>> pairAttr(const AttrMap &attrs,
                                          const std::string &key,
                                          int64_t fallback, int64_t minimum) {
  auto it = attrs.find(key);
  if (it == attrs.end())
    return std::array<int64_t, 2>{fallback, fallback};
  const auto *v = std::get_if<std::vector<int64_t>>(&it->second);
  if (!v || v->size() != 2 || (*v)[0] < minimum || (*v)[1] < minimum)
    return invalidArgument("attribute '" + key + "' must be two integers >= " +
                           std::to_string(minimum));
  return std::array<int64_t, 2>{(*v)[0], (*v)[1]};
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

struct Call {
  virtual ~Call() = default;
  virtual Status run(dnnl::stream &stream) = 0;
  /// Bytes of scratchpad the call needs.
  virtual size_t scratchpadBytes() const { return 0; }
  virtual void bindScratchpad(const dnnl::engine &, void *) {}
  /// Bytes of the shared blocked-layout buffer `slot` (0-2) the call needs,
  /// and binding it.
  virtual size_t blockedBytes(size_t) const { return 0; }
  virtual void bindBlocked(size_t, void *) {}
  /// Called once after bindScratchpad, before the first run.
  virtual void seal() {}
};

/// One oneDNN convolution primitive (forward, backward data or backward
/// weights) with its memory bound to the operands.
struct ConvCall : Call {
  dnnl::primitive primitive;
  std::unordered_map<int, dnnl::memory> args;
  dnnl::memory::desc scratchpadDesc;
  std::string name;

  /// Operands whose plain (NCHW/OIHW) buffer differs from the layout the
  /// primitive chose (oneDNN's blocked layouts, measured several times
  /// faster than its plain-layout gemm convolution: docs/benchmarks.md):
  /// inputs are reordered into `blocked` before the call, outputs out of it
  /// after. `storage` owns the blocked copies.
  struct Reorder {
    dnnl::reorder primitive;
    dnnl::memory from, to;
  };
  std::vector<Reorder> before, after;
  /// The blocked copies, by operand slot (bindOperand's call order). Calls
  /// run one at a time, so every call's slot k shares one buffer, sized by
  /// the largest (CpuExterns::finalize binds it): blocked copies cost three
  /// buffers in all, not three per convolution.
  std::vector<std::pair<size_t, dnnl::memory>> blocked;
  size_t nextSlot = 0;

  /// `args` as the C API takes them, built once by seal(): the C++
  /// execute() would build this array (allocating) on every call.
  std::vector<dnnl_exec_arg_t> cArgs;

  Status run(dnnl::stream &stream) override {
    for (Reorder &r : before)
      r.primitive.execute(stream, r.from, r.to);
    dnnl_status_t status =
        dnnl_primitive_execute(primitive.get(), stream.get(),
                               static_cast<int>(cArgs.size()), cArgs.data());
    if (status == dnnl_success)
      status = dnnl_stream_wait(stream.get());
    if (status != dnnl_success)
      return internalError("oneDNN " + name + " failed with status " +
                           std::to_string(static_cast<int>(status)));
    for (Reorder &r : after)
      r.primitive.execute(stream, r.from, r.to);
    if (!after.empty())
      stream.wait();
    return Status::ok();
  }
  size_t scratchpadBytes() const override { return scratchpadDesc.get_size(); }
  void bindScratchpad(const dnnl::engine &engine, void *data) override {
    args[DNNL_ARG_SCRATCHPAD] = dnnl::memory(scratchpadDesc, engine, data);
  }
  void seal() override {
    cArgs.clear();
    for (const auto &[id, memory] : args)
      cArgs.push_back({id, memory.get()});
  }

  /// The memory the primitive uses for an operand in layout `chosen`,
  /// bound to `plain` (the operand's buffer) directly when the layouts
  /// agree, else through a reorder.
  dnnl::memory bindOperand(const dnnl::memory::desc &chosen,
                           const dnnl::memory::desc &plainDesc, void *plain,
                           bool isOutput, const dnnl::engine &engine) {
    size_t slot = nextSlot++;
    dnnl::memory plainMemory(plainDesc, engine, plain);
    if (chosen == plainDesc)
      return plainMemory;
    dnnl::memory copy(chosen, engine, DNNL_MEMORY_NONE);
    blocked.push_back({slot, copy});
    if (isOutput)
      after.push_back({dnnl::reorder(copy, plainMemory), copy, plainMemory});
    else
      before.push_back({dnnl::reorder(plainMemory, copy), plainMemory, copy});
    return copy;
  }
  size_t blockedBytes(size_t slot) const override {
    size_t bytes = 0;
    for (const auto &[s, memory] : blocked)
      if (s == slot)
        bytes = std::max(bytes, memory.get_desc().get_size());
    return bytes;
  }
  void bindBlocked(size_t slot, void *data) override {
    for (auto &[s, memory] : blocked)
      if (s == slot)
        memory.set_data_handle(data);
  }
};

/// c = op(a) op(b), row-major, through dnnl_sgemm.
struct MatmulCall : Call {
  char transA = 'N', transB = 'N';
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  const float *a = nullptr, *b = nullptr;
  float *c = nullptr;

  Status run(dnnl::stream &) override {
    dnnl_status_t status = dnnl_sgemm(transA, transB, m, n, k, 1.0f, a, lda, b,
                                      ldb, 0.0f, c, ldc);
    if (status != dnnl_success)
      return internalError("dnnl_sgemm failed with status " +
                           std::to_string(static_cast<int>(status)));
    return Status::ok();
  }
};

enum class ConvKind { kForward, kBackwardInput, kBackwardFilter };

struct ConvGeometry {
  std::array<int64_t, 2> stride, padding, dilation;
  int64_t groups;
};

/// floor((in + 2p - d(k-1) - 1) / s) + 1, as torch's conv2d; <= 0 when the
/// padded input is smaller than the window.
int64_t outputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                   int64_t dilation) {
  int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

Expected<std::unique_ptr<Call>>
makeConv(ConvKind kind, const artifact::ScheduleEntry &entry,
         const std::vector<EntryOperand> &operands, const dnnl::engine &engine) {
  ConvGeometry g;
  {
    auto stride = pairAttr(entry.attrs, "stride", 1, 1);
    auto padding = pairAttr(entry.attrs, "padding", 0, 0);
    auto dilation = pairAttr(entry.attrs, "dilation", 1, 1);
    auto groups = intAttr(entry.attrs, "groups", 1);
    if (!stride)
      return stride.takeStatus();
    if (!padding)
      return padding.takeStatus();
    if (!dilation)
      return dilation.takeStatus();
    if (!groups)
      return groups.takeStatus();
    if (*groups < 1)
      return invalidArgument("attribute 'groups' must be positive");
    g = {*stride, *padding, *dilation, *groups};
  }
  // Operand roles: which operand holds x, w and y (or their gradients).
  static constexpr const char *kRoles[3][3] = {
      {"input x", "filter w", "output y"},
      {"gradient dy", "filter w", "result dx"},
      {"gradient dy", "input x", "result dw"}};
  const auto &roles = kRoles[static_cast<int>(kind)];
  size_t xIndex = kind == ConvKind::kForward          ? 0
                  : kind == ConvKind::kBackwardInput  ? 2
                                                      : 1;
  size_t wIndex = kind == ConvKind::kBackwardFilter ? 2 : 1;
  size_t yIndex = kind == ConvKind::kForward ? 2 : 0;
  for (size_t i = 0; i < operands.size(); ++i)
    if (operands[i].buffer->shape.size() != kConvRank)
      return invalidArgument(describe(operands, i, roles[i]) +
                             " must have rank 4");
  const Shape &x = operands[xIndex].buffer->shape;
  const Shape &w = operands[wIndex].buffer->shape;
  const Shape &y = operands[yIndex].buffer->shape;
  auto roleOf = [&](size_t index) { return describe(operands, index, roles[index]); };
  if (x[1] % g.groups != 0 || w[0] % g.groups != 0)
    return invalidArgument("groups = " + std::to_string(g.groups) +
                           " must divide the channels of " + roleOf(xIndex) +
                           " and the filters of " + roleOf(wIndex));
  if (w[1] * g.groups != x[1])
    return invalidArgument(roleOf(wIndex) + " does not match the channels of " +
                           roleOf(xIndex) + " with groups = " +
                           std::to_string(g.groups));
  Shape expectedY = {x[0], w[0],
                     outputSize(x[2], w[2], g.stride[0], g.padding[0], g.dilation[0]),
                     outputSize(x[3], w[3], g.stride[1], g.padding[1], g.dilation[1])};
  if (expectedY[2] < 1 || expectedY[3] < 1)
    return invalidArgument(roleOf(xIndex) + " is smaller than the window of " +
                           roleOf(wIndex));
  if (y != expectedY)
    return invalidArgument(roleOf(yIndex) + " should be " + formatShape(expectedY) +
                           " for " + roleOf(xIndex) + " and " + roleOf(wIndex));

  using dnnl::memory;
  using tag = memory::format_tag;
  const auto f32 = memory::data_type::f32;
  memory::desc xMd(memory::dims(x.begin(), x.end()), f32, tag::nchw);
  memory::desc yMd(memory::dims(y.begin(), y.end()), f32, tag::nchw);
  // Grouped filters are g x O/g x C/g x KH x KW: the same bytes as OIHW.
  memory::desc wMd =
      g.groups == 1
          ? memory::desc(memory::dims(w.begin(), w.end()), f32, tag::oihw)
          : memory::desc({g.groups, w[0] / g.groups, w[1], w[2], w[3]}, f32,
                         tag::goihw);
  memory::dims strides(g.stride.begin(), g.stride.end());
  memory::dims padding(g.padding.begin(), g.padding.end());
  // oneDNN counts dilation from 0 (no dilation), torch from 1.
  memory::dims dilates = {g.dilation[0] - 1, g.dilation[1] - 1};
  // padding_r = padding as torch: oneDNN's output size uses the same floor.
  const auto algo = dnnl::algorithm::convolution_direct;

  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto call = std::make_unique<ConvCall>();
  call->name = entry.name;
  auto bind = [&](const memory::desc &md, size_t index) {
    return memory(md, engine, operands[index].data);
  };
  try {
    // Layouts left to oneDNN (format_tag::any): it picks its blocked
    // layouts, and bindOperand reorders from and to the plain buffers.
    memory::desc xAny(xMd.dims(), f32, tag::any);
    memory::desc yAny(yMd.dims(), f32, tag::any);
    memory::desc wAny(wMd.dims(), f32, tag::any);
    dnnl::convolution_forward::desc fwdDesc(
        dnnl::prop_kind::forward_training, algo, xAny, wAny, yAny, strides,
        dilates, padding, padding);
    dnnl::convolution_forward::primitive_desc fwd(fwdDesc, attr, engine);
    ConvCall &c = *call;
    switch (kind) {
    case ConvKind::kForward:
      c.primitive = dnnl::convolution_forward(fwd);
      c.scratchpadDesc = fwd.scratchpad_desc();
      c.args = {{DNNL_ARG_SRC, c.bindOperand(fwd.src_desc(), xMd, operands[xIndex].data, false, engine)},
                {DNNL_ARG_WEIGHTS, c.bindOperand(fwd.weights_desc(), wMd, operands[wIndex].data, false, engine)},
                {DNNL_ARG_DST, c.bindOperand(fwd.dst_desc(), yMd, operands[yIndex].data, true, engine)}};
      break;
    case ConvKind::kBackwardInput: {
      dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(algo, xAny, wAny, yAny, strides,
                                                dilates, padding, padding),
          attr, engine, fwd);
      c.primitive = dnnl::convolution_backward_data(pd);
      c.scratchpadDesc = pd.scratchpad_desc();
      c.args = {{DNNL_ARG_DIFF_DST, c.bindOperand(pd.diff_dst_desc(), yMd, operands[yIndex].data, false, engine)},
                {DNNL_ARG_WEIGHTS, c.bindOperand(pd.weights_desc(), wMd, operands[wIndex].data, false, engine)},
                {DNNL_ARG_DIFF_SRC, c.bindOperand(pd.diff_src_desc(), xMd, operands[xIndex].data, true, engine)}};
      break;
    }
    case ConvKind::kBackwardFilter: {
      dnnl::convolution_backward_weights::primitive_desc pd(
          dnnl::convolution_backward_weights::desc(algo, xAny, wAny, yAny, strides,
                                                   dilates, padding, padding),
          attr, engine, fwd);
      c.primitive = dnnl::convolution_backward_weights(pd);
      c.scratchpadDesc = pd.scratchpad_desc();
      c.args = {{DNNL_ARG_DIFF_DST, c.bindOperand(pd.diff_dst_desc(), yMd, operands[yIndex].data, false, engine)},
                {DNNL_ARG_SRC, c.bindOperand(pd.src_desc(), xMd, operands[xIndex].data, false, engine)},
                {DNNL_ARG_DIFF_WEIGHTS, c.bindOperand(pd.diff_weights_desc(), wMd, operands[wIndex].data, true, engine)}};
      break;
    }
    }
  } catch (const dnnl::error &e) {
    return unavailable("oneDNN has no convolution for " + roleOf(xIndex) +
                       " and " + roleOf(wIndex) + ": " + e.what());
  }
  return std::unique_ptr<Call>(std::move(call));
}

Expected<std::unique_ptr<Call>>
makeMatmul(const artifact::ScheduleEntry &entry,
           const std::vector<EntryOperand> &operands) {
  auto transposeA = intAttr(entry.attrs, "transpose_lhs", 0);
  auto transposeB = intAttr(entry.attrs, "transpose_rhs", 0);
  if (!transposeA)
    return transposeA.takeStatus();
  if (!transposeB)
    return transposeB.takeStatus();
  if ((*transposeA != 0 && *transposeA != 1) ||
      (*transposeB != 0 && *transposeB != 1))
    return invalidArgument("attributes 'transpose_lhs' and 'transpose_rhs' "
                           "must be 0 or 1");
  static constexpr const char *kRoles[] = {"lhs", "rhs", "result"};
  for (size_t i = 0; i < operands.size(); ++i)
    if (operands[i].buffer->shape.size() != kMatrixRank)
      return invalidArgument(describe(operands, i, kRoles[i]) +
                             " must have rank 2");
  const Shape &a = operands[0].buffer->shape;
  const Shape &b = operands[1].buffer->shape;
  const Shape &c = operands[2].buffer->shape;
  auto call = std::make_unique<MatmulCall>();
  call->transA = *transposeA ? 'T' : 'N';
  call->transB = *transposeB ? 'T' : 'N';
  call->m = *transposeA ? a[1] : a[0];
  call->k = *transposeA ? a[0] : a[1];
  int64_t kB = *transposeB ? b[1] : b[0];
  call->n = *transposeB ? b[0] : b[1];
  if (kB != call->k)
    return invalidArgument("inner dimensions differ: " + describe(operands, 0, "lhs") +
                           " and " + describe(operands, 1, "rhs") +
                           " with transpose_lhs = " + std::to_string(*transposeA) +
                           ", transpose_rhs = " + std::to_string(*transposeB));
  if (c != Shape{call->m, call->n})
    return invalidArgument(describe(operands, 2, "result") + " should be " +
                           formatShape({call->m, call->n}));
  // Row-major leading dimensions are the stored row lengths.
  call->lda = std::max<int64_t>(a[1], 1);
  call->ldb = std::max<int64_t>(b[1], 1);
  call->ldc = std::max<int64_t>(call->n, 1);
  call->a = static_cast<const float *>(operands[0].data);
  call->b = static_cast<const float *>(operands[1].data);
  call->c = static_cast<float *>(operands[2].data);
  return std::unique_ptr<Call>(std::move(call));
}

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};

} // namespace

struct CpuExterns::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::vector<std::unique_ptr<Call>> calls;
  std::unique_ptr<void, FreeDeleter> scratchpad;
  /// Blocked-layout copies of convolution operands, one per operand slot.
  std::unique_ptr<void, FreeDeleter> blockedBuffers[3];
};

CpuExterns::CpuExterns() : impl_(std::make_unique<Impl>()) {}
CpuExterns::~CpuExterns() = default;

Expected<size_t> CpuExterns::add(const artifact::ScheduleEntry &entry,
                                 const std::vector<EntryOperand> &operands) {
  std::optional<ExternRoutine> routine = parseExternRoutine(entry.name);
  if (!routine)
    return invalidArgument("unknown extern (the CPU table has " +
                           externRoutineList() + ")");
  // Every extern of the table takes two inputs and writes one output.
  if (operands.size() != kExternInputs + kExternOutputs ||
      entry.numInputs != kExternInputs)
    return invalidArgument("expects 2 inputs and 1 output, got " +
                           std::to_string(entry.numInputs) + " inputs and " +
                           std::to_string(static_cast<int64_t>(operands.size()) -
                                          entry.numInputs) +
                           " outputs");
  for (size_t i = 0; i < operands.size(); ++i)
    if (operands[i].buffer->dtype != DType::kF32)
      return invalidArgument("operand " + std::to_string(i) + " ('" +
                             operands[i].buffer->name + "') is " +
                             dtypeName(operands[i].buffer->dtype) +
                             ", expected f32");
  Expected<std::unique_ptr<Call>> call =
      *routine == ExternRoutine::kMatmul
          ? makeMatmul(entry, operands)
          : makeConv(*routine == ExternRoutine::kConv2d ? ConvKind::kForward
                     : *routine == ExternRoutine::kConv2dBackwardInput
                         ? ConvKind::kBackwardInput
                         : ConvKind::kBackwardFilter,
                     entry, operands, impl_->engine);
  if (!call)
    return call.takeStatus();
  impl_->calls.push_back(std::move(*call));
  return impl_->calls.size() - 1;
}

Status CpuExterns::finalize() {
  size_t bytes = 0;
  for (const auto &call : impl_->calls)
    bytes = std::max(bytes, call->scratchpadBytes());
  if (bytes != 0)
    SIMCLR_RETURN_IF_ERROR(allocateScratchpad(bytes));
  for (size_t slot = 0; slot < 3; ++slot) {
    size_t largest = 0;
    for (const auto &call : impl_->calls)
      largest = std::max(largest, call->blockedBytes(slot));
    if (largest == 0)
      continue;
    size_t rounded = (largest + kScratchpadAlignment - 1) /
                     kScratchpadAlignment * kScratchpadAlignment;
    impl_->blockedBuffers[slot].reset(
        std::aligned_alloc(kScratchpadAlignment, rounded));
    if (!impl_->blockedBuffers[slot])
      return unavailable("cannot allocate " + std::to_string(rounded) +
                         " bytes for blocked convolution operands");
    for (const auto &call : impl_->calls)
      call->bindBlocked(slot, impl_->blockedBuffers[slot].get());
  }
  for (const auto &call : impl_->calls)
    call->seal();
  return Status::ok();
}

Status CpuExterns::allocateScratchpad(size_t bytes) {
  size_t rounded = (bytes + kScratchpadAlignment - 1) / kScratchpadAlignment *
                   kScratchpadAlignment;
  impl_->scratchpad.reset(std::aligned_alloc(kScratchpadAlignment, rounded));
  if (!impl_->scratchpad)
    return unavailable("cannot allocate " + std::to_string(rounded) +
                       " bytes of oneDNN scratchpad");
  for (const auto &call : impl_->calls)
    if (call->scratchpadBytes() != 0)
      call->bindScratchpad(impl_->engine, impl_->scratchpad.get());
  return Status::ok();
}

Status CpuExterns::run(size_t handle) {
  return impl_->calls[handle]->run(impl_->stream);
}

} // namespace simclr::runtime
