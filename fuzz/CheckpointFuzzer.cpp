//===- CheckpointFuzzer.cpp - Fuzzes reading a run's checkpoint metadata -===//
//
// Input: parts (split at kPartSeparator) are checkpoint files
// RUN/checkpoints/step-0000000N.safetensors for N = 1, 2, ...; then
// findLatestCheckpoint scans RUN as `simclr-train --resume` does, and
// readCheckpointInfoIfPresent reads the first as `simclr-eval` does.
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "ReaderChecks.h"

#include "simclr/Runtime/Checkpoint.h"

using namespace simclr;

namespace {
/// A scan of more files only repeats the same reads.
constexpr size_t kMaxCheckpoints = 3;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string_view> parts = fuzz::splitParts(data, size);
  std::string runDir = fuzz::freshDirectory("run");
  fuzz::freshDirectory("run/checkpoints");
  for (size_t i = 0; i < parts.size() && i < kMaxCheckpoints; ++i)
    fuzz::writeBytes(checkpointPath(runDir, static_cast<int64_t>(i) + 1), parts[i]);

  Expected<std::optional<CheckpointInfo>> first =
      readCheckpointInfoIfPresent(checkpointPath(runDir, 1));
  if (!first)
    fuzz::checkMessage(first.status());

  Expected<CheckpointScan> scan = findLatestCheckpoint(runDir);
  if (!scan) {
    fuzz::checkMessage(scan.status());
    return 0;
  }
  for (const std::string &warning : scan->warnings)
    if (warning.empty() || warning.find('\n') != std::string::npos) {
      std::fprintf(stderr, "checkpoint: warning not one line: '%s'\n",
                   warning.c_str());
      std::abort();
    }
  if (scan->latest && (scan->latest->step < 1 ||
                       scan->latest->step > static_cast<int64_t>(parts.size()))) {
    std::fprintf(stderr, "checkpoint: latest step %lld of %zu files\n",
                 (long long)scan->latest->step, parts.size());
    std::abort();
  }
  return 0;
}
