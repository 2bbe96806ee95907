//===- Elementwise.cpp - Reference relu, add and scale --------------------===//
#include "Checks.h"
#include "simclr/Reference/Kernels.h"

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

#define SIMCLR_INSTANTIATE_ELEMENTWISE(T)                                      \
  template Expected<Tensor<T>> relu(const Tensor<T> &);                        \
  template Expected<Tensor<T>> reluBackward(const Tensor<T> &,                 \
                                            const Tensor<T> &);                \
  template Expected<Tensor<T>> add(const Tensor<T> &, const Tensor<T> &);      \
  template Expected<BinaryGrads<T>> addBackward(const Tensor<T> &);            \
  template Tensor<T> scale(const Tensor<T> &, double);                         \
  template Tensor<T> scaleBackward(const Tensor<T> &, double);
SIMCLR_INSTANTIATE_ELEMENTWISE(float)
SIMCLR_INSTANTIATE_ELEMENTWISE(double)
#undef SIMCLR_INSTANTIATE_ELEMENTWISE

} // namespace simclr::ref
