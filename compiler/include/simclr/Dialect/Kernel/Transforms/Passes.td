//===- Passes.td - Passes on the kernel-level dialect ------*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_TRANSFORMS_PASSES_TD
#define SIMCLR_DIALECT_KERNEL_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SimclrDescribeKernels : Pass<"simclr-describe-kernels", "::mlir::ModuleOp"> {
  let summary = "States what each kernel is, for emitters that only print";
  let description = [{
    Fills in the description of every `simclr_kernel.kernel`
    (KernelOps.td, "The description"): how each input is read (`access`),
    the anchor and the op indices of its prologue and epilogue, where each
    anchor result goes (`results`), the scratch operands the kernel needs,
    and plain layouts (`simclr-assign-layouts` may change them). Launches of
    a kernel with scratch get one `simclr_kernel.alloc` per scratch operand,
    placed right before the launch, so memory planning gives them arena
    offsets like any other buffer.

    Scratch holds (1) anchor results the kernel needs but does not return
    (a batch norm's statistics when only y is yielded) and (2) the
    algorithm's workspace, sized by lib/include/simclr/Kernels/Scratch.h
    from the anchor's shapes.

    Precondition: kernels as simclr-lower-to-kernels leaves them (kind one
    of elementwise, anchored, nt_xent, optimizer; bodies as the fusion
    contracts state). Postcondition: every kernel is described and verifies;
    every launch passes its kernel's scratch. Kernels already described are
    left alone.

    Before:
    ```mlir
    simclr_kernel.kernel @k0 kind "anchored" {
    ^bb0(%x: tensor<8x4xf32>):
      %y = simclr.global_avg_pool ...
    ```
    After:
    ```mlir
    simclr_kernel.kernel @k0 kind "anchored" attributes {access = ["none"],
        anchor = 0 : i64, epilogue = array<i64>, layouts = ["nchw", "nchw"],
        prologue = array<i64>, results = array<i64: 1>, scratch = array<i64>} {
    ```
  }];
  let statistics = [
    Statistic<"numDescribed", "kernels-described", "Kernels described">,
    Statistic<"numScratch", "scratch-buffers", "Scratch buffers attached to launches">,
  ];
}

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
