//===- TrainingSpec.cpp - Key locations, diagnostics and named encoders ---===//
#include "simclr/Frontend/TrainingSpec.h"

namespace simclr::frontend {

SourceLoc TrainingSpec::locationOf(const std::string &keyPath) const {
  // Walk outwards: "augment[2].p" -> "augment[2]" -> "augment", so a key that
  // was left at its default still points at the table that omitted it.
  std::string path = keyPath;
  while (!path.empty()) {
    auto found = keyLocations.find(path);
    if (found != keyLocations.end())
      return found->second;
    size_t cut = path.back() == ']' ? path.rfind('[') : path.rfind('.');
    if (cut == std::string::npos)
      break;
    path.resize(cut);
  }
  return SourceLoc{sourceFile, 0, 0};
}

std::string formatSpecError(const SourceLoc &loc, const std::string &message) {
  std::string line = loc.file.empty() ? "spec" : loc.file;
  if (loc.line != 0) {
    line += ":" + std::to_string(loc.line);
    if (loc.column != 0)
      line += ":" + std::to_string(loc.column);
  }
  line += ": error: ";
  // Tools print the message as a single line; a stray newline from a TOML
  // description or a file name must not split it.
  for (char c : message)
    line += (c == '\n' || c == '\r') ? ' ' : c;
  return line;
}

namespace {

/// A named ResNet: blocks per stage and block kind, from He et al. 2016,
/// table 1 (resnet10 is the common [1,1,1,1] reduction of ResNet-18).
struct NamedArchitecture {
  const char *name;
  std::vector<int64_t> blocksPerStage;
  BlockKind block;
};

const NamedArchitecture kArchitectures[] = {
    {"resnet10", {1, 1, 1, 1}, BlockKind::kBasic},
    {"resnet18", {2, 2, 2, 2}, BlockKind::kBasic},
    {"resnet34", {3, 4, 6, 3}, BlockKind::kBasic},
    {"resnet50", {3, 4, 6, 3}, BlockKind::kBottleneck},
    {"resnet101", {3, 4, 23, 3}, BlockKind::kBottleneck},
    {"resnet152", {3, 8, 36, 3}, BlockKind::kBottleneck},
};

} // namespace

bool setEncoderArchitecture(const std::string &name, EncoderSpec &encoder) {
  for (const NamedArchitecture &arch : kArchitectures) {
    if (name != arch.name)
      continue;
    encoder.blocksPerStage = arch.blocksPerStage;
    encoder.block = arch.block;
    return true;
  }
  return false;
}

std::vector<std::string> encoderArchitectureNames() {
  std::vector<std::string> names;
  for (const NamedArchitecture &arch : kArchitectures)
    names.push_back(arch.name);
  return names;
}

} // namespace simclr::frontend
