//===- MemoryLimit.h - Refusing a run that cannot fit in memory --*- C++ -*-===//
//
// The plan knows, before anything is allocated, how many bytes a run needs:
// the state block, the input block, the largest program's arena (one
// arena serves every program) and the dataset held in memory. simclr-train
// and simclr-eval compare that with the memory this process may use and
// refuse at start, naming the sizes, instead of failing part-way or being
// killed by the kernel's OOM killer hours in (issue 14).
//
// What "may use" means (--max-memory):
//   auto (default)  MemAvailable of /proc/meminfo, lowered to the cgroup's
//                   remaining room (memory.max - memory.current, cgroup v2;
//                   limit_in_bytes - usage_in_bytes, v1) where one is set;
//   none            no check;
//   BYTES           that many bytes: an integer with an optional K, M, G or
//                   T suffix (powers of 1024).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_MEMORYLIMIT_H
#define SIMCLR_RUNTIME_MEMORYLIMIT_H

#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/Status.h"

#include <cstdint>
#include <optional>
#include <string>

namespace simclr::runtime {

/// The flag's name, shared by the tools.
inline constexpr const char *kMaxMemoryFlag = "--max-memory";

/// A parsed --max-memory value.
struct MemoryLimit {
  enum class Kind { kAuto, kNone, kBytes };
  Kind kind = Kind::kAuto;
  /// For kBytes.
  int64_t bytes = 0;
};

/// Parses "auto", "none" or BYTES[K|M|G|T]; kInvalidArgument naming the
/// flag and the text otherwise (an overflowing size included).
Expected<MemoryLimit> parseMemoryLimit(const std::string &text);

/// Bytes of memory the run of `plan` allocates up front.
struct PlanMemory {
  int64_t state = 0;
  int64_t inputs = 0;
  /// The largest program's arena.
  int64_t arena = 0;
  /// The dataset's bytes (0 where the tool reads none).
  int64_t dataset = 0;
  /// Their sum; nothing when it overflows (a corrupt plan would).
  std::optional<int64_t> total() const;
};

PlanMemory planMemory(const artifact::Plan &plan, int64_t datasetBytes);

/// MemAvailable from `meminfoText` (the text of /proc/meminfo), in bytes.
std::optional<int64_t> memAvailableFromMeminfo(const std::string &meminfoText);

/// The memory this process may use now and where that figure comes from
/// ("MemAvailable in /proc/meminfo", "the cgroup limit in
/// /sys/fs/cgroup/memory.max"); nothing when neither can be read.
struct AvailableMemory {
  int64_t bytes = 0;
  std::string source;
};
std::optional<AvailableMemory> availableMemory();

/// Refuses (kUnavailable) a run whose plan needs more than `limit` allows:
/// "ARTIFACT needs N bytes (X GiB: state S + inputs I + arena A + dataset
/// D) but M bytes (Y GiB) are available (SOURCE); pass --max-memory none to
/// run anyway, or --max-memory BYTES". With kAuto and nothing readable,
/// nothing is checked.
Status checkMemory(const std::string &artifactDir, const PlanMemory &needed,
                   const MemoryLimit &limit);

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_MEMORYLIMIT_H
