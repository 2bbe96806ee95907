//===- Elementwise.cpp - Reference element-wise and data-movement kernels -===//
#include "Checks.h"
#include "simclr/Reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace simclr::ref {

template <typename T> Expected<Tensor<T>> relu(const Tensor<T> &x) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank("relu", "x", x, detail::kAnyRank));
  Tensor<T> y = x;
  // Written as "x < 0 ? 0 : x" so that NaN (all comparisons false) passes
  // through unchanged, as in torch.relu.
  for (T &value : y.data)
    value = value < T(0) ? T(0) : value;
  return y;
}

template <typename T>
Expected<Tensor<T>> reluBackward(const Tensor<T> &dy, const Tensor<T> &y) {
  SIMCLR_RETURN_IF_ERROR(
      detail::checkRank("reluBackward", "y", y, detail::kAnyRank));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape("reluBackward", "dy", dy, y.shape));
  Tensor<T> dx = Tensor<T>::zeros(y.shape);
  for (size_t i = 0; i < dx.data.size(); ++i)
    dx.data[i] = y.data[i] > T(0) ? dy.data[i] : T(0);
  return dx;
}

template <typename T>
Expected<Tensor<T>> add(const Tensor<T> &a, const Tensor<T> &b) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank("add", "a", a, detail::kAnyRank));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape("add", "b", b, a.shape));
  Tensor<T> c = a;
  for (size_t i = 0; i < c.data.size(); ++i)
    c.data[i] += b.data[i];
  return c;
}

template <typename T>
Expected<BinaryGrads<T>> addBackward(const Tensor<T> &dc) {
  SIMCLR_RETURN_IF_ERROR(
      detail::checkRank("addBackward", "dc", dc, detail::kAnyRank));
  return BinaryGrads<T>{dc, dc};
}

template <typename T> Tensor<T> scale(const Tensor<T> &x, double factor) {
  Tensor<T> y = x;
  for (T &value : y.data)
    value *= static_cast<T>(factor);
  return y;
}

template <typename T>
Tensor<T> scaleBackward(const Tensor<T> &dy, double factor) {
  return scale(dy, factor);
}

namespace {

/// The largest uint8 value; image_to_float maps it to 1.
constexpr double kMaxPixel = 255.0;

/// Checks a target shape for extents >= 0 before a kernel allocates it.
Status checkTargetShape(const char *kernel, const std::vector<int64_t> &shape) {
  for (int64_t extent : shape)
    if (extent < 0)
      return invalidArgument(std::string(kernel) + ": target shape " +
                             shapeToString(shape) + " has a negative extent");
  return Status::ok();
}

/// Splits a row-major shape around `dim` into the product of the extents
/// before it (outer) and after it (inner), so that element (o, i, k) of the
/// [outer, shape[dim], inner] view has offset (o * shape[dim] + i) * inner + k.
struct AxisView {
  int64_t outer = 1;
  int64_t inner = 1;
};

AxisView axisView(const std::vector<int64_t> &shape, int64_t dim) {
  AxisView view;
  for (int64_t axis = 0; axis < static_cast<int64_t>(shape.size()); ++axis) {
    if (axis < dim)
      view.outer *= shape[static_cast<size_t>(axis)];
    else if (axis > dim)
      view.inner *= shape[static_cast<size_t>(axis)];
  }
  return view;
}

} // namespace

template <typename T> Expected<Tensor<T>> imageToFloat(const Tensor<T> &x) {
  SIMCLR_RETURN_IF_ERROR(
      detail::checkRank("imageToFloat", "x", x, detail::kAnyRank));
  Tensor<T> y = x;
  for (T &value : y.data) {
    // Written so that NaN fails the range test too.
    if (!(value >= T(0) && value <= static_cast<T>(kMaxPixel)) ||
        value != std::floor(value))
      return detail::operandError("imageToFloat", "x", x,
                                  "holds " + std::to_string(value) +
                                      ", which is not a uint8 pixel value");
    value /= static_cast<T>(kMaxPixel);
  }
  return y;
}

template <typename T>
Expected<Tensor<T>> broadcast(const Tensor<T> &x,
                              const std::vector<int64_t> &shape) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank("broadcast", "x", x, 0));
  SIMCLR_RETURN_IF_ERROR(checkTargetShape("broadcast", shape));
  return Tensor<T>::full(shape, x.data[0]);
}

template <typename T>
Expected<Tensor<T>> reshape(const Tensor<T> &x,
                            const std::vector<int64_t> &shape) {
  SIMCLR_RETURN_IF_ERROR(
      detail::checkRank("reshape", "x", x, detail::kAnyRank));
  SIMCLR_RETURN_IF_ERROR(checkTargetShape("reshape", shape));
  if (shapeNumElements(shape) != x.numElements())
    return detail::operandError("reshape", "x", x,
                                "cannot be reshaped to " +
                                    shapeToString(shape) +
                                    ", which has a different element count");
  return Tensor<T>(shape, x.data);
}

