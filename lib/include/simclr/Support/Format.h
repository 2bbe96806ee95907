//===- Format.h - Numbers as people write them in messages ------*- C++ -*-===//
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

} // namespace simclr

#endif // SIMCLR_SUPPORT_FORMAT_H
