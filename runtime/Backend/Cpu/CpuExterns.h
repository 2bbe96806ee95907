//===- CpuExterns.h - The CPU extern table: oneDNN convolutions and matmul -*- C++ -*-===//
//
// Extern schedule entries name a library routine instead of a generated
// kernel. On the CPU every routine is a oneDNN primitive:
//
//   "conv2d"                 inputs x[N,C,H,W], w[O,C/g,KH,KW]; output y
//   "conv2d_backward_input"  inputs dy, w; output dx (x's shape)
//   "conv2d_backward_filter" inputs dy, x; output dw (w's shape)
//       attrs: stride, padding, dilation (two integers each, defaults 1, 0,
//       1) and groups (default 1), as simclr.conv2d and its gradient ops
//       (SimclrOps.td, SimclrGradientOps.td)
//   "matmul"                 inputs a, b; output c = op(a) op(b)
//       attrs: transpose_lhs, transpose_rhs (0 or 1, default 0)
//
// All operands are f32. Activations (x, y, dy, dx) are used in the layout
// their buffer has (plan.json's `layout`: oneDNN's nChw8c/nChw16c, nhwc or
// plain NCHW); filters stay OIHW in the state, and the primitive's own
// filter layout is a copy in the call's workspace, reordered on each call
// (filters are small). When both activations are plain, oneDNN picks their
// layout too and they are copied like the filters.
//
// The workspace is the entry's one scratch operand, sized at compile time
// by cpuExternWorkspaceBytes (the same primitive descriptors the runtime
// creates): oneDNN's user-mode scratchpad, then the copies. A call whose
// primitive needs more here than was planned (another thread count or
// instruction set than the compiling machine's) gets a private workspace
// once, at finalize(); the step itself allocates nothing.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CPU_CPUEXTERNS_H
#define SIMCLR_RUNTIME_BACKEND_CPU_CPUEXTERNS_H

#include "simclr/Runtime/Backend.h"
#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/Status.h"

#include <cstddef>
#include <memory>
#include <vector>

namespace simclr::runtime {

/// Bytes of workspace extern `entry` needs with `buffers` as its inputs and
/// outputs, on this machine with the current OpenMP thread count; 0 when it
/// needs none. Errors as CpuExterns::add.
Expected<int64_t>
cpuExternWorkspaceBytes(const artifact::ScheduleEntry &entry,
                        const std::vector<const artifact::Buffer *> &buffers);

class CpuExterns {
public:
  CpuExterns();
  ~CpuExterns();
  CpuExterns(const CpuExterns &) = delete;
  CpuExterns &operator=(const CpuExterns &) = delete;

  /// Prepares a call of `entry` on `operands` (inputs, outputs, then the
  /// workspace when the plan gives one) and returns its handle for run().
  /// An unknown name, a wrong operand count, dtype or shape, or a bad
  /// attribute is an invalid-argument error (without the entry's context,
  /// which the caller adds).
  Expected<size_t> add(const artifact::ScheduleEntry &entry,
                       const std::vector<EntryOperand> &operands);

  /// Gives calls whose planned workspace is too small a private one; call
  /// once, after the last add().
  Status finalize();

  /// Runs call `handle`. Allocates nothing.
  Status run(size_t handle);

  /// Bytes finalize() had to allocate beyond the plan.
  int64_t unplannedWorkspaceBytes() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_BACKEND_CPU_CPUEXTERNS_H
