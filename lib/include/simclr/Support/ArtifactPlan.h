//===- ArtifactPlan.h - What a compiled artifact tells the runtime -*- C++ -*-===//
//
// `simclrc SPEC -o DIR` writes an artifact directory:
//
//   DIR/plan.json      this Plan, serialized (writePlanFile/readPlanFile)
//   DIR/kernels.so     the generated kernels (CPU), one extern "C" symbol each
//   DIR/kernels.cpp    their source, for reading and debugging
//   DIR/init.safetensors  optional: the initial state written at compile time
//
// The runtime needs nothing else: no MLIR, no re-parsing of IR. Everything a
// step does is the `schedule` of a Program: each entry launches a generated
// kernel, calls an extern (library) routine from the runtime's table
// (oneDNN/BLAS on CPU; cuDNN/cuBLAS on CUDA), or performs a collective.
// Operands are buffer ids; a buffer lives either in the persistent state
// block (parameters, optimizer state, running statistics), in the per-step
// input block, or in the arena at an offset the memory planner chose.
//
// Integrity: plan.json carries its format version and a SHA-256 of its own
// canonical body, and the SHA-256 of kernels.so and the library's
// fingerprint (a hash of the generated source, also returned by the
// library's `simclr_kernel_library_fingerprint()`), so a stale, truncated or
// mismatched file is refused with a message naming it.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_ARTIFACTPLAN_H
#define SIMCLR_SUPPORT_ARTIFACTPLAN_H

#include "simclr/Support/DType.h"
#include "simclr/Support/Status.h"
#include "simclr/Support/Vocabulary.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace simclr::artifact {

/// Bumped on every incompatible change of the plan or of the kernel ABI.
/// Version 2: buffers carry a layout, the library its architecture, schedule
/// entries their output count (scratch operands follow the outputs).
inline constexpr int64_t kPlanFormatVersion = 3;
/// `"format"` field of plan.json.
inline constexpr const char *kPlanFormatName = "simclrc-artifact";

/// The kernel ABI: every generated kernel is
///   extern "C" void NAME(void *const *operands);
/// operands[i] is the base address of the entry's i-th operand buffer (its
/// inputs first, then its outputs, then its scratch buffers, in the order
/// of ScheduleEntry::operands).
using KernelFunction = void (*)(void *const *operands);
/// Every kernel library also exports
///   extern "C" const char *simclr_kernel_library_fingerprint(void);
///   extern "C" int64_t simclr_kernel_library_abi_version(void);
inline constexpr const char *kFingerprintSymbol =
    "simclr_kernel_library_fingerprint";
inline constexpr const char *kAbiVersionSymbol =
    "simclr_kernel_library_abi_version";
/// A CPU library also exports
///   extern "C" const char *simclr_kernel_library_bindings(void);
/// returning kernelBindingDigest() of the plan it was compiled with, so the
/// runtime finds a plan whose kernel entries were renamed or swapped (each
/// entry still naming an existing kernel, the plan's checksum resealed)
/// before a kernel runs on operands it was not compiled for.
inline constexpr const char *kBindingsSymbol = "simclr_kernel_library_bindings";

/// Where a buffer's bytes live.
enum class BufferRegion {
  /// Persistent across steps: parameters, optimizer state, running
  /// statistics. Owned by the executor; saved in checkpoints.
  kState,
  /// Written by the caller before each run of a program (views, images,
  /// the step counter).
  kInput,
  /// Intermediates and results of one run, at `offset` in the arena.
  kArena,
  /// A data-parallel buffer holding one copy of `shape` per replica: the
  /// output of an all_gather and the input of its local_slice. `shape`,
  /// `bytes` and `offset` are per replica; with R replicas the runtime
  /// allocates R * Plan::gatheredBytes and the buffer starts at R * offset
  /// and spans R * bytes (the copies stacked along dimension 0, ordered as
  /// the all_gather's `blocks` attribute says).
  kGathered,
};

struct Buffer {
  int64_t id = 0;
  /// For dumps and messages: the value's name (`layer1.0.conv1.weight`,
  /// `%grad_input_43`).
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  BufferRegion region = BufferRegion::kArena;
  /// Byte offset inside its region (state block, input block or arena).
  int64_t offset = 0;
  /// elements * dtype size.
  int64_t bytes = 0;
  /// How a 4-D activation lies in memory (Vocabulary.h); plain otherwise.
  Layout layout = Layout::kPlain;
};

/// How the runtime fills a state tensor before the first step.
struct StateInit {
  /// A name parseInitKind() accepts ("kaiming_normal_fan_out", "zeros", ...).
  std::string kind;
  /// Required by uniform_fan_in; 0 otherwise.
  int64_t fanIn = 0;
};

/// One persistent tensor, saved in checkpoints under `name` (torchvision's
/// state_dict names; optimizer state as `NAME.exp_avg`, ...).
struct StateTensor {
  std::string name;
  /// "parameter", "optimizer_state" or "running_stat" (simclr.kind).
  std::string kind;
  int64_t buffer = 0;
  StateInit init;
};

/// An attribute of a schedule entry (stride, epsilon, transposes, ...).
using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>>;
using AttrMap = std::map<std::string, AttrValue>;

