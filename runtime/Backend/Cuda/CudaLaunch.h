//===- CudaLaunch.h - Launches and operand tables of GPU kernel entries -*- C++ -*-===//
//
// Pure host code (no CUDA headers), so it is tested on any machine.
//
// A kernel schedule entry of a CUDA plan runs as L launches in order
// (Vocabulary.h, launch_attr): `launches` = L and, for k < L,
// `launch.k.function` (an extern "C" __global__ void F(void *const *)
// symbol of the module), `launch.k.grid` and `launch.k.block` ([x, y, z])
// and `launch.k.shared_bytes`. Every launch receives one parameter: the
// device address of the entry's operand table, the addresses of its
// operands (inputs, outputs, scratch: ScheduleEntry::operands order).
//
// Operand addresses never change after Executor::create (one arena, one
// state block, one input block), so all the tables of all entries are one
// host image (OperandTables), copied once into one device allocation at
// finalize; a launch's parameter is that allocation's base plus the
// entry's offset.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CUDA_CUDALAUNCH_H
#define SIMCLR_RUNTIME_BACKEND_CUDA_CUDALAUNCH_H

#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/Status.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace simclr::runtime::cuda {

/// CUDA's limits on a launch's shape (CUDA C Programming Guide, "Compute
/// Capabilities", the same for every architecture since sm_30).
inline constexpr int64_t kMaxThreadsPerBlock = 1024;
inline constexpr std::array<int64_t, 3> kMaxBlockDims = {1024, 1024, 64};
inline constexpr std::array<int64_t, 3> kMaxGridDims = {2147483647, 65535,
                                                        65535};
/// The largest dynamic shared memory a block may ask for on any GPU this
/// target runs on (sm_90: 227 KiB, opted into with
/// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES); the device's own
/// limit is checked when the entry is prepared.
inline constexpr int64_t kMaxSharedBytes = 227 * 1024;

/// One launch of a kernel entry.
struct KernelLaunch {
  std::string function;
  std::array<unsigned, 3> grid{1, 1, 1};
  std::array<unsigned, 3> block{1, 1, 1};
  unsigned sharedBytes = 0;
};

/// Reads and checks the launch attributes of kernel entry `entry`. The
/// error names the attribute and what is wrong with it ("attribute
/// 'launch.1.function' is missing (launches = 2)"), not the entry.
Expected<std::vector<KernelLaunch>>
parseKernelLaunches(const artifact::ScheduleEntry &entry);

/// The launches of every kernel entry of `plan`, by entry (the plan's own
/// ScheduleEntry objects, which outlive the map). The error is one line
/// naming `planPath`, the program and the entry: "PLAN: program
/// 'train_step': schedule[3] (kernel 'bn_stats_7'): attribute ...".
Expected<std::map<const artifact::ScheduleEntry *, std::vector<KernelLaunch>>>
parsePlanLaunches(const std::string &planPath, const artifact::Plan &plan);

/// The host image of every entry's operand table, in the order entries
/// are added.
class OperandTables {
public:
  /// Appends the table of an entry whose operands lie at `addresses`
  /// (device addresses, none null) and returns its offset in bytes from
  /// the start of the image.
  Expected<size_t> add(const std::vector<const void *> &addresses);
  /// The image to copy to the device: 64-bit addresses, tables back to
  /// back (each starts on an address-sized boundary).
  const std::vector<uint64_t> &image() const { return image_; }
  size_t bytes() const { return image_.size() * sizeof(uint64_t); }

private:
  std::vector<uint64_t> image_;
};

} // namespace simclr::runtime::cuda

#endif // SIMCLR_RUNTIME_BACKEND_CUDA_CUDALAUNCH_H
