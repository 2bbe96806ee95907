//===- Dataset.cpp - File reading, gzip and subsets for dataset readers ---===//
#include "simclr/Runtime/Dataset.h"
#include "DataInternal.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

namespace simclr {
namespace data {
namespace {

/// The first two bytes of every gzip member (RFC 1952, section 2.3.1).
constexpr uint8_t kGzipMagic0 = 0x1f;
constexpr uint8_t kGzipMagic1 = 0x8b;
/// windowBits for inflateInit2: the largest window, plus 16 to accept only a
/// gzip wrapper (zlib.h).
constexpr int kGzipWindowBits = MAX_WBITS + 16;
/// The gzip trailer ends in ISIZE, the uncompressed size modulo 2^32
/// (RFC 1952, section 2.3.1).
constexpr size_t kGzipSizeFieldBytes = 4;
/// Deflate cannot expand data more than 1032:1 (zlib technical details,
/// "Maximum compression factor"), so a larger ISIZE is not a useful hint.
constexpr size_t kMaxDeflateRatio = 1032;
/// Read buffer for files whose size fstat cannot tell (pipes).
constexpr size_t kMinReadBuffer = 64 * 1024;

bool startsWithGzipMagic(const uint8_t *data, size_t size) {
  return size >= 2 && data[0] == kGzipMagic0 && data[1] == kGzipMagic1;
}

/// Closes a file descriptor on scope exit.
class FdCloser {
public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser &) = delete;
  FdCloser &operator=(const FdCloser &) = delete;

private:
  int fd_;
};

/// Ends an inflate stream on scope exit.
class InflateEnder {
public:
  explicit InflateEnder(z_stream *stream) : stream_(stream) {}
  ~InflateEnder() { inflateEnd(stream_); }
  InflateEnder(const InflateEnder &) = delete;
  InflateEnder &operator=(const InflateEnder &) = delete;

private:
  z_stream *stream_;
};

/// The output size to allocate first: the last member's ISIZE when it is
/// plausible, so that the common single-member file decompresses into one
/// exact allocation.
size_t initialInflateCapacity(const std::vector<uint8_t> &compressed) {
  size_t fallback = std::max(compressed.size() * 2, kMinReadBuffer);
  if (compressed.size() < kGzipSizeFieldBytes)
    return fallback;
  const uint8_t *field =
      compressed.data() + compressed.size() - kGzipSizeFieldBytes;
  size_t hint = 0;
  for (size_t i = kGzipSizeFieldBytes; i-- > 0;)
    hint = (hint << 8) | field[i];
  if (hint == 0 || hint > compressed.size() * kMaxDeflateRatio)
    return fallback;
  return hint;
}

/// Gunzips `compressed` into `file.bytes`; see readMaybeGzipFile().
Status inflateGzip(const std::vector<uint8_t> &compressed, FileBytes &file) {
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  if (inflateInit2(&stream, kGzipWindowBits) != Z_OK)
    return ioError(file.path + ": cannot initialize zlib: " +
                   (stream.msg ? stream.msg : "out of memory"));
  InflateEnder ender(&stream);

  std::vector<uint8_t> &out = file.bytes;
  out.resize(initialInflateCapacity(compressed));
  size_t inPos = 0;
  size_t outPos = 0;
  // zlib counts in uInt, so buffers over 4 GiB are fed in slices.
  constexpr size_t kMaxSlice = std::numeric_limits<uInt>::max();
  for (;;) {
    stream.next_in = const_cast<Bytef *>(compressed.data() + inPos);
    stream.avail_in =
        static_cast<uInt>(std::min(compressed.size() - inPos, kMaxSlice));
    stream.next_out = out.data() + outPos;
    stream.avail_out =
        static_cast<uInt>(std::min(out.size() - outPos, kMaxSlice));
    uInt inBefore = stream.avail_in;
    uInt outBefore = stream.avail_out;
    int rc = inflate(&stream, Z_NO_FLUSH);
    inPos += inBefore - stream.avail_in;
    outPos += outBefore - stream.avail_out;

    if (rc == Z_STREAM_END) {
      if (inPos == compressed.size())
        break;
      if (!startsWithGzipMagic(compressed.data() + inPos,
                               compressed.size() - inPos))
        return dataLoss(file.path +
                        ": unexpected data after the gzip stream "
                        "at byte " +
                        std::to_string(inPos));
      inflateReset(&stream);
      continue;
    }
    if (rc == Z_OK)
      continue;
    if (rc == Z_BUF_ERROR) {
      // No progress was possible: either the output is full or the input
      // ran out before the end of the stream.
      if (outPos == out.size()) {
        out.resize(out.size() * 2);
        continue;
      }
      file.streamTruncated = true;
      break;
    }
    if (rc == Z_MEM_ERROR)
      return ioError(file.path + ": out of memory while decompressing");
    return dataLoss(file.path + ": corrupt gzip stream near byte " +
                    std::to_string(inPos) + ": " +
                    (stream.msg ? stream.msg : "unknown zlib error"));
  }
  out.resize(outPos);
  out.shrink_to_fit();
  return Status::ok();
}

} // namespace

std::string FileBytes::at(size_t offset) const {
  std::string where = "byte " + std::to_string(offset);
  if (gzipped)
    where += " of the decompressed data";
  return where;
}

Status FileBytes::checkStreamComplete() const {
  if (!streamTruncated)
    return Status::ok();
  return dataLoss(path + ": gzip stream truncated at byte " +
                  std::to_string(fileSize) + " (end of file) after " +
                  std::to_string(bytes.size()) + " decompressed bytes");
}

Expected<std::vector<uint8_t>> readRawFile(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    std::string message = path + ": cannot open: " + std::strerror(error);
    if (error == ENOENT)
      return notFound(message);
    return ioError(message);
  }
  FdCloser closer(fd);
  struct stat info;
  if (::fstat(fd, &info) != 0)
    return ioError(path + ": cannot stat: " + std::strerror(errno));
  if (S_ISDIR(info.st_mode))
    return ioError(path + ": cannot read: " + std::strerror(EISDIR));

