//===- Tensor.h - Dense row-major tensors for the kernels -------*- C++ -*-===//
//
// The reference kernels (Kernels.h) are the numerical oracle that generated
// CPU/CUDA kernels are checked against, so their tensor type is deliberately
// plain: a shape and a row-major std::vector of elements, owned by value.
// A rank-0 tensor (empty shape) holds exactly one element and represents a
// scalar such as a loss.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_REFERENCE_TENSOR_H
#define SIMCLR_REFERENCE_TENSOR_H

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace simclr::ref {

/// Returns the number of elements of a tensor of `shape`: the product of its
/// extents, 1 for rank 0.
inline int64_t shapeNumElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t extent : shape)
    count *= extent;
  return count;
}

/// Formats `shape` as "[2, 3, 4]" (rank 0 as "[]") for error messages.
inline std::string shapeToString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

/// A dense row-major tensor of float or double. Invariant (checked by every
/// kernel): data.size() == shapeNumElements(shape) and every extent >= 0.
template <typename T> struct Tensor {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "reference tensors hold float or double");

  std::vector<int64_t> shape;
  std::vector<T> data;

  Tensor() = default;
  Tensor(std::vector<int64_t> shape, std::vector<T> data)
      : shape(std::move(shape)), data(std::move(data)) {
    assert(isConsistent() && "Tensor: data size does not match shape");
  }

  /// A tensor of `shape` with every element equal to `value`.
  static Tensor full(std::vector<int64_t> shape, T value) {
    size_t count = static_cast<size_t>(shapeNumElements(shape));
    return Tensor(std::move(shape), std::vector<T>(count, value));
  }
  static Tensor zeros(std::vector<int64_t> shape) {
    return full(std::move(shape), T(0));
  }
  /// A rank-0 tensor holding `value`.
  static Tensor scalar(T value) { return Tensor({}, {value}); }

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t axis) const {
    assert(axis >= 0 && axis < rank() && "Tensor::dim: axis out of range");
    return shape[static_cast<size_t>(axis)];
  }
  int64_t numElements() const { return shapeNumElements(shape); }

  /// True when the extents are non-negative and data has numElements() entries.
  bool isConsistent() const {
    for (int64_t extent : shape)
      if (extent < 0)
        return false;
    return data.size() == static_cast<size_t>(numElements());
  }

  /// Row-major offset of the element at `index...` (one index per axis).
  template <typename... Index> int64_t offset(Index... index) const {
    assert(sizeof...(Index) == shape.size() &&
           "Tensor::offset: index count differs from rank");
    std::array<int64_t, sizeof...(Index)> indices = {
        static_cast<int64_t>(index)...};
    int64_t linear = 0;
    for (size_t axis = 0; axis < indices.size(); ++axis) {
      assert(indices[axis] >= 0 && indices[axis] < shape[axis] &&
             "Tensor::offset: index out of bounds");
      linear = linear * shape[axis] + indices[axis];
    }
    return linear;
  }

  template <typename... Index> T &at(Index... index) {
    return data[static_cast<size_t>(offset(index...))];
  }
  template <typename... Index> const T &at(Index... index) const {
    return data[static_cast<size_t>(offset(index...))];
  }

  /// Element-wise conversion to another element type (float <-> double).
  template <typename U> Tensor<U> cast() const {
    std::vector<U> converted(data.begin(), data.end());
    return Tensor<U>(shape, std::move(converted));
  }
};

} // namespace simclr::ref

#endif // SIMCLR_REFERENCE_TENSOR_H
