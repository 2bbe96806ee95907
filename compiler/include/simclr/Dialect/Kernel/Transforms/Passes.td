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

def SimclrAssignLayouts : Pass<"simclr-assign-layouts", "::mlir::ModuleOp"> {
  let summary = "Gives activation buffers the target's layout where every user takes it";
  let description = [{
    Chooses, for every 4-D f32 buffer of a program, the target's preferred
    activation layout (`layout`: nhwc, nChw8c or nChw16c) or plain NCHW,
    and states it on the buffer's type (`#simclr_kernel.layout`) and in the
    `layouts` of every kernel launched on it.

    1. Buffers that one launch reads or writes together (all of a kernel's
       4-D operands) must share a layout: they are grouped (union-find).
    2. A group takes the layout when every member is an alloc (arguments:
       state and inputs stay plain, as the caller writes them) whose
       channels fit the layout, and every use accepts it: a launch of an
       elementwise kernel or of an anchored kernel whose anchor runs in any
       layout (batch norm, global average pooling and their gradients,
       sum_to_channels, normalize); an activation operand of a convolution
       extern (x, y, dy, dx; never a filter or its gradient). Views,
       returns, collectives and every other kernel keep plain NCHW.
    3. No reorder is inserted: convolutions bridge layouts (a plain input
       such as the views entering the encoder with a blocked output), and
       global average pooling reads blocked features into a plain [N, C]
       matrix, so the encoder runs in one layout from stem to pooling.
    4. A kernel launched with different layout combinations is cloned, one
       definition per combination (suffix `_<layout>`).

    Precondition: kernels are described (simclr-describe-kernels), no
    memory is planned yet. Postcondition: every launch's operand layouts
    equal its kernel's `layouts`. With `layout=nchw` the pass changes
    nothing.

    Before / after (nChw8c):
    ```mlir
    %y = simclr_kernel.alloc "y" : memref<8x16x4x4xf32>
    %y = simclr_kernel.alloc "y" : memref<8x16x4x4xf32, #simclr_kernel.layout<nChw8c>>
    ```
  }];
  let options = [
    Option<"layout", "layout", "std::string", /*default=*/"\"nchw\"",
           "The target's preferred activation layout (nchw, nhwc, nChw8c, nChw16c)">,
  ];
  let statistics = [
    Statistic<"numLaidOut", "buffers-laid-out", "Buffers given the preferred layout">,
    Statistic<"numPlain", "buffers-kept-plain", "4-D activation buffers kept plain">,
    Statistic<"numCloned", "kernels-cloned", "Kernels cloned for another layout combination">,
  ];
}

def SimclrDataParallel : Pass<"simclr-data-parallel", "::mlir::ModuleOp"> {
  let summary = "Makes a train step data-parallel over a run-time number of replicas";
  let description = [{
    Rewrites, at the kernel level, a single-replica train step into one whose
    K replicas (processes or GPUs, K chosen at run time; each reads N of the
    global batch's K*N images) compute exactly the step of one replica with
    K*N images (docs/architecture.md, "Data parallelism"):

    * **Global negatives.** The projections go through an `all_gather`
      (`blocks = 2`: the first views of all replicas, then the second views,
      the order one process of K*N images has) into a `gathered` buffer;
      the NT-Xent kernel is cloned to read the replica count (a new
      `replicas` argument of the function, bound by the runtime) and works
      on all 2*K*N rows; its gradient, the same on every replica, comes back
      through `local_slice` (this replica's rows).
    * **Synchronized batch norm.** Every kernel anchored on
      `batch_norm_train` splits into a statistics kernel (its prologue +
      `batch_norm_statistics`), an in-place `all_reduce_sum` of the f64
      sums, and an apply kernel (prologue again + `batch_norm_apply` +
      epilogue); `running_stats_update` of those statistics becomes
      `running_stats_from_sums`. The backward the same way with
      `batch_norm_backward_statistics` / `batch_norm_backward_apply`, whose
      scale and shift gradients are then already global.
    * **Gradient buckets.** Every other gradient the optimizer kernel reads
      is summed over replicas by in-place `all_reduce_sum`s, in buckets of
      about `bucket-bytes`, each issued right after the last write of its
      last gradient (backward order), so that the runtime overlaps it with
      the rest of the backward.

    Functions without an NT-Xent kernel (the `encode` program) are left
    alone. Runs after simclr-lower-to-kernels and before
    simclr-describe-kernels (the new kernels are described like the others).
  }];
  let options = [
    Option<"bucketBytes", "bucket-bytes", "int64_t", /*default=*/"4194304",
           "Close a gradient bucket once it holds this many bytes">,
  ];
  let statistics = [
    Statistic<"numBuckets", "gradient-buckets", "Gradient all_reduce_sum buckets">,
    Statistic<"numBatchNorms", "synchronized-batch-norms", "Batch-norm kernels split around an all_reduce_sum">,
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
    function. A function without allocs gets an arena of 0 bytes. Allocs
    marked `gathered` (one copy per replica, simclr-data-parallel) are not
    in the arena: they follow one another in the gathered block, whose size
    per replica is `simclr_kernel.gathered_bytes`.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every offset">,
  ];
}

#endif // SIMCLR_DIALECT_KERNEL_TRANSFORMS_PASSES_TD
