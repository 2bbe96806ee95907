//===- CpuExterns.cpp - oneDNN primitives for the CPU's extern table ------===//
//
// oneDNN 2.x (Debian's libdnnl, built with OpenMP, so it shares the
// kernels' thread pool). Each call is planned once (planCall: checks, the
// primitive descriptor, which operands need a copy in another layout, the
// workspace), then bound to its operands' fixed addresses and run through
// oneDNN's C API with argument arrays built once.
//
//===----------------------------------------------------------------------===//
#include "CpuExterns.h"

#include "simclr/Kernels/Scratch.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

namespace simclr::runtime {
namespace {

using artifact::AttrMap;
using artifact::Buffer;
using Shape = std::vector<int64_t>;
using dnnl::memory;
using Tag = memory::format_tag;

/// Image batches and filters are N x C x H x W and O x C/g x KH x KW.
constexpr size_t kConvRank = 4;
constexpr size_t kMatrixRank = 2;

std::string formatShape(const Shape &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Operand `index`'s description for messages: "filter w (operand 1, 'w',
/// [8, 3, 3, 3])".
std::string describe(const std::vector<const Buffer *> &buffers, size_t index,
                     const char *role) {
  const Buffer &b = *buffers[index];
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

/// oneDNN's tag for a 4-D activation layout.
Tag activationTag(Layout layout) {
  switch (layout) {
  case Layout::kPlain:
    return Tag::nchw;
  case Layout::kNhwc:
    return Tag::nhwc;
  case Layout::kNChw8c:
    return Tag::nChw8c;
  case Layout::kNChw16c:
    return Tag::nChw16c;
  }
  return Tag::nchw;
}

size_t aligned(size_t bytes) {
  return static_cast<size_t>(kernels::alignScratch(static_cast<int64_t>(bytes)));
}

//===----------------------------------------------------------------------===//
// Planning a call
//===----------------------------------------------------------------------===//

/// How the primitive reads or writes operand `operand`: as `stored` (the
/// buffer's own layout) or, when `wanted` differs, through a copy in the
/// workspace reordered before (inputs) or after (outputs) the call.
struct OperandUse {
  int arg;
  size_t operand;
  memory::desc stored;
  memory::desc wanted;
  bool output;

  bool needsCopy() const { return stored != wanted; }
};

/// A call before any memory is bound: what both the compile-time workspace
/// query and the runtime need.
struct CallPlan {
  std::string name;
  std::function<dnnl::primitive()> create;
  memory::desc scratchpad;
  std::vector<OperandUse> operands;

  /// The scratchpad, then one copy per operand needing it, each aligned.
  size_t workspaceBytes() const {
    size_t bytes = aligned(scratchpad.get_size());
    for (const OperandUse &use : operands)
      if (use.needsCopy())
        bytes += aligned(use.wanted.get_size());
    return bytes;
  }
};

enum class ConvKind { kForward, kBackwardInput, kBackwardFilter };

/// floor((in + 2p - d(k-1) - 1) / s) + 1, as torch's conv2d; <= 0 when the
/// padded input is smaller than the window.
int64_t outputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                   int64_t dilation) {
  int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

Expected<CallPlan> planConv(ConvKind kind, const artifact::ScheduleEntry &entry,
                            const std::vector<const Buffer *> &buffers,
                            const dnnl::engine &engine) {
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
  // Operand roles: which operand holds x, w and y (or their gradients).
  static constexpr const char *kRoles[3][3] = {
      {"input x", "filter w", "output y"},
      {"gradient dy", "filter w", "result dx"},
      {"gradient dy", "input x", "result dw"}};
  const auto &roles = kRoles[static_cast<int>(kind)];
  size_t xIndex = kind == ConvKind::kForward         ? 0
                  : kind == ConvKind::kBackwardInput ? 2
                                                     : 1;
  size_t wIndex = kind == ConvKind::kBackwardFilter ? 2 : 1;
  size_t yIndex = kind == ConvKind::kForward ? 2 : 0;
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i]->shape.size() != kConvRank)
      return invalidArgument(describe(buffers, i, roles[i]) +
                             " must have rank 4");
  const Shape &x = buffers[xIndex]->shape;
  const Shape &w = buffers[wIndex]->shape;
  const Shape &y = buffers[yIndex]->shape;
  auto roleOf = [&](size_t index) { return describe(buffers, index, roles[index]); };
  if (x[1] % *groups != 0 || w[0] % *groups != 0)
    return invalidArgument("groups = " + std::to_string(*groups) +
                           " must divide the channels of " + roleOf(xIndex) +
                           " and the filters of " + roleOf(wIndex));
  if (w[1] * *groups != x[1])
    return invalidArgument(roleOf(wIndex) + " does not match the channels of " +
                           roleOf(xIndex) + " with groups = " +
                           std::to_string(*groups));
  Shape expectedY = {
      x[0], w[0],
      outputSize(x[2], w[2], (*stride)[0], (*padding)[0], (*dilation)[0]),
      outputSize(x[3], w[3], (*stride)[1], (*padding)[1], (*dilation)[1])};
  if (expectedY[2] < 1 || expectedY[3] < 1)
    return invalidArgument(roleOf(xIndex) + " is smaller than the window of " +
                           roleOf(wIndex));
  if (y != expectedY)
    return invalidArgument(roleOf(yIndex) + " should be " + formatShape(expectedY) +
                           " for " + roleOf(xIndex) + " and " + roleOf(wIndex));
  if (buffers[wIndex]->layout != Layout::kPlain)
    return invalidArgument(roleOf(wIndex) + " must be plain OIHW, not " +
                           std::string(layoutName(buffers[wIndex]->layout)));

  const auto f32 = memory::data_type::f32;
  Layout xLayout = buffers[xIndex]->layout, yLayout = buffers[yIndex]->layout;
  memory::desc xMd(memory::dims(x.begin(), x.end()), f32, activationTag(xLayout));
  memory::desc yMd(memory::dims(y.begin(), y.end()), f32, activationTag(yLayout));
  // Grouped filters are g x O/g x C/g x KH x KW: the same bytes as OIHW.
  memory::desc wMd =
      *groups == 1
          ? memory::desc(memory::dims(w.begin(), w.end()), f32, Tag::oihw)
          : memory::desc({*groups, w[0] / *groups, w[1], w[2], w[3]}, f32,
                         Tag::goihw);
  // A blocked (or channels-last) activation is used in place, in the
  // plan's layout. A plain one is left to oneDNN (its blocked layouts run
  // several times faster than its plain-layout gemm convolution, and with
  // a blocked partner a plain operand can even fall back to the reference
  // implementation: docs/benchmarks.md), at the price of a copy when it
  // chooses another layout; the filter layout is always its choice.
  auto wanted = [&](const memory::desc &md, Layout layout) {
    return layout == Layout::kPlain ? memory::desc(md.dims(), f32, Tag::any)
                                    : md;
  };
  memory::desc xWanted = wanted(xMd, xLayout);
  memory::desc yWanted = wanted(yMd, yLayout);
  memory::desc wAny(wMd.dims(), f32, Tag::any);
  memory::dims strides(stride->begin(), stride->end());
  memory::dims pads(padding->begin(), padding->end());
  // oneDNN counts dilation from 0 (no dilation), torch from 1.
  memory::dims dilates = {(*dilation)[0] - 1, (*dilation)[1] - 1};
  // padding_r = padding as torch: oneDNN's output size uses the same floor.
  const auto algo = dnnl::algorithm::convolution_direct;
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

  CallPlan plan;
  plan.name = entry.name;
  try {
    dnnl::convolution_forward::primitive_desc fwd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                        algo, xWanted, wAny, yWanted, strides,
                                        dilates, pads, pads),
        attr, engine);
    switch (kind) {
    case ConvKind::kForward:
      plan.create = [fwd] { return dnnl::convolution_forward(fwd); };
      plan.scratchpad = fwd.scratchpad_desc();
      plan.operands = {{DNNL_ARG_SRC, xIndex, xMd, fwd.src_desc(), false},
                       {DNNL_ARG_WEIGHTS, wIndex, wMd, fwd.weights_desc(), false},
                       {DNNL_ARG_DST, yIndex, yMd, fwd.dst_desc(), true}};
      break;
    case ConvKind::kBackwardInput: {
      dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(algo, xWanted, wAny, yWanted,
                                                strides, dilates, pads, pads),
          attr, engine, fwd);
      plan.create = [pd] { return dnnl::convolution_backward_data(pd); };
      plan.scratchpad = pd.scratchpad_desc();
      plan.operands = {{DNNL_ARG_DIFF_DST, yIndex, yMd, pd.diff_dst_desc(), false},
                       {DNNL_ARG_WEIGHTS, wIndex, wMd, pd.weights_desc(), false},
                       {DNNL_ARG_DIFF_SRC, xIndex, xMd, pd.diff_src_desc(), true}};
      break;
    }
    case ConvKind::kBackwardFilter: {
      dnnl::convolution_backward_weights::primitive_desc pd(
          dnnl::convolution_backward_weights::desc(algo, xWanted, wAny, yWanted,
                                                   strides, dilates, pads, pads),
          attr, engine, fwd);
      plan.create = [pd] { return dnnl::convolution_backward_weights(pd); };
      plan.scratchpad = pd.scratchpad_desc();
      plan.operands = {{DNNL_ARG_DIFF_DST, yIndex, yMd, pd.diff_dst_desc(), false},
                       {DNNL_ARG_SRC, xIndex, xMd, pd.src_desc(), false},
                       {DNNL_ARG_DIFF_WEIGHTS, wIndex, wMd, pd.diff_weights_desc(), true}};
      break;
    }
    }
  } catch (const dnnl::error &e) {
    return unavailable("oneDNN has no convolution for " + roleOf(xIndex) +
                       " and " + roleOf(wIndex) + ": " + e.what());
  }
  return plan;
}

