//===- FileIO.cpp - Whole-file reads and crash-safe atomic writes ---------===//
#include "simclr/Support/FileIO.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace simclr {
namespace {

/// Permissions requested for new files; the process umask narrows them, so
/// files come out as fopen() would create them.
constexpr mode_t kNewFileMode = 0666;

/// Bytes read per call once a file has outgrown the size fstat() reported
/// (files that grow while read, or report size 0 like /proc entries).
constexpr size_t kReadChunkBytes = 64 * 1024;

/// Formats "<path>: <what>: <strerror(err)>" as an I/O error.
Status osError(const std::string &path, const std::string &what, int err) {
  return ioError(path + ": " + what + ": " + std::strerror(err));
}

/// Owns a file descriptor and closes it on scope exit unless close() was
/// called explicitly (which reports the error a deferred close would hide).
class ScopedFd {
public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd &) = delete;
  ScopedFd &operator=(const ScopedFd &) = delete;
  ~ScopedFd() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  int get() const { return fd_; }

  /// Closes the descriptor; returns 0 or the errno of a failed close.
  int close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }

private:
  int fd_;
};

/// Writes all `size` bytes, retrying short writes and EINTR; returns 0 or an
/// errno value.
int writeAll(int fd, const void *data, size_t size) {
  const auto *bytes = static_cast<const uint8_t *>(data);
  while (size > 0) {
    ssize_t written = ::write(fd, bytes, size);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    // write() returning 0 for a non-empty request makes no progress; treat
    // it as an I/O error instead of spinning.
    if (written == 0)
      return EIO;
    bytes += written;
    size -= static_cast<size_t>(written);
  }
  return 0;
}

/// Reads up to `size` bytes, retrying EINTR; returns the count or -1 with
/// errno set.
ssize_t readSome(int fd, void *data, size_t size) {
  while (true) {
    ssize_t got = ::read(fd, data, size);
    if (got >= 0 || errno != EINTR)
      return got;
  }
}

/// Streams `produce` into the open temporary file, then fsyncs and closes it.
Status writeAndSync(ScopedFd &fd, const std::string &path,
                    const std::string &tmpPath,
                    const ContentProducer &produce) {
  ByteSink sink = [&](const void *data, size_t size) -> Status {
    if (int err = writeAll(fd.get(), data, size))
      return osError(path, "cannot write temporary file '" + tmpPath + "'",
                     err);
    return Status::ok();
  };
  SIMCLR_RETURN_IF_ERROR(produce(sink));
  if (::fsync(fd.get()) != 0)
    return osError(path, "cannot fsync temporary file '" + tmpPath + "'",
                   errno);
  if (int err = fd.close())
    return osError(path, "cannot close temporary file '" + tmpPath + "'", err);
  return Status::ok();
}

/// Makes a completed rename durable by fsyncing the directory holding `path`.
Status syncParentDirectory(const std::string &path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty())
    dir = ".";
  ScopedFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0)
    return osError(path, "cannot open directory '" + dir + "' to fsync it",
                   errno);
  // Some filesystems cannot fsync a directory and say EINVAL; the rename has
  // happened and there is nothing further we could do, so that is not an
  // error.
  if (::fsync(fd.get()) != 0 && errno != EINVAL)
    return osError(path, "cannot fsync directory '" + dir + "'", errno);
  return Status::ok();
}

} // namespace

Status writeFileAtomically(const std::string &path,
                           const ContentProducer &produce) {
  // Same directory as the target, so rename() never crosses a filesystem.
  std::string tmpPath = path + ".tmp-" + std::to_string(::getpid());
  ScopedFd fd(::open(tmpPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                     kNewFileMode));
  if (fd.get() < 0)
    return osError(path, "cannot create temporary file '" + tmpPath + "'",
                   errno);

  Status status = writeAndSync(fd, path, tmpPath, produce);
  if (status.isOk() && ::rename(tmpPath.c_str(), path.c_str()) != 0)
    status = osError(path, "cannot rename '" + tmpPath + "' over it", errno);
  if (!status.isOk()) {
    ::unlink(tmpPath.c_str());
    return status;
  }
  return syncParentDirectory(path);
}

Status writeFileAtomically(const std::string &path, const void *data,
                           size_t size) {
  return writeFileAtomically(
      path, [&](const ByteSink &sink) { return sink(data, size); });
}

Status writeFileAtomically(const std::string &path,
                           const std::vector<uint8_t> &bytes) {
  return writeFileAtomically(path, bytes.data(), bytes.size());
}

Expected<std::vector<uint8_t>> readFile(const std::string &path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ENOENT)
      return notFound(path + ": cannot open: " + std::strerror(err));
    return osError(path, "cannot open", err);
  }
  struct stat info;
  if (::fstat(fd.get(), &info) != 0)
    return osError(path, "cannot stat", errno);
  if (S_ISDIR(info.st_mode))
    return osError(path, "cannot read", EISDIR);

  // Read straight into a buffer of the reported size so a multi-gigabyte
  // checkpoint is never reallocated; past that size read in chunks until
  // EOF, in case the reported size was wrong.
  std::vector<uint8_t> bytes(static_cast<size_t>(info.st_size));
  size_t used = 0;
  uint8_t chunk[kReadChunkBytes];
  while (true) {
    bool intoBuffer = used < bytes.size();
    uint8_t *dst = intoBuffer ? bytes.data() + used : chunk;
    size_t room = intoBuffer ? bytes.size() - used : sizeof(chunk);
    ssize_t got = readSome(fd.get(), dst, room);
    if (got < 0)
      return osError(path, "cannot read", errno);
    if (got == 0)
      break;
    if (!intoBuffer)
      bytes.insert(bytes.end(), chunk, chunk + got);
    used += static_cast<size_t>(got);
  }
  bytes.resize(used);
  return bytes;
}

Expected<std::string> makeTempDirectory(const std::string &parent,
                                        const std::string &prefix) {
  std::string pattern = parent + "/" + prefix + "XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr)
    return osError(pattern, "cannot create temporary directory", errno);
  return std::string(buffer.data());
}

Expected<FileLock> FileLock::lock(const std::string &path, bool wait) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kNewFileMode);
  if (fd < 0)
    return osError(path, "cannot open the lock file", errno);
  FileLock held(fd);
  int result;
  do
    result = ::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  while (result != 0 && errno == EINTR);
  if (result != 0) {
    if (errno != EWOULDBLOCK)
      return osError(path, "cannot lock", errno);
    char owner[32] = {};
    ssize_t n = ::pread(fd, owner, sizeof(owner) - 1, 0);
    std::string pid = n > 0 ? std::string(owner, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
      pid.pop_back();
    return unavailable(path + ": locked by process " + (pid.empty() ? "?" : pid));
  }
  // Ours now: record the pid for whoever is refused next.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0)
    return osError(path, "cannot write the lock file", errno);
  return held;
}

Expected<FileLock> FileLock::tryAcquire(const std::string &path) {
  return lock(path, /*wait=*/false);
}

Expected<FileLock> FileLock::acquire(const std::string &path) {
  return lock(path, /*wait=*/true);
}

FileLock &FileLock::operator=(FileLock &&other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0)
    ::close(fd_);
}

} // namespace simclr
