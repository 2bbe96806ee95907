//===- DataTestUtil.h - Temporary files for the DataTests ------*- C++ -*-===//
#ifndef SIMCLR_TEST_UNIT_RUNTIME_DATATESTUTIL_H
#define SIMCLR_TEST_UNIT_RUNTIME_DATATESTUTIL_H

#include <zlib.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace simclr {
namespace testing {

/// A fresh directory under $SIMCLR_TEST_TMPDIR (set by ctest) or /tmp,
/// removed with everything in it on destruction.
class TempDir {
public:
  TempDir() {
    const char *parent = std::getenv("SIMCLR_TEST_TMPDIR");
    std::string base = parent && *parent ? parent : "/tmp";
    std::error_code ignored;
    std::filesystem::create_directories(base, ignored);
    std::string pattern = base + "/simclr-data-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()))
      path_ = buffer.data();
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  /// Empty if mkdtemp failed; tests ASSERT on it.
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// Writes `bytes` to `path`, creating parent directories; false on failure.
inline bool writeBytes(const std::string &path,
                       const std::vector<uint8_t> &bytes) {
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(),
                                      ignored);
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    return false;
  // fwrite must not see the null data() of an empty vector.
  bool ok = bytes.empty() ||
            std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  return std::fclose(file) == 0 && ok;
}

inline std::vector<uint8_t> readBytes(const std::string &path) {
  std::vector<uint8_t> bytes;
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return bytes;
  int c;
  while ((c = std::fgetc(file)) != EOF)
    bytes.push_back(static_cast<uint8_t>(c));
  std::fclose(file);
  return bytes;
}

/// One gzip member holding `bytes`, made with zlib's deflate.
inline std::vector<uint8_t> gzipBytes(const std::vector<uint8_t> &bytes) {
  constexpr int kGzipWindowBits = MAX_WBITS + 16;
  constexpr int kMemLevel = 8; // zlib's default
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED,
                         kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::vector<uint8_t> out(deflateBound(&stream, bytes.size()));
  stream.next_in = const_cast<Bytef *>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

inline void appendBigEndian32(std::vector<uint8_t> &bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<uint8_t>(value >> shift));
}

/// A deterministic, position-dependent byte so that misplaced pixels show.
inline uint8_t patternByte(size_t index) {
  return static_cast<uint8_t>(index * 37 + (index >> 8) * 11 + 5);
}

} // namespace testing
} // namespace simclr

#endif // SIMCLR_TEST_UNIT_RUNTIME_DATATESTUTIL_H
