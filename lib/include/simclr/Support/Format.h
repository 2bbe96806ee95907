//===- Format.h - Numbers and shapes as written in messages -----*- C++ -*-===//
#ifndef SIMCLR_SUPPORT_FORMAT_H
#define SIMCLR_SUPPORT_FORMAT_H

#include <cstdio>
#include <string>

namespace simclr {

/// The shortest usual form of a number for diagnostics: "0.5", "1e-06",
/// "1.5" (printf's %g), where MLIR would print "5.000000e-01".
inline std::string formatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

/// A tensor shape for diagnostics: "8x3x32x32" ("" for 0-D). `shape` is any
/// range of integers (std::vector<int64_t>, llvm::ArrayRef<int64_t>).
template <typename Range> std::string formatShape(const Range &shape) {
  std::string text;
  bool first = true;
  for (auto dim : shape) {
    if (!first)
      text += 'x';
    text += std::to_string(dim);
    first = false;
  }
  return text;
}

} // namespace simclr

#endif // SIMCLR_SUPPORT_FORMAT_H
