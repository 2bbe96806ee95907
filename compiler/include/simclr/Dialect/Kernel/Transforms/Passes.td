//===- Passes.td - Passes on the kernel-level dialect ------*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_TRANSFORMS_PASSES_TD
#define SIMCLR_DIALECT_KERNEL_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SimclrPlanMemory : Pass<"simclr-plan-memory", "::mlir::func::FuncOp"> {
  let summary = "Gives every arena buffer of a program its offset";
  let description = [{
    Static memory planning (docs/memory-planning.md). The program's
    schedule numbers its launches, extern calls and collectives 0, 1, ...;
    each `simclr_kernel.alloc` (with its views) is live from the entry that
    writes it to the last entry that reads it (to the end when returned).
    An `elementwise` kernel may write an output over an input of the same
    shape that it reads for the last time (an in-place hint). The greedy
    by-size planner of `lib/Support/MemoryPlan.h` chooses offsets; the pass
    verifies the plan, sets `offset` on every alloc and
    `simclr_kernel.arena_bytes` / `simclr_kernel.sum_of_intermediates` on the
    function. A function without allocs gets an arena of 0 bytes.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every offset">,
  ];
}

#endif // SIMCLR_DIALECT_KERNEL_TRANSFORMS_PASSES_TD