Expected<CallPlan> planMatmul(const artifact::ScheduleEntry &entry,
                              const std::vector<const Buffer *> &buffers,
                              const dnnl::engine &engine) {
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
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i]->shape.size() != kMatrixRank)
      return invalidArgument(describe(buffers, i, kRoles[i]) +
                             " must have rank 2");
  const Shape &a = buffers[0]->shape;
  const Shape &b = buffers[1]->shape;
  const Shape &c = buffers[2]->shape;
  int64_t m = *transposeA ? a[1] : a[0];
  int64_t k = *transposeA ? a[0] : a[1];
  int64_t kB = *transposeB ? b[1] : b[0];
  int64_t n = *transposeB ? b[0] : b[1];
  if (kB != k)
    return invalidArgument("inner dimensions differ: " + describe(buffers, 0, "lhs") +
                           " and " + describe(buffers, 1, "rhs") +
                           " with transpose_lhs = " + std::to_string(*transposeA) +
                           ", transpose_rhs = " + std::to_string(*transposeB));
  if (c != Shape{m, n})
    return invalidArgument(describe(buffers, 2, "result") + " should be " +
                           formatShape({m, n}));
  // A transposed operand is the row-major buffer read with swapped strides.
  const auto f32 = memory::data_type::f32;
  memory::desc aMd({m, k}, f32, *transposeA ? memory::dims{1, m} : memory::dims{k, 1});
  memory::desc bMd({k, n}, f32, *transposeB ? memory::dims{1, k} : memory::dims{n, 1});
  memory::desc cMd({m, n}, f32, memory::dims{n, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  CallPlan plan;
  plan.name = entry.name;
  try {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(aMd, bMd, cMd), attr,
                                    engine);
    plan.create = [pd] { return dnnl::matmul(pd); };
    plan.scratchpad = pd.scratchpad_desc();
    plan.operands = {{DNNL_ARG_SRC, 0, aMd, aMd, false},
                     {DNNL_ARG_WEIGHTS, 1, bMd, bMd, false},
                     {DNNL_ARG_DST, 2, cMd, cMd, true}};
  } catch (const dnnl::error &e) {
    return unavailable("oneDNN has no matmul for " + describe(buffers, 0, "lhs") +
                       " and " + describe(buffers, 1, "rhs") + ": " + e.what());
  }
  return plan;
}