enum class EntryKind {
  /// A generated kernel: `name` is its symbol in the kernel library.
  kKernel,
  /// A library routine of the runtime's extern table: `name` is its key
  /// ("conv2d", "conv2d_backward_input", "conv2d_backward_filter",
  /// "matmul"); `attrs` carries its parameters.
  kExtern,
  /// A collective across data-parallel replicas (Vocabulary.h's
  /// CollectiveKind); attrs["group"] names the replica group. With one
  /// replica every collective is the identity (a copy where input and
  /// output differ). Per kind:
  ///   all_reduce_sum  inputs b1..bm, outputs the same buffers (in place;
  ///                   f32 or f64): every replica ends with the elementwise
  ///                   sum over replicas, bit-identical on all replicas.
  ///                   Asynchronous: a runtime may start it at its place in
  ///                   the schedule and finish it just before the first
  ///                   later entry that reads or writes one of its buffers
  ///                   (the data-parallel pass issues gradient buckets as
  ///                   soon as they are ready so that they overlap the rest
  ///                   of the backward).
  ///   all_gather      input x (per-replica shape, dimension 0 divisible by
  ///                   attrs["blocks"] = B), output g in the gathered region.
  ///                   x is cut into B blocks along dimension 0; g holds
  ///                   block 0 of replicas 0..R-1, then block 1 of replicas
  ///                   0..R-1, ... (B = 2 keeps the two views of the global
  ///                   batch apart, as one process of R*N images has them).
  ///   local_slice     input g (gathered region), output x: the inverse of
  ///                   all_gather with the same B, this replica's blocks. No
  ///                   communication (every replica computed the same g).
  kCollective,
};

struct ScheduleEntry {
  EntryKind kind = EntryKind::kKernel;
  std::string name;
  /// Inputs first, then outputs, then scratch: temporaries (arena buffers
  /// of bytes) the kernel or library routine may overwrite.
  std::vector<int64_t> operands;
  int64_t numInputs = 0;
  int64_t numOutputs = 0;
  AttrMap attrs;

  int64_t numScratch() const {
    return static_cast<int64_t>(operands.size()) - numInputs - numOutputs;
  }
};

/// A value a program reads or produces, by role.
struct Binding {
  /// Inputs: "views" (2N x C x H x W float, view 0 then view 1), "images"
  /// (N x C x H x W uint8), "step" (int64 scalar). Outputs: "loss", "lr",
  /// "features".
  std::string role;
  int64_t buffer = 0;
};

/// One entry point: "train_step" or "encode".
struct Program {
  std::string name;
  std::vector<Binding> inputs;
  std::vector<Binding> outputs;
  std::vector<ScheduleEntry> schedule;
  /// Bytes of the arena this program needs (the planned peak).
  int64_t arenaBytes = 0;
  /// Sum of the bytes of its arena buffers without any reuse (for reports).
  int64_t sumOfIntermediates = 0;
};

struct KernelLibrary {
  /// File name inside the artifact directory ("kernels.so").
  std::string file;
  /// Lower-case hex SHA-256 of that file.
  std::string sha256;
  /// What the library's simclr_kernel_library_fingerprint() returns.
  std::string fingerprint;
  /// A TargetKind name (Vocabulary.h): "cpu".
  std::string target;
  /// What the library was compiled for, in the target's terms (the CPU:
  /// an x86-64 level of CpuIsa.h); the runtime refuses a machine that
  /// lacks it.
  std::string architecture;
};

struct Plan {
  int64_t formatVersion = kPlanFormatVersion;
  /// The spec's file name and the hash of its text, for messages and for
  /// refusing checkpoints of another artifact.
  std::string specName;
  std::string specSha256;
  /// Training facts the runtime's loop needs (batch size, image shape,
  /// steps per epoch, total steps, seed, dataset, augmentation policy as
  /// the spec wrote it); free-form JSON text kept verbatim.
  std::string trainingJson;
  std::vector<Buffer> buffers;
  std::vector<StateTensor> state;
  /// Bytes of the state block and of the input block.
  int64_t stateBytes = 0;
  int64_t inputBytes = 0;
  /// Bytes of the gathered block per replica (0 without data parallelism).
  int64_t gatheredBytes = 0;
  std::vector<Program> programs;
  KernelLibrary library;
  /// Byte alignment of every offset (and of the blocks' bases).
  int64_t alignment = 64;

  const Program *findProgram(const std::string &name) const;
  const Buffer *findBuffer(int64_t id) const;
};

/// A hash identifying the network whose state the plan holds: the state
/// tensors' names, kinds, dtypes, shapes and layouts, nothing of the target
/// or kernel library, so artifacts of one spec for other targets or
/// architectures share it. Checkpoints record it. Stored by writePlanFile.
std::string planIdentity(const Plan &plan);

/// SHA-256 (hex) of the plan's kernel bindings: for every distinct kernel
/// entry, its name with each operand's dtype, shape and layout and its
/// input/output counts, sorted. Renaming or swapping kernels in the
/// schedule changes it unless the swapped kernels take identical operands.
std::string kernelBindingDigest(const Plan &plan);

/// Checks internal consistency: unique buffer ids, operands name existing
/// buffers, offsets + bytes inside their region, no two state or input
/// buffers overlapping, bytes == elements * dtype size, layouts that fit
/// their shapes, a known target and an architecture of it. The message
/// names the first problem.
Status verifyPlan(const Plan &plan);

/// Serializes `plan` to JSON with "format", "version" and "sha256" (over the
/// canonical body) and writes it atomically.
Status writePlanFile(const Plan &plan, const std::string &path);

/// Reads and checks a plan.json: JSON syntax, format name, version (a newer
/// or older version is refused naming both), the body's checksum, and
/// verifyPlan(). Every error names `path`.
Expected<Plan> readPlanFile(const std::string &path);

/// Lower-case hex SHA-256 of a byte string / of a file's contents.
std::string sha256Hex(const void *data, size_t size);
Expected<std::string> sha256OfFile(const std::string &path);

} // namespace simclr::artifact

#endif // SIMCLR_SUPPORT_ARTIFACTPLAN_H
