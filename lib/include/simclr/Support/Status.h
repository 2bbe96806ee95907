//===- Status.h - Error values for lib/ and the runtime ----------*- C++ -*-===//
//
// Every fallible call in lib/ and runtime/ returns a Status or an Expected<T>;
// no exception crosses a public API. A Status is cheap to test (an OK status
// holds no message) and carries one human-readable line that names what
// failed and where: "FILE: offset 1234: tensor 'conv1.weight': ...".
//
// Ownership: a Status owns its message; Expected<T> owns its value.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_STATUS_H
#define SIMCLR_SUPPORT_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace simclr {

/// What kind of failure a Status reports. Callers branch on the code; the
/// message is for people.
enum class StatusCode {
  kOk = 0,
  /// The caller passed something malformed (bad flag, bad shape, bad spec).
  kInvalidArgument,
  /// A file or tensor that should exist does not.
  kNotFound,
  /// A file exists but its contents are corrupt, truncated or inconsistent.
  kDataLoss,
  /// The operation needs something this machine lacks (a GPU, a driver).
  kUnavailable,
  /// An operating-system call failed (open, write, fsync, rename).
  kIoError,
  /// A broken internal invariant; always a bug in simclrc.
  kInternal,
};

/// Returns the stable lower-case name of a status code ("invalid-argument").
const char *statusCodeName(StatusCode code);

/// The result of a fallible operation that produces no value.
class [[nodiscard]] Status {
public:
  /// An OK status.
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {
    assert(code != StatusCode::kOk && "an error status needs a non-OK code");
  }

  static Status ok() { return Status(); }

  bool isOk() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string &message() const { return message_; }

  /// "error-kind: message", for logs.
  std::string toString() const;

  /// Returns a copy whose message is prefixed with `context + ": "`.
  Status withContext(const std::string &context) const;

private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalidArgument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
inline Status notFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status dataLoss(std::string message) {
  return Status(StatusCode::kDataLoss, std::move(message));
}
inline Status unavailable(std::string message) {
  return Status(StatusCode::kUnavailable, std::move(message));
}
inline Status ioError(std::string message) {
  return Status(StatusCode::kIoError, std::move(message));
}
inline Status internalError(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}

/// A value of type T or the Status explaining why there is none.
template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : value_(std::move(value)) {}
  Expected(Status status) : status_(std::move(status)) {
    assert(!status_.isOk() && "Expected<T> built from an OK status has no value");
  }

  bool hasValue() const { return value_.has_value(); }
  explicit operator bool() const { return hasValue(); }

  const Status &status() const { return status_; }
  /// Moves the error out; only valid when there is no value.
  Status takeStatus() {
    assert(!hasValue() && "takeStatus() on an Expected holding a value");
    return std::move(status_);
  }

  T &operator*() {
    assert(hasValue() && "dereferencing an Expected that holds an error");
    return *value_;
  }
  const T &operator*() const {
    assert(hasValue() && "dereferencing an Expected that holds an error");
    return *value_;
  }
  T *operator->() { return &**this; }
  const T *operator->() const { return &**this; }

private:
  std::optional<T> value_;
  Status status_;
};

} // namespace simclr

/// Returns early from the enclosing function if `expr` yields a non-OK Status.
#define SIMCLR_RETURN_IF_ERROR(expr)                                           \
  do {                                                                         \
    ::simclr::Status simclrStatus_ = (expr);                                   \
    if (!simclrStatus_.isOk())                                                 \
      return simclrStatus_;                                                    \
  } while (false)

#endif // SIMCLR_SUPPORT_STATUS_H
