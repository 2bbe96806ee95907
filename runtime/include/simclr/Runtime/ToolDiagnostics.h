//===- ToolDiagnostics.h - How the runtime tools report errors -*- C++ -*-===//
//
// simclr-train and simclr-eval report a failure (checkpoint, artifact, data,
// I/O) as one line "TOOL: error: MESSAGE" and exit 1, a bad argument as one
// line pointing at --help and exit 2; paths they print or record are
// absolute.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_TOOLDIAGNOSTICS_H
#define SIMCLR_RUNTIME_TOOLDIAGNOSTICS_H

#include <filesystem>
#include <iostream>
#include <string>

namespace simclr::runtime {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// The error lines of the tool named `tool`.
class ToolDiagnostics {
public:
  constexpr explicit ToolDiagnostics(const char *tool) : tool_(tool) {}

  /// Prints "TOOL: error: MESSAGE"; returns kExitFailure.
  int fail(const std::string &message) const {
    std::cerr << tool_ << ": error: " << message << "\n";
    return kExitFailure;
  }

  /// Prints "TOOL: error: MESSAGE (TOOL --help lists the options)"; returns
  /// kExitUsage.
  int usageError(const std::string &message) const {
    std::cerr << tool_ << ": error: " << message << " (" << tool_
              << " --help lists the options)\n";
    return kExitUsage;
  }

private:
  const char *tool_;
};

/// `path` made absolute and normalized; as given when that fails.
inline std::string absolutePath(const std::string &path) {
  std::error_code ec;
  std::filesystem::path result = std::filesystem::absolute(path, ec);
  return ec ? path : result.lexically_normal().string();
}

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_TOOLDIAGNOSTICS_H