template <typename T>
Expected<Tensor<T>> concat(const std::vector<const Tensor<T> *> &inputs,
                           int64_t dim) {
  const char *kernel = "concat";
  if (inputs.empty())
    return invalidArgument("concat: needs at least one input");
  const Tensor<T> &first = *inputs.front();
  SIMCLR_RETURN_IF_ERROR(
      detail::checkRank(kernel, "inputs[0]", first, detail::kAnyRank));
  if (dim < 0 || dim >= first.rank())
    return detail::operandError(kernel, "inputs[0]", first,
                                "has no dimension " + std::to_string(dim));
  std::vector<int64_t> shape = first.shape;
  shape[static_cast<size_t>(dim)] = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor<T> &input = *inputs[i];
    std::string name = "inputs[" + std::to_string(i) + "]";
    std::vector<int64_t> expected = first.shape;
    if (input.rank() == first.rank())
      expected[static_cast<size_t>(dim)] = input.dim(dim);
    SIMCLR_RETURN_IF_ERROR(
        detail::checkShape(kernel, name.c_str(), input, expected));
    shape[static_cast<size_t>(dim)] += input.dim(dim);
  }

  Tensor<T> y = Tensor<T>::zeros(shape);
  AxisView view = axisView(shape, dim);
  int64_t yExtent = shape[static_cast<size_t>(dim)];
  int64_t start = 0;
  for (const Tensor<T> *input : inputs) {
    int64_t extent = input->dim(dim);
    for (int64_t o = 0; o < view.outer; ++o)
      for (int64_t i = 0; i < extent; ++i)
        std::copy_n(input->data.begin() + (o * extent + i) * view.inner,
                    view.inner,
                    y.data.begin() + (o * yExtent + start + i) * view.inner);
    start += extent;
  }
  return y;
}

template <typename T>
Expected<Tensor<T>> slice(const Tensor<T> &x, int64_t dim, int64_t offset,
                          int64_t size) {
  const char *kernel = "slice";
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "x", x, detail::kAnyRank));
  if (dim < 0 || dim >= x.rank())
    return detail::operandError(kernel, "x", x,
                                "has no dimension " + std::to_string(dim));
  int64_t extent = x.dim(dim);
  if (offset < 0 || size < 0 || offset > extent - size)
    return detail::operandError(
        kernel, "x", x,
        "cannot take " + std::to_string(size) + " elements from offset " +
            std::to_string(offset) + " of dimension " + std::to_string(dim));
  std::vector<int64_t> shape = x.shape;
  shape[static_cast<size_t>(dim)] = size;
  Tensor<T> y = Tensor<T>::zeros(shape);
  AxisView view = axisView(x.shape, dim);
  for (int64_t o = 0; o < view.outer; ++o)
    for (int64_t i = 0; i < size; ++i)
      std::copy_n(x.data.begin() + (o * extent + offset + i) * view.inner,
                  view.inner, y.data.begin() + (o * size + i) * view.inner);
  return y;
}

#define SIMCLR_INSTANTIATE_ELEMENTWISE(T)                                      \
  template Expected<Tensor<T>> relu(const Tensor<T> &);                        \
  template Expected<Tensor<T>> reluBackward(const Tensor<T> &,                 \
                                            const Tensor<T> &);                \
  template Expected<Tensor<T>> add(const Tensor<T> &, const Tensor<T> &);      \
  template Expected<BinaryGrads<T>> addBackward(const Tensor<T> &);            \
  template Tensor<T> scale(const Tensor<T> &, double);                         \
  template Tensor<T> scaleBackward(const Tensor<T> &, double);                 \
  template Expected<Tensor<T>> imageToFloat(const Tensor<T> &);                \
  template Expected<Tensor<T>> broadcast(const Tensor<T> &,                    \
                                         const std::vector<int64_t> &);        \
  template Expected<Tensor<T>> reshape(const Tensor<T> &,                      \
                                       const std::vector<int64_t> &);          \
  template Expected<Tensor<T>> concat(const std::vector<const Tensor<T> *> &,  \
                                      int64_t);                                \
  template Expected<Tensor<T>> slice(const Tensor<T> &, int64_t, int64_t,      \
                                     int64_t);
SIMCLR_INSTANTIATE_ELEMENTWISE(float)
SIMCLR_INSTANTIATE_ELEMENTWISE(double)
#undef SIMCLR_INSTANTIATE_ELEMENTWISE

} // namespace simclr::ref
