//===- CudaExternProblems.cpp - The CUDA extern table's calls, checked ----===//
#include "Cuda/CudaExternProblems.h"

#include "simclr/Support/Vocabulary.h"

#include <optional>
#include <string>

namespace simclr::runtime::cuda {
namespace {

using artifact::AttrMap;
using artifact::Buffer;
using Shape = std::vector<int64_t>;

std::string formatShape(const Shape &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string describe(const std::vector<const Buffer *> &buffers, size_t index,
                     const char *role) {
  const Buffer &b = *buffers[index];
  return std::string(role) + " (operand " + std::to_string(index) + ", '" +
         b.name + "', " + formatShape(b.shape) + ")";
}

Expected<int64_t> intAttr(const AttrMap &attrs, const std::string &key,
                          int64_t fallback) {
  auto it = attrs.find(key);
  if (it == attrs.end())
    return fallback;
  if (const int64_t *v = std::get_if<int64_t>(&it->second))
    return *v;
  return invalidArgument("attribute '" + key + "' must be an integer");
}

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

/// floor((in + 2p - d(k-1) - 1) / s) + 1, as torch's conv2d; 0 when the
/// padded input is smaller than the window.
int64_t outputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                   int64_t dilation) {
  int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

/// What every routine of the table shares: 2 f32 inputs, 1 f32 output.
Status checkOperands(const artifact::ScheduleEntry &entry,
                     const std::vector<const Buffer *> &buffers) {
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
  return Status::ok();
}

Dims4 dims4(const Shape &shape) {
  return {shape[0], shape[1], shape[2], shape[3]};
}

} // namespace

Expected<Dims4> activationStrides(Layout layout, const Dims4 &dims) {
  const int64_t c = dims[1], h = dims[2], w = dims[3];
  switch (layout) {
  case Layout::kPlain:
    return Dims4{c * h * w, h * w, w, 1};
  case Layout::kNhwc:
    return Dims4{h * w * c, 1, w * c, c};
  case Layout::kNChw8c:
  case Layout::kNChw16c:
    break;
  }
  return invalidArgument("layout " + std::string(layoutName(layout)) +
                         " is not one the CUDA target runs (nchw or nhwc)");
}

Dims4 filterStrides(FilterLayout layout, const Dims4 &dims) {
  const int64_t c = dims[1], r = dims[2], s = dims[3];
  return layout == FilterLayout::kOihw ? Dims4{c * r * s, r * s, s, 1}
                                       : Dims4{r * s * c, 1, s * c, c};
}

Expected<ConvProblem>
parseConvProblem(const artifact::ScheduleEntry &entry,
                 const std::vector<const Buffer *> &buffers) {
  SIMCLR_RETURN_IF_ERROR(checkOperands(entry, buffers));
  std::optional<ExternRoutine> routine = parseExternRoutine(entry.name);
  ConvProblem p;
  if (routine == ExternRoutine::kConv2d)
    p.direction = ConvDirection::kForward;
  else if (routine == ExternRoutine::kConv2dBackwardInput)
    p.direction = ConvDirection::kBackwardData;
  else if (routine == ExternRoutine::kConv2dBackwardFilter)
    p.direction = ConvDirection::kBackwardFilter;
  else
    return invalidArgument("'" + entry.name + "' is not a convolution");
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
  p.stride = *stride;
  p.padding = *padding;
  p.dilation = *dilation;
  p.groups = *groups;

  // Operand roles per direction: (x, w, y), (dy, w, dx), (dy, x, dw).
  static constexpr const char *kRoles[3][3] = {
      {"input x", "filter w", "output y"},
      {"gradient dy", "filter w", "result dx"},
      {"gradient dy", "input x", "result dw"}};
  const auto &roles = kRoles[static_cast<int>(p.direction)];
  p.xOperand = p.direction == ConvDirection::kForward        ? 0
               : p.direction == ConvDirection::kBackwardData ? 2
                                                             : 1;
  p.wOperand = p.direction == ConvDirection::kBackwardFilter ? 2 : 1;
  p.yOperand = p.direction == ConvDirection::kForward ? 2 : 0;
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i]->shape.size() != 4)
      return invalidArgument(describe(buffers, i, roles[i]) +
                             " must have rank 4");
  auto roleOf = [&](size_t index) {
    return describe(buffers, index, roles[index]);
  };
  const Shape &x = buffers[p.xOperand]->shape;
  const Shape &w = buffers[p.wOperand]->shape;
  const Shape &y = buffers[p.yOperand]->shape;
  if (x[1] % p.groups != 0 || w[0] % p.groups != 0)
    return invalidArgument("groups = " + std::to_string(p.groups) +
                           " must divide the channels of " +
                           roleOf(p.xOperand) + " and the filters of " +
                           roleOf(p.wOperand));
  if (w[1] * p.groups != x[1])
    return invalidArgument(
        roleOf(p.wOperand) + " does not match the channels of " +
        roleOf(p.xOperand) + " with groups = " + std::to_string(p.groups));
  Shape expectedY = {
      x[0], w[0],
      outputSize(x[2], w[2], p.stride[0], p.padding[0], p.dilation[0]),
      outputSize(x[3], w[3], p.stride[1], p.padding[1], p.dilation[1])};
  if (expectedY[2] < 1 || expectedY[3] < 1)
    return invalidArgument(roleOf(p.xOperand) +
                           " is smaller than the window of " +
                           roleOf(p.wOperand));
  if (y != expectedY)
    return invalidArgument(roleOf(p.yOperand) + " should be " +
                           formatShape(expectedY) + " for " +
                           roleOf(p.xOperand) + " and " + roleOf(p.wOperand));
  if (buffers[p.wOperand]->layout != Layout::kPlain)
    return invalidArgument(
        roleOf(p.wOperand) + " must be plain OIHW, not " +
        std::string(layoutName(buffers[p.wOperand]->layout)));
  p.x = dims4(x);
  p.w = dims4(w);
  p.y = dims4(y);
  p.xLayout = buffers[p.xOperand]->layout;
  p.yLayout = buffers[p.yOperand]->layout;
  for (size_t operand : {p.xOperand, p.yOperand}) {
    Expected<Dims4> strides = activationStrides(buffers[operand]->layout,
                                                dims4(buffers[operand]->shape));
    if (!strides)
      return strides.takeStatus().withContext(roleOf(operand));
  }
  return p;
}

