//===- Status.cpp - Error values for lib/ and the runtime -----------------===//
#include "simclr/Support/Status.h"

namespace simclr {

const char *statusCodeName(StatusCode code) {
  switch (code) {
  case StatusCode::kOk:
    return "ok";
  case StatusCode::kInvalidArgument:
    return "invalid-argument";
  case StatusCode::kNotFound:
    return "not-found";
  case StatusCode::kDataLoss:
    return "data-loss";
  case StatusCode::kUnavailable:
    return "unavailable";
  case StatusCode::kIoError:
    return "io-error";
  case StatusCode::kInternal:
    return "internal";
  }
  return "unknown";
}

std::string Status::toString() const {
  if (isOk())
    return "ok";
  return std::string(statusCodeName(code_)) + ": " + message_;
}

Status Status::withContext(const std::string &context) const {
  if (isOk())
    return *this;
  return Status(code_, context + ": " + message_);
}

} // namespace simclr