/// Checks what every routine shares, then plans the routine's primitive.
Expected<CallPlan> planCall(const artifact::ScheduleEntry &entry,
                            const std::vector<const Buffer *> &buffers,
                            const dnnl::engine &engine) {
  std::optional<ExternRoutine> routine = parseExternRoutine(entry.name);
  if (!routine)
    return invalidArgument("unknown extern (the CPU table has " +
                           externRoutineList() + ")");
  // Every extern of the table takes two inputs and writes one output.
  if (entry.numInputs != kExternInputs || entry.numOutputs != kExternOutputs ||
      buffers.size() != kExternInputs + kExternOutputs)
    return invalidArgument("expects 2 inputs and 1 output, got " +
                           std::to_string(entry.numInputs) + " inputs and " +
                           std::to_string(entry.numOutputs) + " outputs");
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i]->dtype != DType::kF32)
      return invalidArgument("operand " + std::to_string(i) + " ('" +
                             buffers[i]->name + "') is " +
                             dtypeName(buffers[i]->dtype) + ", expected f32");
  switch (*routine) {
  case ExternRoutine::kConv2d:
    return planConv(ConvKind::kForward, entry, buffers, engine);
  case ExternRoutine::kConv2dBackwardInput:
    return planConv(ConvKind::kBackwardInput, entry, buffers, engine);
  case ExternRoutine::kConv2dBackwardFilter:
    return planConv(ConvKind::kBackwardFilter, entry, buffers, engine);
  case ExternRoutine::kMatmul:
    return planMatmul(entry, buffers, engine);
  }
  return invalidArgument("unknown extern");
}

