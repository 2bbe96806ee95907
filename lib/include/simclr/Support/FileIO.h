//===- FileIO.h - Whole-file reads and crash-safe atomic writes -*- C++ -*-===//
//
// Checkpoints and parameters must never be left half-written: a crash or a
// full disk during a write leaves either the old file or the new one, never a
// mixture. writeFileAtomically() gets this from write-to-temporary, fsync,
// rename, fsync-the-directory.
//
// Errors: every function returns a Status or Expected whose one-line message
// starts with the path it was given and ends with the operating system's
// reason (strerror).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_FILEIO_H
#define SIMCLR_SUPPORT_FILEIO_H

#include "simclr/Support/Status.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace simclr {

/// Appends `size` bytes at `data` to the file being written.
using ByteSink = std::function<Status(const void *data, size_t size)>;

/// Produces a file's contents by calling the sink any number of times; a
/// non-OK return aborts the write.
using ContentProducer = std::function<Status(const ByteSink &sink)>;

/// Replaces `path` with the bytes `produce` emits, atomically: the bytes go
/// to `path + ".tmp-<pid>"` in the same directory, which is fsync'ed and
/// renamed over `path`, and then the directory is fsync'ed so the rename
/// itself is durable. On any failure the temporary file is removed and a
/// previous file at `path` is left untouched. Not safe for two threads of one
/// process writing the same path at once (they share the temporary name).
Status writeFileAtomically(const std::string &path,
                           const ContentProducer &produce);

/// Atomically replaces `path` with `size` bytes at `data`; see above.
Status writeFileAtomically(const std::string &path, const void *data,
                           size_t size);

/// Atomically replaces `path` with `bytes`; see above.
Status writeFileAtomically(const std::string &path,
                           const std::vector<uint8_t> &bytes);

/// Reads the whole file at `path`. A missing file is kNotFound; any other
/// failure is kIoError.
Expected<std::vector<uint8_t>> readFile(const std::string &path);

/// An exclusive advisory lock (flock(2)) on a lock file, held while the
/// object lives. The kernel releases it when the process ends in any way,
/// SIGKILL included, so a stale lock file never blocks a later run. The
/// file holds the owner's pid, for the refusal message.
class FileLock {
public:
  /// Takes the lock on `path` (creating the file) if no other process
  /// holds it; kUnavailable "PATH: locked by process PID" otherwise.
  static Expected<FileLock> tryAcquire(const std::string &path);
  /// Takes the lock on `path`, waiting for another holder to release it.
  static Expected<FileLock> acquire(const std::string &path);

  FileLock(FileLock &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock &operator=(FileLock &&other) noexcept;
  FileLock(const FileLock &) = delete;
  FileLock &operator=(const FileLock &) = delete;
  ~FileLock();

private:
  explicit FileLock(int fd) : fd_(fd) {}
  static Expected<FileLock> lock(const std::string &path, bool wait);
  int fd_;
};

/// Creates a fresh, uniquely named directory `<parent>/<prefix>XXXXXX` (see
/// mkdtemp(3)) and returns its path. The caller owns and removes it.
Expected<std::string> makeTempDirectory(const std::string &parent,
                                        const std::string &prefix);

} // namespace simclr

#endif // SIMCLR_SUPPORT_FILEIO_H