  // One byte beyond the reported size lets the common case see end-of-file
  // without growing; a file that grows while read still reads whole.
  std::vector<uint8_t> bytes(
      std::max(static_cast<size_t>(info.st_size) + 1, kMinReadBuffer));
  size_t size = 0;
  for (;;) {
    if (size == bytes.size())
      bytes.resize(bytes.size() * 2);
    ssize_t got = ::read(fd, bytes.data() + size, bytes.size() - size);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return ioError(path + ": cannot read at byte " + std::to_string(size) +
                     ": " + std::strerror(errno));
    }
    if (got == 0)
      break;
    size += static_cast<size_t>(got);
  }
  bytes.resize(size);
  return bytes;
}

Expected<FileBytes> readMaybeGzipFile(const std::string &path) {
  Expected<std::vector<uint8_t>> raw = readRawFile(path);
  if (!raw)
    return raw.takeStatus();
  FileBytes file;
  file.path = path;
  file.fileSize = raw->size();
  if (!startsWithGzipMagic(raw->data(), raw->size())) {
    file.bytes = std::move(*raw);
    return file;
  }
  file.gzipped = true;
  SIMCLR_RETURN_IF_ERROR(inflateGzip(*raw, file));
  return file;
}

std::string joinPath(const std::string &dir, const std::string &name) {
  if (dir.empty() || dir.back() == '/')
    return dir + name;
  return dir + "/" + name;
}

std::string formatSize(int64_t height, int64_t width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

} // namespace data

Expected<ImageDataset> subset(const ImageDataset &dataset, int64_t begin,
                              int64_t count) {
  if (begin < 0 || count < 0 || begin > dataset.count ||
      count > dataset.count - begin)
    return invalidArgument("subset [" + std::to_string(begin) + ", " +
                           std::to_string(begin) + " + " +
                           std::to_string(count) + ") is outside the " +
                           std::to_string(dataset.count) + " images");
  return data::catchOutOfMemory("subset", [&]() -> Expected<ImageDataset> {
    ImageDataset result;
    result.count = count;
    result.channels = dataset.channels;
    result.height = dataset.height;
    result.width = dataset.width;
    const uint8_t *first = dataset.image(begin);
    result.pixels.assign(first, first + count * dataset.imageBytes());
    if (!dataset.labels.empty())
      result.labels.assign(dataset.labels.begin() + begin,
                           dataset.labels.begin() + begin + count);
    result.classNames = dataset.classNames;
    return result;
  });
}

} // namespace simclr
