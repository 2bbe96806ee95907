//===- CpuExterns.h - The CPU extern table: oneDNN convolutions, sgemm -*- C++ -*-===//
//
// Extern schedule entries name a library routine instead of a generated
// kernel. On the CPU:
//
//   "conv2d"                 inputs x[N,C,H,W], w[O,C/g,KH,KW]; output y
//   "conv2d_backward_input"  inputs dy, w; output dx (x's shape)
//   "conv2d_backward_filter" inputs dy, x; output dw (w's shape)
//       attrs: stride, padding, dilation (two integers each, defaults 1, 0,
//       1) and groups (default 1), as simclr.conv2d and its gradient ops
//       (SimclrOps.td, SimclrGradientOps.td); oneDNN primitives on plain
//       NCHW/OIHW memory
//   "matmul"                 inputs a, b; output c = op(a) op(b)
//       attrs: transpose_lhs, transpose_rhs (0 or 1, default 0); dnnl_sgemm
//
// All operands are f32. Each call is prepared once (primitive created, memory
// bound to the operands' fixed addresses) and then only run; the calls share
// one user-mode scratchpad, sized for the largest, since they run one after
// another.
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


class CpuExterns {
public:
  CpuExterns();
  ~CpuExterns();
  CpuExterns(const CpuExterns &) = delete;
  CpuExterns &operator=(const CpuExterns &) = delete;

  /// Prepares a call of `entry` on `operands` (inputs first) and returns its
  /// handle for run(). An unknown name, a wrong operand count, dtype or
  /// shape, or a bad attribute is an invalid-argument error (without the
  /// entry's context, which the caller adds).
  Expected<size_t> add(const artifact::ScheduleEntry &entry,
                       const std::vector<EntryOperand> &operands);

  /// Allocates the shared scratchpad; call once, after the last add().
  Status finalize();

  /// Runs call `handle`. Allocates nothing.
  Status run(size_t handle);

private:
  /// Allocates `bytes` of scratchpad and binds it to every call needing it.
  Status allocateScratchpad(size_t bytes);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_BACKEND_CPU_CPUEXTERNS_H