Expected<MatmulProblem>
parseMatmulProblem(const artifact::ScheduleEntry &entry,
                   const std::vector<const Buffer *> &buffers) {
  SIMCLR_RETURN_IF_ERROR(checkOperands(entry, buffers));
  if (parseExternRoutine(entry.name) != ExternRoutine::kMatmul)
    return invalidArgument("'" + entry.name + "' is not a matmul");
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
    if (buffers[i]->shape.size() != 2)
      return invalidArgument(describe(buffers, i, kRoles[i]) +
                             " must have rank 2");
  const Shape &a = buffers[0]->shape;
  const Shape &b = buffers[1]->shape;
  const Shape &c = buffers[2]->shape;
  MatmulProblem p;
  p.transposeA = *transposeA;
  p.transposeB = *transposeB;
  p.m = p.transposeA ? a[1] : a[0];
  p.k = p.transposeA ? a[0] : a[1];
  int64_t kB = p.transposeB ? b[1] : b[0];
  p.n = p.transposeB ? b[0] : b[1];
  if (kB != p.k)
    return invalidArgument(
        "inner dimensions differ: " + describe(buffers, 0, "lhs") + " and " +
        describe(buffers, 1, "rhs") +
        " with transpose_lhs = " + std::to_string(*transposeA) +
        ", transpose_rhs = " + std::to_string(*transposeB));
  if (c != Shape{p.m, p.n})
    return invalidArgument(describe(buffers, 2, "result") + " should be " +
                           formatShape({p.m, p.n}));
  return p;
}

ColumnMajorGemm columnMajorGemm(const MatmulProblem &p) {
  ColumnMajorGemm g;
  g.m = p.n;
  g.n = p.m;
  g.k = p.k;
  // Row-major B, stored [K, N] (or [N, K] transposed), read column-major
  // is its transpose: N x K (or K x N), leading dimension its row length.
  g.transposeA = p.transposeB;
  g.aRows = p.transposeB ? p.k : p.n;
  g.aCols = p.transposeB ? p.n : p.k;
  g.lda = g.aRows;
  // Row-major A, stored [M, K] (or [K, M]), likewise.
  g.transposeB = p.transposeA;
  g.bRows = p.transposeA ? p.m : p.k;
  g.bCols = p.transposeA ? p.k : p.m;
  g.ldb = g.bRows;
  g.ldc = p.n;
  return g;
}

FilterTranspose filterTranspose(const Dims4 &dims, bool toKrsc) {
  const int64_t c = dims[1], rs = dims[2] * dims[3];
  // One OIHW filter, row-major C x RS, read column-major is RS x C with
  // leading dimension RS; its transpose, C x RS column-major with leading
  // dimension C, is row-major RS x C: (r, s, c), KRSC. Back again swaps.
  const FilterTranspose::Matrix oihw{rs, c, rs}, krsc{c, rs, c};
  FilterTranspose t;
  t.from = toKrsc ? oihw : krsc;
  t.to = toKrsc ? krsc : oihw;
  t.batch = dims[0];
  t.batchStride = c * rs;
  return t;
}

} // namespace simclr::runtime::cuda
