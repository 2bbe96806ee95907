//===- Passes.td - Passes of the CPU target ----------------*- tablegen -*-===//
#ifndef SIMCLR_TARGET_CPU_PASSES_TD
#define SIMCLR_TARGET_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def SimclrCpuPlanExternWorkspaces
    : Pass<"simclr-cpu-plan-extern-workspaces", "::mlir::ModuleOp"> {
  let summary = "Gives each oneDNN call its workspace as a planned buffer";
  let description = [{
    The CPU target's library calls need temporaries: oneDNN's user-mode
    scratchpad and copies of filters (and of plain activations) in the
    layout the primitive chose. This pass asks the runtime's extern table
    (runtime/Backend/Cpu/CpuExterns.h, `cpuExternWorkspaceBytes`: the very
    primitive descriptors the runtime creates, on this machine with this
    thread count) how many bytes each `simclr_kernel.extern` needs, and
    passes it a `simclr_kernel.alloc` of that size as its scratch operand,
    so memory planning places it in the arena and the running step
    allocates nothing.

    Precondition: layouts assigned (simclr-assign-layouts), memory not yet
    planned. Postcondition: every extern needing a workspace has exactly
    one scratch operand of at least the size it needs. A call oneDNN cannot
    make is an error at the op.

    Before / after:
    ```mlir
    simclr_kernel.extern "conv2d"(%x, %w) outs(%y) {...} : ...
    %ws = simclr_kernel.alloc "conv2d.workspace" : memref<73728xi8>
    simclr_kernel.extern "conv2d"(%x, %w) outs(%y) scratch(%ws : memref<73728xi8>) {...} : ...
    ```
  }];
  let statistics = [
    Statistic<"numWorkspaces", "workspaces", "Extern calls given a workspace">,
    Statistic<"workspaceBytes", "workspace-bytes", "Bytes of all workspaces">,
  ];
}

#endif // SIMCLR_TARGET_CPU_PASSES_TD
