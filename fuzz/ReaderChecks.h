//===- ReaderChecks.h - What every reader's result must satisfy -*- C++ -*-===//
//
// A reader that accepts an input must return a consistent dataset: the
// sanitizers catch bad reads and writes, these checks catch a reader that
// returns sizes its buffers do not have, or fails without saying why.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_FUZZ_READERCHECKS_H
#define SIMCLR_FUZZ_READERCHECKS_H

#include "simclr/Runtime/Dataset.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace simclr::fuzz {

/// Aborts (a finding for libFuzzer) unless `dataset` is consistent.
inline void checkDataset(const ImageDataset &dataset) {
  bool consistent =
      dataset.count >= 0 && dataset.channels > 0 && dataset.height > 0 &&
      dataset.width > 0 &&
      static_cast<int64_t>(dataset.pixels.size()) ==
          dataset.count * dataset.imageBytes() &&
      (dataset.labels.empty() ||
       static_cast<int64_t>(dataset.labels.size()) == dataset.count);
  if (!consistent) {
    std::fprintf(stderr,
                 "inconsistent dataset: count %lld, %lldx%lldx%lld, %zu pixel "
                 "bytes, %zu labels\n",
                 (long long)dataset.count, (long long)dataset.channels,
                 (long long)dataset.height, (long long)dataset.width,
                 dataset.pixels.size(), dataset.labels.size());
    std::abort();
  }
}

/// Aborts unless a failed read left a message of one line: every error
/// must say what went wrong, and a tool prints it as one line.
inline void checkMessage(const Status &status) {
  const std::string &message = status.message();
  if (message.empty() || message.find('\n') != std::string::npos) {
    std::fprintf(stderr, "a reader failed without a one-line message: '%s'\n",
                 message.c_str());
    std::abort();
  }
}

} // namespace simclr::fuzz

#endif // SIMCLR_FUZZ_READERCHECKS_H
