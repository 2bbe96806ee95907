//===- CudaLaunch.cpp - Launches and operand tables of GPU kernel entries -===//
#include "Cuda/CudaLaunch.h"

#include "simclr/Support/Vocabulary.h"

namespace simclr::runtime::cuda {
namespace {

using artifact::AttrMap;
using artifact::ScheduleEntry;

std::string quoted(const std::string &text) { return "'" + text + "'"; }

const artifact::AttrValue *find(const AttrMap &attrs, const std::string &key) {
  auto it = attrs.find(key);
  return it == attrs.end() ? nullptr : &it->second;
}

Status missing(const std::string &key, int64_t launches) {
  return invalidArgument("attribute " + quoted(key) +
                         " is missing (launches = " + std::to_string(launches) +
                         ")");
}

/// [x, y, z], each in [1, limits[i]].
Expected<std::array<unsigned, 3>>
readDims(const AttrMap &attrs, const std::string &key, int64_t launches,
         const std::array<int64_t, 3> &limits) {
  const artifact::AttrValue *value = find(attrs, key);
  if (!value)
    return missing(key, launches);
  const auto *dims = std::get_if<std::vector<int64_t>>(value);
  if (!dims || dims->size() != 3)
    return invalidArgument(
        "attribute " + quoted(key) + " must be three integers [x, y, z], got " +
        (dims ? std::to_string(dims->size()) + " numbers" : "another type"));
  std::array<unsigned, 3> result{};
  static constexpr const char *kAxes[] = {"x", "y", "z"};
  for (size_t i = 0; i < 3; ++i) {
    int64_t d = (*dims)[i];
    if (d < 1 || d > limits[i])
      return invalidArgument("attribute " + quoted(key) + ": " + kAxes[i] +
                             " = " + std::to_string(d) + " is outside [1, " +
                             std::to_string(limits[i]) + "]");
    result[i] = static_cast<unsigned>(d);
  }
  return result;
}

} // namespace

Expected<std::vector<KernelLaunch>>
parseKernelLaunches(const ScheduleEntry &entry) {
  const AttrMap &attrs = entry.attrs;
  const artifact::AttrValue *count = find(attrs, launch_attr::kLaunches);
  if (!count)
    return invalidArgument("attribute " + quoted(launch_attr::kLaunches) +
                           " is missing (a CUDA kernel entry states its "
                           "launches)");
  const int64_t *launches = std::get_if<int64_t>(count);
  if (!launches || *launches < 1)
    return invalidArgument("attribute " + quoted(launch_attr::kLaunches) +
                           " must be a positive integer");
  std::vector<KernelLaunch> result;
  for (int64_t k = 0; k < *launches; ++k) {
    KernelLaunch launch;
    std::string functionKey = launchAttributeName(k, launch_attr::kFunction);
    const artifact::AttrValue *function = find(attrs, functionKey);
    if (!function)
      return missing(functionKey, *launches);
    const auto *name = std::get_if<std::string>(function);
    if (!name || name->empty())
      return invalidArgument("attribute " + quoted(functionKey) +
                             " must be a non-empty symbol name");
    launch.function = *name;

    std::string gridKey = launchAttributeName(k, launch_attr::kGrid);
    Expected<std::array<unsigned, 3>> grid =
        readDims(attrs, gridKey, *launches, kMaxGridDims);
    if (!grid)
      return grid.takeStatus();
    launch.grid = *grid;

    std::string blockKey = launchAttributeName(k, launch_attr::kBlock);
    Expected<std::array<unsigned, 3>> block =
        readDims(attrs, blockKey, *launches, kMaxBlockDims);
    if (!block)
      return block.takeStatus();
    int64_t threads = int64_t{(*block)[0]} * (*block)[1] * (*block)[2];
    if (threads > kMaxThreadsPerBlock)
      return invalidArgument("attribute " + quoted(blockKey) + ": " +
                             std::to_string(threads) +
                             " threads per block, more than CUDA's " +
                             std::to_string(kMaxThreadsPerBlock));
    launch.block = *block;

    std::string sharedKey = launchAttributeName(k, launch_attr::kSharedBytes);
    const artifact::AttrValue *shared = find(attrs, sharedKey);
    if (!shared)
      return missing(sharedKey, *launches);
    const int64_t *bytes = std::get_if<int64_t>(shared);
    if (!bytes || *bytes < 0 || *bytes > kMaxSharedBytes)
      return invalidArgument("attribute " + quoted(sharedKey) +
                             " must be an integer in [0, " +
                             std::to_string(kMaxSharedBytes) + "]");
    launch.sharedBytes = static_cast<unsigned>(*bytes);
    result.push_back(std::move(launch));
  }
  return result;
}

Expected<std::map<const ScheduleEntry *, std::vector<KernelLaunch>>>
parsePlanLaunches(const std::string &planPath, const artifact::Plan &plan) {
  std::map<const ScheduleEntry *, std::vector<KernelLaunch>> launches;
  for (const artifact::Program &program : plan.programs)
    for (size_t i = 0; i < program.schedule.size(); ++i) {
      const ScheduleEntry &entry = program.schedule[i];
      if (entry.kind != artifact::EntryKind::kKernel)
        continue;
      Expected<std::vector<KernelLaunch>> parsed = parseKernelLaunches(entry);
      if (!parsed)
        return parsed.takeStatus().withContext(
            planPath + ": program " + quoted(program.name) + ": schedule[" +
            std::to_string(i) + "] (kernel " + quoted(entry.name) + ")");
      launches.emplace(&entry, std::move(*parsed));
    }
  return launches;
}

Expected<size_t>
OperandTables::add(const std::vector<const void *> &addresses) {
  for (size_t i = 0; i < addresses.size(); ++i)
    if (!addresses[i])
      return invalidArgument("operand " + std::to_string(i) +
                             " has no device address");
  size_t offset = bytes();
  for (const void *address : addresses)
    image_.push_back(reinterpret_cast<uint64_t>(address));
  return offset;
}

} // namespace simclr::runtime::cuda
