//===- ImageFolderFuzzer.cpp - Fuzzes readImageFolder over a directory ---===//
//
// Input: a small archive expanded into a fresh directory. Part 0 (parts are
// split at kPartSeparator) holds the requested shape, bytes: channels (odd:
// 1, even: 3), height - 1, width - 1 (so 1..256 each). Every further part is
// "RELATIVE/PATH\n" then the file's bytes. Paths keep only [A-Za-z0-9._-]
// in up to kMaxDepth components (others are dropped) and no "." or ".."
// components, so every file lands inside the directory.
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "ReaderChecks.h"

#include "simclr/Runtime/Dataset.h"

#include <cctype>
#include <filesystem>
#include <optional>

using namespace simclr;

namespace {

constexpr size_t kMaxDepth = 4;
constexpr size_t kMaxComponentLength = 32;
constexpr size_t kShapeBytes = 3;

/// The sanitized relative path of a part's first line, or nothing.
std::optional<std::string> relativePath(std::string_view line) {
  std::string path;
  size_t depth = 0;
  while (!line.empty()) {
    size_t slash = line.find('/');
    std::string_view raw = line.substr(0, slash);
    line.remove_prefix(slash == std::string_view::npos ? line.size() : slash + 1);
    std::string component;
    for (char c : raw)
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
          c == '-')
        component += c;
    if (component.empty() || component == "." || component == ".." ||
        component.size() > kMaxComponentLength)
      continue;
    if (++depth > kMaxDepth)
      return std::nullopt;
    path += (path.empty() ? "" : "/") + component;
  }
  if (path.empty())
    return std::nullopt;
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string_view> parts = fuzz::splitParts(data, size);
  if (parts[0].size() < kShapeBytes)
    return 0;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(parts[0][i]); };
  int64_t channels = byte(0) % 2 ? 1 : 3;
  int64_t height = byte(1) + 1;
  int64_t width = byte(2) + 1;

  std::string dir = fuzz::freshDirectory("images");
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    size_t newline = part.find('\n');
    if (newline == std::string_view::npos)
      continue;
    std::optional<std::string> path = relativePath(part.substr(0, newline));
    if (!path)
      continue;
    std::filesystem::path file = std::filesystem::path(dir) / *path;
    std::error_code error;
    std::filesystem::create_directories(file.parent_path(), error);
    // A path that runs into an earlier file is skipped, as an archiver would.
    if (error || std::filesystem::is_directory(file, error))
      continue;
    fuzz::writeBytes(file.string(), part.substr(newline + 1));
  }
  Expected<ImageDataset> dataset = readImageFolder(dir, channels, height, width);
  if (dataset)
    fuzz::checkDataset(*dataset);
  else
    fuzz::checkMessage(dataset.status());
  return 0;
}
