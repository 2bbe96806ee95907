//===- MemoryLimit.cpp - Refusing a run that cannot fit in memory ---------===//
#include "simclr/Runtime/MemoryLimit.h"
#include "simclr/Support/CheckedMath.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace simclr::runtime {
namespace {

/// Bytes per unit of the --max-memory suffixes K, M, G, T.
constexpr int64_t kKibi = 1024;
/// /proc/meminfo states sizes in kB, which are KiB.
constexpr int64_t kMeminfoUnit = kKibi;
/// cgroup v2 writes "max" for no limit; v1 a huge number (page-rounded
/// INT64_MAX) that no machine has.
constexpr int64_t kCgroupV1NoLimit = int64_t{1} << 60;

std::optional<int64_t> parseInteger(const std::string &text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

std::optional<std::string> readSmallFile(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<int64_t> readNumberFile(const std::string &path) {
  std::optional<std::string> text = readSmallFile(path);
  if (!text)
    return std::nullopt;
  while (!text->empty() && std::isspace(static_cast<unsigned char>(text->back())))
    text->pop_back();
  return parseInteger(*text);
}

std::string gibibytes(int64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.2f GiB",
                static_cast<double>(bytes) / (kKibi * kKibi * kKibi));
  return buffer;
}

} // namespace

Expected<MemoryLimit> parseMemoryLimit(const std::string &text) {
  if (text == "auto")
    return MemoryLimit{};
  if (text == "none")
    return MemoryLimit{MemoryLimit::Kind::kNone, 0};
  std::string digits = text;
  int64_t unit = 1;
  if (!digits.empty()) {
    std::string suffixes = "KMGT";
    size_t at = suffixes.find(static_cast<char>(std::toupper(digits.back())));
    if (at != std::string::npos) {
      digits.pop_back();
      for (size_t i = 0; i <= at; ++i)
        unit *= kKibi;
    }
  }
  std::optional<int64_t> value = parseInteger(digits);
  std::optional<int64_t> bytes = value ? checkedMul(*value, unit) : std::nullopt;
  if (!bytes || *bytes <= 0)
    return invalidArgument(std::string(kMaxMemoryFlag) + " '" + text +
                           "': expected auto, none, or a positive number of bytes "
                           "with an optional K, M, G or T suffix that fits in 64 bits");
  return MemoryLimit{MemoryLimit::Kind::kBytes, *bytes};
}

std::optional<int64_t> PlanMemory::total() const {
  std::optional<int64_t> sum = checkedAdd(state, inputs);
  sum = sum ? checkedAdd(*sum, arena) : std::nullopt;
  return sum ? checkedAdd(*sum, dataset) : std::nullopt;
}

PlanMemory planMemory(const artifact::Plan &plan, int64_t datasetBytes) {
  PlanMemory memory;
  memory.state = plan.stateBytes;
  memory.inputs = plan.inputBytes;
  for (const artifact::Program &p : plan.programs)
    memory.arena = std::max(memory.arena, p.arenaBytes);
  memory.dataset = datasetBytes;
  return memory;
}

std::optional<int64_t> memAvailableFromMeminfo(const std::string &meminfoText) {
  std::istringstream lines(meminfoText);
  std::string line;
  const std::string key = "MemAvailable:";
  while (std::getline(lines, line)) {
    if (line.compare(0, key.size(), key) != 0)
      continue;
    std::istringstream fields(line.substr(key.size()));
    int64_t kilobytes = -1;
    std::string unit;
    fields >> kilobytes >> unit;
    if (kilobytes < 0 || unit != "kB")
      return std::nullopt;
    return checkedMul(kilobytes, kMeminfoUnit);
  }
  return std::nullopt;
}

std::optional<AvailableMemory> availableMemory() {
  std::optional<AvailableMemory> best;
  if (std::optional<std::string> meminfo = readSmallFile("/proc/meminfo"))
    if (std::optional<int64_t> bytes = memAvailableFromMeminfo(*meminfo))
      best = AvailableMemory{*bytes, "MemAvailable in /proc/meminfo"};
  // The room left under this machine's (container's) cgroup limit.
  struct CgroupFiles {
    const char *limit;
    const char *usage;
  };
  for (CgroupFiles files : {CgroupFiles{"/sys/fs/cgroup/memory.max",
                                        "/sys/fs/cgroup/memory.current"},
                            CgroupFiles{"/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                        "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    std::optional<int64_t> limit = readNumberFile(files.limit);
    std::optional<int64_t> usage = readNumberFile(files.usage);
    if (!limit || !usage || *limit >= kCgroupV1NoLimit)
      continue;
    int64_t room = std::max<int64_t>(0, *limit - *usage);
    if (!best || room < best->bytes)
      best = AvailableMemory{room, std::string("the cgroup limit in ") + files.limit};
    break;
  }
  return best;
}

Status checkMemory(const std::string &artifactDir, const PlanMemory &needed,
                   const MemoryLimit &limit) {
  if (limit.kind == MemoryLimit::Kind::kNone)
    return Status::ok();
  AvailableMemory available{limit.bytes, std::string(kMaxMemoryFlag)};
  if (limit.kind == MemoryLimit::Kind::kAuto) {
    std::optional<AvailableMemory> measured = availableMemory();
    if (!measured)
      return Status::ok();
    available = *measured;
  }
  std::optional<int64_t> total = needed.total();
  if (total && *total <= available.bytes)
    return Status::ok();
  std::string parts = "state " + std::to_string(needed.state) + " + inputs " +
                      std::to_string(needed.inputs) + " + arena " +
                      std::to_string(needed.arena) + " + dataset " +
                      std::to_string(needed.dataset);
  return unavailable(artifactDir + ": the run needs " +
                     (total ? std::to_string(*total) + " bytes (" + gibibytes(*total) + ": "
                            : std::string("more than 2^63 bytes (")) +
                     parts + ") but " + std::to_string(available.bytes) + " bytes (" +
                     gibibytes(available.bytes) + ") are available (" + available.source +
                     "); pass " + kMaxMemoryFlag + " none to run anyway, or " +
                     kMaxMemoryFlag + " BYTES");
}

} // namespace simclr::runtime
