//===- FuzzInput.h - Turning a fuzzer's bytes into files for a reader -*- C++ -*-===//
//
// Most readers take a path (a file or a directory), so a fuzz input is
// written into a scratch directory that lives as long as the fuzzer process.
// Inputs that stand for several files are split at kPartSeparator, a token
// that fuzz/dicts/*.dict also list so that mutations can add and remove
// parts.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_FUZZ_FUZZINPUT_H
#define SIMCLR_FUZZ_FUZZINPUT_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace simclr::fuzz {

/// Separates the files of one multi-file fuzz input.
inline constexpr std::string_view kPartSeparator = "--8<--";

/// A directory created once per process under $TMPDIR (else /tmp) and
/// removed at exit. A failure to create it ends the process: every input
/// would be useless.
inline const std::string &scratchDirectory() {
  static const std::string dir = [] {
    const char *tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/simclr-fuzz-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (!mkdtemp(name.data())) {
      std::perror("simclr fuzzer: cannot create its scratch directory");
      std::abort();
    }
    std::string created(name.data());
    static std::string removeAtExit;
    removeAtExit = created;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(removeAtExit, ignored);
    });
    return created;
  }();
  return dir;
}

/// Writes `bytes` to `path` (replacing it); aborts on failure, which would
/// otherwise look like a reader's "cannot open" on every input.
inline void writeBytes(const std::string &path, std::string_view bytes) {
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file || std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() ||
      std::fclose(file) != 0) {
    std::perror(("simclr fuzzer: cannot write " + path).c_str());
    std::abort();
  }
}

/// An empty directory `name` inside the scratch directory, cleared of what
/// the previous input left there.
inline std::string freshDirectory(const std::string &name) {
  std::string dir = scratchDirectory() + "/" + name;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  std::filesystem::create_directories(dir);
  return dir;
}

/// The input split at every kPartSeparator (one part when there is none).
inline std::vector<std::string_view> splitParts(const uint8_t *data,
                                                size_t size) {
  std::string_view rest(reinterpret_cast<const char *>(data), size);
  std::vector<std::string_view> parts;
  for (size_t at; (at = rest.find(kPartSeparator)) != std::string_view::npos;) {
    parts.push_back(rest.substr(0, at));
    rest.remove_prefix(at + kPartSeparator.size());
  }
  parts.push_back(rest);
  return parts;
}

} // namespace simclr::fuzz

#endif // SIMCLR_FUZZ_FUZZINPUT_H
