// Tests' copy of a row-major NCHW tensor into a kernel-level layout and back.
#ifndef SIMCLR_TEST_UNIT_COMMON_LAYOUTCOPY_H
#define SIMCLR_TEST_UNIT_COMMON_LAYOUTCOPY_H

#include "simclr/Support/Vocabulary.h"

#include <array>
#include <cstdint>
#include <vector>

namespace simclr::test {

/// Calls visit(plainIndex, laidIndex) for every element of an
/// [n, c, h, w] tensor: its row-major NCHW index and its index in `layout`
/// (Vocabulary.h's layoutOffset, the runtime's and the kernels' formula).
template <typename Visit>
void forEachLaidElement(const std::array<int64_t, 4> &dims, Layout layout,
                        Visit visit) {
  size_t plainIndex = 0;
  for (int64_t n = 0; n < dims[0]; ++n)
    for (int64_t c = 0; c < dims[1]; ++c)
      for (int64_t h = 0; h < dims[2]; ++h)
        for (int64_t w = 0; w < dims[3]; ++w)
          visit(plainIndex++,
                static_cast<size_t>(layoutOffset(layout, dims, {n, c, h, w})));
}

/// `plain` (row-major NCHW) laid out in `layout`.
inline std::vector<float> toLayout(const std::vector<float> &plain,
                                   const std::array<int64_t, 4> &dims,
                                   Layout layout) {
  std::vector<float> laid(plain.size());
  forEachLaidElement(dims, layout,
                     [&](size_t p, size_t l) { laid[l] = plain[p]; });
  return laid;
}

/// `laid` (in `layout`) back in row-major NCHW.
inline std::vector<float> fromLayout(const std::vector<float> &laid,
                                     const std::array<int64_t, 4> &dims,
                                     Layout layout) {
  std::vector<float> plain(laid.size());
  forEachLaidElement(dims, layout,
                     [&](size_t p, size_t l) { plain[p] = laid[l]; });
  return plain;
}

} // namespace simclr::test

#endif // SIMCLR_TEST_UNIT_COMMON_LAYOUTCOPY_H