//===----------------------------------------------------------------------===//
// Bound calls
//===----------------------------------------------------------------------===//

/// A primitive (or a reorder) with its arguments as the C API takes them,
/// built once: the C++ execute() builds a std::unordered_map (allocating) on
/// every call.
struct Execution {
  dnnl::primitive primitive;
  std::vector<dnnl::memory> memories;
  std::vector<dnnl_exec_arg_t> args;

  void add(int arg, const dnnl::memory &memory) {
    memories.push_back(memory);
    args.push_back({arg, memory.get()});
  }
  dnnl_status_t run(dnnl::stream &stream) const {
    return dnnl_primitive_execute(primitive.get(), stream.get(),
                                  static_cast<int>(args.size()), args.data());
  }
};

struct Call {
  CallPlan plan;
  std::vector<EntryOperand> operands;
  /// Where the workspace is: the planned scratch operand, or `owned`.
  void *workspace = nullptr;
  std::unique_ptr<void, void (*)(void *)> owned{nullptr, std::free};
  std::vector<Execution> before, after;
  Execution main;

  /// Binds the primitive, its copies and reorders to the operands and the
  /// workspace.
  void bind(const dnnl::engine &engine) {
    auto *base = static_cast<unsigned char *>(workspace);
    main.primitive = plan.create();
    size_t offset = aligned(plan.scratchpad.get_size());
    if (plan.scratchpad.get_size() != 0)
      main.add(DNNL_ARG_SCRATCHPAD, memory(plan.scratchpad, engine, base));
    for (const OperandUse &use : plan.operands) {
      memory stored(use.stored, engine, operands[use.operand].data);
      if (!use.needsCopy()) {
        main.add(use.arg, stored);
        continue;
      }
      memory copy(use.wanted, engine, base + offset);
      offset += aligned(use.wanted.get_size());
      main.add(use.arg, copy);
      Execution reorder;
      reorder.primitive = use.output ? dnnl::reorder(copy, stored)
                                     : dnnl::reorder(stored, copy);
      reorder.add(DNNL_ARG_FROM, use.output ? copy : stored);
      reorder.add(DNNL_ARG_TO, use.output ? stored : copy);
      (use.output ? after : before).push_back(std::move(reorder));
    }
  }

