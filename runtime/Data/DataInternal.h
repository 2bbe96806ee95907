//===- DataInternal.h - Helpers shared by the dataset readers --*- C++ -*-===//
//
// Private to runtime/Data: file reading with transparent gzip, error-location
// formatting, and the PNG/JPEG decoders behind readImageFolder().
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_DATA_DATAINTERNAL_H
#define SIMCLR_RUNTIME_DATA_DATAINTERNAL_H

#include "simclr/Support/Status.h"

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace simclr {
namespace data {

/// A file's contents, gunzipped when the file starts with the gzip magic.
struct FileBytes {
  std::string path;
  /// The decompressed contents (the raw contents for an uncompressed file).
  std::vector<uint8_t> bytes;
  bool gzipped = false;
  /// The gzip stream ended without its end marker and checksum; `bytes`
  /// holds everything that did decompress.
  bool streamTruncated = false;
  /// Size of the file on disk.
  size_t fileSize = 0;

  /// "byte N", plus " of the decompressed data" for a gzipped file, so that
  /// an offset in a message cannot be mistaken for a file offset.
  std::string at(size_t offset) const;

  /// Fails for a truncated gzip stream. Called after the contents parsed
  /// completely: a stream cut in its trailer can still yield every byte.
  Status checkStreamComplete() const;
};

/// Reads `path` whole. A missing file is kNotFound ("PATH: cannot open:
/// No such file or directory"); any other failure is kIoError.
Expected<std::vector<uint8_t>> readRawFile(const std::string &path);

/// Reads `path` whole and gunzips it if it starts with 1f 8b. Concatenated
/// gzip members are joined, as gzip(1) does; anything else after the last
/// member is an error. A corrupt stream is kDataLoss with zlib's message; a
/// truncated one is reported only through FileBytes::streamTruncated so
/// that the caller can name the decompressed offset it needed.
Expected<FileBytes> readMaybeGzipFile(const std::string &path);

/// `dir` + "/" + `name`, without doubling a trailing slash.
std::string joinPath(const std::string &dir, const std::string &name);

/// Runs `read` and turns std::bad_alloc into an error Status, so that a
/// corrupt header claiming billions of images, or a gzip bomb, cannot throw
/// across the public API. `what` names the file or directory.
template <typename Fn>
auto catchOutOfMemory(const std::string &what, Fn &&read) -> decltype(read()) {
  try {
    return read();
  } catch (const std::bad_alloc &) {
    return ioError(what + ": out of memory");
  }
}

/// Channel counts of the two pixel formats images are decoded to.
constexpr int64_t kGrayChannels = 1;
constexpr int64_t kRgbChannels = 3;

/// An image decoded to 8-bit samples, interleaved (HWC), with 1 (gray) or
/// 3 (RGB) channels: whatever is native to the file.
struct DecodedImage {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  std::vector<uint8_t> pixels;
};

/// Decodes the PNG file `bytes` read from `path`. Fails, before allocating
/// the pixels, unless the image is `height` x `width`.
Expected<DecodedImage> decodePng(const std::string &path,
                                 const std::vector<uint8_t> &bytes,
                                 int64_t height, int64_t width);

/// Decodes the JPEG file `bytes` read from `path`; as decodePng(). libjpeg
/// warnings (data it repaired, such as a truncated scan) are errors.
Expected<DecodedImage> decodeJpeg(const std::string &path,
                                  const std::vector<uint8_t> &bytes,
                                  int64_t height, int64_t width);

/// "HxW", the order in which every message in runtime/Data states sizes.
std::string formatSize(int64_t height, int64_t width);

} // namespace data
} // namespace simclr

#endif // SIMCLR_RUNTIME_DATA_DATAINTERNAL_H
