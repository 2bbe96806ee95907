//===- Passes.td - Conversions between simclrc's levels ----*- tablegen -*-===//
#ifndef SIMCLR_CONVERSION_PASSES_TD
#define SIMCLR_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def SimclrLowerToKernels : Pass<"simclr-lower-to-kernels", "::mlir::ModuleOp"> {
  let summary = "Graph level (tensors) to kernel level (buffers, a schedule)";
  let description = [{
    Rewrites every graph-level function of the module into a program of the
    `simclr_kernel` dialect, in the function's op order:

    * each `simclr.fusion` is outlined into a `simclr_kernel.kernel` (its
      body, kind and name) and replaced by a `simclr_kernel.launch`;
    * `conv2d`, `conv2d_backward_input`, `conv2d_backward_filter` and
      `matmul` become `simclr_kernel.extern` calls of the library routine of
      the same name, with the op's attributes;
    * `reshape` becomes a `simclr_kernel.view` (no copy);
    * every other op becomes a kernel of kind `single`.

    Kernels with identical bodies are defined once and launched many times.
    Every tensor value becomes a buffer: arguments stay arguments (as
    memrefs); results of ops become `simclr_kernel.alloc`s, except a new
    parameter, optimizer state or running statistic, which is written into
    its argument's buffer in place, so the train step updates the state
    where it lives. That is legal only when every other reader of the old
    value runs before the writer; otherwise the pass fails at the writer.
    The function then returns only what is not state (the loss, the
    learning rate, features).

    Graph functions must be free of random ops: augmentation runs in the
    input pipeline, so build the train step with views as input.
  }];
  let dependentDialects = ["::mlir::simclr_kernel::KernelDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // SIMCLR_CONVERSION_PASSES_TD