  Status run(dnnl::stream &stream) const {
    dnnl_status_t status = dnnl_success;
    for (const Execution &e : before)
      if (status == dnnl_success)
        status = e.run(stream);
    if (status == dnnl_success)
      status = main.run(stream);
    for (const Execution &e : after)
      if (status == dnnl_success)
        status = e.run(stream);
    if (status == dnnl_success)
      status = dnnl_stream_wait(stream.get());
    if (status != dnnl_success)
      return internalError("oneDNN " + plan.name + " failed with status " +
                           std::to_string(static_cast<int>(status)));
    return Status::ok();
  }
};

std::vector<const Buffer *> buffersOf(const std::vector<EntryOperand> &operands,
                                      size_t count) {
  std::vector<const Buffer *> buffers;
  for (size_t i = 0; i < count && i < operands.size(); ++i)
    buffers.push_back(operands[i].buffer);
  return buffers;
}

} // namespace

Expected<int64_t>
cpuExternWorkspaceBytes(const artifact::ScheduleEntry &entry,
                        const std::vector<const Buffer *> &buffers) {
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  Expected<CallPlan> plan = planCall(entry, buffers, engine);
  if (!plan)
    return plan.takeStatus();
  return static_cast<int64_t>(plan->workspaceBytes());
}

struct CpuExterns::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::vector<std::unique_ptr<Call>> calls;
  int64_t unplannedBytes = 0;
};

CpuExterns::CpuExterns() : impl_(std::make_unique<Impl>()) {}
CpuExterns::~CpuExterns() = default;

Expected<size_t> CpuExterns::add(const artifact::ScheduleEntry &entry,
                                 const std::vector<EntryOperand> &operands) {
  size_t numBuffers = static_cast<size_t>(entry.numInputs + entry.numOutputs);
  if (entry.numScratch() > 1)
    return invalidArgument("expects at most one workspace, got " +
                           std::to_string(entry.numScratch()));
  Expected<CallPlan> plan =
      planCall(entry, buffersOf(operands, numBuffers), impl_->engine);
  if (!plan)
    return plan.takeStatus();
  auto call = std::make_unique<Call>();
  call->plan = std::move(*plan);
  call->operands = operands;
  if (entry.numScratch() == 1 &&
      operands.back().buffer->bytes >=
          static_cast<int64_t>(call->plan.workspaceBytes()))
    call->workspace = operands.back().data;
  impl_->calls.push_back(std::move(call));
  return impl_->calls.size() - 1;
}

Status CpuExterns::finalize() {
  for (const auto &call : impl_->calls) {
    size_t bytes = call->plan.workspaceBytes();
    if (!call->workspace && bytes > 0) {
      // Not planned, or planned for another machine: once, here.
      call->owned.reset(std::aligned_alloc(kernels::kScratchAlignment, aligned(bytes)));
      if (!call->owned)
        return unavailable("cannot allocate " + std::to_string(bytes) +
                           " bytes of workspace for oneDNN " + call->plan.name);
      call->workspace = call->owned.get();
      impl_->unplannedBytes += static_cast<int64_t>(bytes);
    }
    try {
      call->bind(impl_->engine);
    } catch (const dnnl::error &e) {
      return unavailable("oneDNN cannot create " + call->plan.name + ": " +
                         e.what());
    }
  }
  return Status::ok();
}

Status CpuExterns::run(size_t handle) {
  return impl_->calls[handle]->run(impl_->stream);
}

int64_t CpuExterns::unplannedWorkspaceBytes() const {
  return impl_->unplannedBytes;
}

} // namespace simclr::runtime
