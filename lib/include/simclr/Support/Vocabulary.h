//===- Vocabulary.h - Words the compiler, the artifact and the runtime share -*- C++ -*-===//
//
// THE one definition of the names both sides of the artifact use (STYLE.md
// rule 2): the kinds of a generated kernel, the routines of a target's
// extern table, the collectives, the value kinds a function argument is
// tagged with (`simclr.kind`) and the memory layouts of activation buffers.
// The compiler writes these names into IR and plan.json, the runtime reads
// them back; neither spells them anywhere else.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_VOCABULARY_H
#define SIMCLR_SUPPORT_VOCABULARY_H

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace simclr {

//===----------------------------------------------------------------------===//
// Kernel kinds
//===----------------------------------------------------------------------===//

/// What a `simclr_kernel.kernel` computes; every emitter prints each kind
/// from the kernel's description and never re-derives it (KernelOps.td).
enum class KernelKind {
  /// Elementwise ops of one shape: one loop, one expression per output.
  kElementwise,
  /// One anchor op (batch norm, pooling, a loss primitive, ...) with an
  /// elementwise prologue computing its operand 0 and an epilogue on its
  /// result 0.
  kAnchored,
  /// NT-Xent loss and its gradient in one kernel.
  kNtXent,
  /// Every parameter's update of one optimizer in one launch.
  kOptimizer,
};
inline constexpr KernelKind kAllKernelKinds[] = {
    KernelKind::kElementwise, KernelKind::kAnchored, KernelKind::kNtXent,
    KernelKind::kOptimizer};
std::string_view kernelKindName(KernelKind kind);
std::optional<KernelKind> parseKernelKind(std::string_view name);

//===----------------------------------------------------------------------===//
// Extern routines
//===----------------------------------------------------------------------===//

/// Library routines every target's extern table provides. Semantics are
/// those of the graph op of the same name (SimclrOps.td,
/// SimclrGradientOps.td); each takes two inputs and writes one output.
enum class ExternRoutine {
  /// inputs x, w; output y.
  kConv2d,
  /// inputs dy, w; output dx.
  kConv2dBackwardInput,
  /// inputs dy, x; output dw.
  kConv2dBackwardFilter,
  /// inputs a, b; output c = op(a) op(b).
  kMatmul,
};
inline constexpr ExternRoutine kAllExternRoutines[] = {
    ExternRoutine::kConv2d, ExternRoutine::kConv2dBackwardInput,
    ExternRoutine::kConv2dBackwardFilter, ExternRoutine::kMatmul};
inline constexpr int kExternInputs = 2;
inline constexpr int kExternOutputs = 1;
std::string_view externRoutineName(ExternRoutine routine);
std::optional<ExternRoutine> parseExternRoutine(std::string_view name);
/// "conv2d, conv2d_backward_input, conv2d_backward_filter, matmul".
std::string externRoutineList();

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

/// Their semantics on a plan's buffers: ArtifactPlan.h, EntryKind::kCollective.
enum class CollectiveKind { kAllReduceSum, kAllGather, kLocalSlice };
inline constexpr CollectiveKind kAllCollectiveKinds[] = {
    CollectiveKind::kAllReduceSum, CollectiveKind::kAllGather,
    CollectiveKind::kLocalSlice};
/// The replica group of data-parallel training: every process of the job.
inline constexpr char kReplicaGroup[] = "replicas";
/// Attribute names of collectives (IR and plan): the replica group and
/// all_gather/local_slice's number of blocks.
namespace collective_attr {
inline constexpr char kGroup[] = "group";
inline constexpr char kBlocks[] = "blocks";
} // namespace collective_attr
std::string_view collectiveKindName(CollectiveKind kind);
std::optional<CollectiveKind> parseCollectiveKind(std::string_view name);

//===----------------------------------------------------------------------===//
// Value kinds (`simclr.kind` of function arguments and results, the
// `kind` of a plan's state tensors)
//===----------------------------------------------------------------------===//

namespace value_kind {
inline constexpr char kImages[] = "images";
inline constexpr char kRngKey[] = "rng_key";
inline constexpr char kParameter[] = "parameter";
inline constexpr char kRunningStat[] = "running_stat";
inline constexpr char kStep[] = "step";
inline constexpr char kGradient[] = "gradient";
inline constexpr char kOptimizerState[] = "optimizer_state";
inline constexpr char kLoss[] = "loss";
inline constexpr char kLearningRate[] = "learning_rate";
inline constexpr char kFeatures[] = "features";
/// Data parallelism: the number of replicas (int64 scalar), written by the
/// runtime; kernels whose sizes scale with it (NT-Xent over the gathered
/// projections) read it.
inline constexpr char kReplicas[] = "replicas";
} // namespace value_kind

/// The programs an artifact holds, and the roles under which their caller
/// binds inputs and outputs (plan.json's bindings).
namespace program_name {
inline constexpr char kTrainStep[] = "train_step";
inline constexpr char kEncode[] = "encode";
} // namespace program_name
namespace binding_role {
/// train_step: the two augmented views (2N x C x H x W float), the step
/// counter; the loss and the learning rate it used.
inline constexpr char kViews[] = "views";
inline constexpr char kStep[] = "step";
inline constexpr char kLoss[] = "loss";
inline constexpr char kLearningRate[] = "lr";
/// train_step of a data-parallel artifact: the replica count (int64 scalar).
inline constexpr char kReplicas[] = "replicas";
/// encode: uint8 images in, the representation h out.
inline constexpr char kImages[] = "images";
inline constexpr char kFeatures[] = "features";
} // namespace binding_role

/// Parameters, optimizer state and running statistics: the values a train
/// step reads and writes back, which persist between steps (and which a
/// checkpoint holds).
inline bool isStateKind(std::string_view kind) {
  return kind == value_kind::kParameter || kind == value_kind::kOptimizerState ||
         kind == value_kind::kRunningStat;
}

//===----------------------------------------------------------------------===//
// Layouts
//===----------------------------------------------------------------------===//

/// How the elements of a 4-D activation buffer N x C x H x W lie in memory.
/// Buffers of any other rank are always plain (row-major).
enum class Layout {
  /// Row-major: NCHW for images, the layout of every tensor at the graph
  /// level.
  kPlain,
  /// Channels last: element (n, c, h, w) at ((n*H + h)*W + w)*C + c.
  kNhwc,
  /// Channels in blocks of 8: (n, c/8, h, w, c%8); C a multiple of 8.
  kNChw8c,
  /// Channels in blocks of 16: (n, c/16, h, w, c%16); C a multiple of 16.
  kNChw16c,
};
inline constexpr Layout kAllLayouts[] = {Layout::kPlain, Layout::kNhwc,
                                         Layout::kNChw8c, Layout::kNChw16c};
/// "nchw", "nhwc", "nChw8c", "nChw16c" (oneDNN's spelling of the blocked
/// ones).
std::string_view layoutName(Layout layout);
std::optional<Layout> parseLayout(std::string_view name);
/// Channels per block: 8 or 16 for the blocked layouts, 1 for nchw (every
/// channel its own plane), C for nhwc (0 here: it depends on the shape).
int64_t layoutChannelBlock(Layout layout);
/// Flat offset of element `index` = (n, c, h, w) of a buffer of `shape` =
/// (N, C, H, W) in `layout` (the reference the tests and reorders check
/// against).
int64_t layoutOffset(Layout layout, const std::array<int64_t, 4> &shape,
                     const std::array<int64_t, 4> &index);

//===----------------------------------------------------------------------===//
// Targets
//===----------------------------------------------------------------------===//

/// What a kernel library is built for (plan.json's `library.target`); the
/// compiler's target registry and the runtime's backends key on it.
enum class TargetKind {
  /// x86-64 CPUs: generated C++ and oneDNN.
  kCpu,
  /// NVIDIA GPUs: generated CUDA C++ compiled by NVRTC, cuDNN and cuBLASLt.
  kCuda,
};
inline constexpr TargetKind kAllTargetKinds[] = {TargetKind::kCpu,
                                                 TargetKind::kCuda};
std::string_view targetKindName(TargetKind target);
std::optional<TargetKind> parseTargetKind(std::string_view name);
/// "cpu, cuda".
std::string targetKindList();
/// Whether `architecture` names an architecture of `target` (the CPU: an
/// x86-64 level of CpuIsa.h), and the form it takes, for messages.
bool isTargetArchitecture(TargetKind target, std::string_view architecture);
std::string_view targetArchitectureForm(TargetKind target);

/// A CUDA architecture "sm_XY" (compute capability X.Y, 5.0 <= X.Y < 13.0)
/// as major * 10 + minor (90 for sm_90); nullopt for anything else.
std::optional<int> parseCudaArchitecture(std::string_view architecture);
/// The CUDA target's default: sm_90 (H100, H200).
inline constexpr char kDefaultCudaArchitecture[] = "sm_90";

//===----------------------------------------------------------------------===//
// Launches of a generated GPU kernel (plan.json schedule entry attributes)
//===----------------------------------------------------------------------===//

/// A GPU kernel entry runs as one or more launches in order (a reduction's
/// partial sums, their combination, the apply pass), every launch given
/// the entry's whole operand table. The target writes, on each kernel
/// entry, `launches` = L and for each launch k < L the attributes
/// launchAttributeName(k, kFunction) (the __global__ symbol),
/// (k, kGrid) and (k, kBlock) ([x, y, z]) and (k, kSharedBytes).
namespace launch_attr {
inline constexpr char kLaunches[] = "launches";
inline constexpr char kFunction[] = "function";
inline constexpr char kGrid[] = "grid";
inline constexpr char kBlock[] = "block";
inline constexpr char kSharedBytes[] = "shared_bytes";
} // namespace launch_attr
/// "launch.<k>.<field>".
std::string launchAttributeName(int64_t launch, std::string_view field);

} // namespace simclr

#endif // SIMCLR_SUPPORT_VOCABULARY_H
