//===- KernelOps.td - Kernel-level ops -----------------------*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_TD
#define SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_TD

include "simclr/Dialect/Kernel/IR/KernelDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "simclr/Dialect/Kernel/IR/KernelAttrs.td"

class Kernel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kernel_Dialect, mnemonic, traits>;

def Kernel_KernelOp : Kernel_Op<"kernel", [
    Symbol, IsolatedFromAbove, SingleBlock]> {
  let summary = "What one generated kernel computes, on tensors";
  let description = [{
    A kernel definition: the block arguments are the kernel's inputs, the
    `simclr_kernel.yield` operands its outputs, and the body is graph-level
    `simclr` ops. `kind` (`simclr::KernelKind`,
    lib/include/simclr/Support/Vocabulary.h) states the body's structure,
    as the fusion that produced it guaranteed (see `simclr.fusion`); every
    emitter trusts it:

    * `elementwise`: elementwise ops of one shape (one loop); each yielded
      value is a body result or a block argument (copied through).
    * `anchored`: one anchor op (batch norm, pooling, a reduction, a loss
      primitive, data movement) with an elementwise prologue computing its
      operand 0 and an elementwise epilogue on its result 0; either may be
      empty.
    * `nt_xent`: NT-Xent loss and its gradient in one kernel (`nt_xent`,
      the `fill` seeding the loss gradient, `nt_xent_backward`).
    * `optimizer`: one update op (adamw/sgd/lars) per parameter, all in one
      launch.

    **The description.** `simclr-describe-kernels` states, in attributes
    the emitters print from without analysing the body again (the verifier
    checks them whenever `access` is present):

    * `access` (one per block argument): how the kernel's elementwise parts
      read the input: `flat` (element i of the iteration space, in the
      kernel's layout), `scalar` (a 0-D value), `channel` (a rank-1 vector
      indexed by the channel of element i: the input of a rank-1
      `simclr.broadcast`) or `none` (read only whole, by the anchor or an
      update op).
    * `anchor` (anchored): the index of the anchor among the body's ops.
    * `prologue`, `epilogue` (anchored): indices of the body ops forming
      the prologue (in evaluation order; their last result is the anchor's
      operand 0) and the epilogue (a chain on the anchor's result 0; the
      last op's result is stored in its place). Empty when absent. Each is
      an expression of `flat`/`scalar`/`channel` inputs (and, for the
      epilogue, the anchor's result) that every emitter prints with its own
      expression printer.
    * `results` (anchored, nt_xent): for each anchor result (nt_xent: the
      loss, then the embeddings' gradient), the launch operand that receives
      it: an output (inputs + yield position) or a scratch operand when the
      kernel needs the value but does not return it (the batch statistics
      of a batch norm whose caller only wants y).
    * `scratch`: the bytes of each scratch operand. A launch passes the
      kernel's inputs, its outputs, then one buffer per entry here: the
      temporaries the algorithm needs (per-block partial sums, NT-Xent's
      normalized embeddings and similarity gradient, ...), sized by
      lib/include/simclr/Kernels/Scratch.h, so the running step allocates
      nothing.
    * `layouts` (one per input, then per output): the layout
      (`simclr::Layout` name: `nchw`, `nhwc`, `nChw8c`, `nChw16c`) of the
      buffer each launch passes; every launch of the kernel passes buffers
      of exactly these layouts. All `flat` operands of rank 4 share one
      layout, the kernel's iteration layout.

    A launch passes inputs, outputs and scratch as buffers whose shapes and
    element types are those of the block arguments, the yielded values and
    `i8` arrays of the scratch sizes; the ABI the emitters implement is in
    `lib/include/simclr/Support/ArtifactPlan.h`.

    Example:
    ```mlir
    simclr_kernel.kernel @k3_relu kind "elementwise" attributes {
        access = ["flat"], layouts = ["nchw", "nchw"], scratch = array<i64>} {
    ^bb0(%x: tensor<4x8xf32>):
      %y = simclr.relu %x : tensor<4x8xf32>
      simclr_kernel.yield %y : tensor<4x8xf32>
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrAttr:$kind,
                       OptionalAttr<StrArrayAttr>:$access,
                       OptionalAttr<I64Attr>:$anchor,
                       OptionalAttr<DenseI64ArrayAttr>:$prologue,
                       OptionalAttr<DenseI64ArrayAttr>:$epilogue,
                       OptionalAttr<DenseI64ArrayAttr>:$results,
                       OptionalAttr<DenseI64ArrayAttr>:$scratch,
                       OptionalAttr<StrArrayAttr>:$layouts);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name `kind` $kind attr-dict-with-keyword $body";
  let builders = [
    // A kernel of `kind` with an empty body and no description yet.
    OpBuilder<(ins "::llvm::StringRef":$symName, "::llvm::StringRef":$kind), [{
      $_state.addAttribute(getSymNameAttrName($_state.name),
                           $_builder.getStringAttr(symName));
      $_state.addAttribute(getKindAttrName($_state.name),
                           $_builder.getStringAttr(kind));
      $_state.addRegion();
    }]>];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Block &getBodyBlock() { return getBody().front(); }
    ::mlir::Operation *getYield() { return getBodyBlock().getTerminator(); }
    /// The kind, parsed (the verifier guarantees it parses).
    ::simclr::KernelKind getKernelKind();
    /// True once simclr-describe-kernels has stated the description.
    bool isDescribed() { return getAccess().has_value(); }
    /// The body's ops without the terminator, by index (the indices
    /// `anchor`, `prologue` and `epilogue` use).
    ::llvm::SmallVector<::mlir::Operation *> getBodyOps();
    unsigned getNumInputs() { return getBodyBlock().getNumArguments(); }
    unsigned getNumOutputs() { return getYield()->getNumOperands(); }
    unsigned getNumScratch() {
      return getScratch() ? getScratch()->size() : 0;
    }
    /// The layout of launch operand `index` (inputs, then outputs): plain
    /// when the kernel is not described yet.
    ::simclr::Layout getOperandLayout(unsigned index);
  }];
}

def Kernel_YieldOp : Kernel_Op<"yield", [Pure, Terminator,
                                          HasParent<"KernelOp">]> {
  let summary = "The outputs of a kernel body";
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

def Kernel_AllocOp : Kernel_Op<"alloc"> {
  let summary = "A buffer in the program's arena";
  let description = [{
    Names one intermediate buffer of a program. It lives from the first op
    that writes it to the last op that reads it; `simclr-plan-memory` sets
    `offset` (bytes from the arena base) so that buffers whose lifetimes
    intersect never share bytes (except an elementwise kernel's output
    placed over an input it reads for the last time). `name` is the graph
    value it holds, for dumps and the plan.

    Example:
    ```mlir
    %b = simclr_kernel.alloc "relu_3" {offset = 4096 : i64} : memref<4x8xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, OptionalAttr<I64Attr>:$offset);
  let results = (outs AnyStaticShapeMemRef:$buffer);
  let assemblyFormat = "$name attr-dict `:` type($buffer)";
}

def Kernel_ViewOp : Kernel_Op<"view", [Pure]> {
  let summary = "The same bytes with another shape (a reshape)";
  let description = [{
    `result` aliases `source` (same element type and element count); used
    for `simclr.reshape`, so reshapes cost nothing. The source stays live as
    long as the view is.
  }];
  let arguments = (ins AnyStaticShapeMemRef:$source);
  let results = (outs AnyStaticShapeMemRef:$result);
  let assemblyFormat = "$source attr-dict `:` type($source) `to` type($result)";
  let hasVerifier = 1;
}

def Kernel_LaunchOp : Kernel_Op<"launch", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Runs a generated kernel on buffers";
  let description = [{
    Reads `inputs` and writes `outputs`, buffers whose shapes and element
    types are those of the kernel's block arguments and yielded values, and
    whose layouts are the kernel's `layouts`; `scratch` holds one `i8`
    buffer per entry of the kernel's `scratch` sizes, which the kernel may
    overwrite and which nothing reads afterwards.

    Example:
    ```mlir
    simclr_kernel.launch @k3_relu(%a) outs(%b) : (memref<4x8xf32>) -> (memref<4x8xf32>)
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel,
                       Variadic<AnyStaticShapeMemRef>:$inputs,
                       Variadic<AnyStaticShapeMemRef>:$outputs,
                       Variadic<AnyStaticShapeMemRef>:$scratch);
  let assemblyFormat = [{
    $kernel `(` $inputs `)` `outs` `(` $outputs `)`
    (`scratch` `(` $scratch^ `:` type($scratch) `)`)? attr-dict `:`
    `(` type($inputs) `)` `->` `(` type($outputs) `)`
  }];
  let builders = [
    // A launch without scratch (simclr-describe-kernels adds it).
    OpBuilder<(ins "::llvm::StringRef":$kernel, "::mlir::ValueRange":$inputs,
                   "::mlir::ValueRange":$outputs), [{
      build($_builder, $_state, kernel, inputs, outputs, ::mlir::ValueRange());
    }]>];
  let extraClassDeclaration = [{
    KernelOp getKernelOp();
  }];
}

def Kernel_ExternOp : Kernel_Op<"extern", [AttrSizedOperandSegments]> {
  let summary = "Calls a library routine of the target's extern table";
  let description = [{
    `callee` names a routine every runtime target provides
    (`simclr::ExternRoutine`; CPU: oneDNN; CUDA: cuDNN, cuBLASLt):
    `conv2d`, `conv2d_backward_input`, `conv2d_backward_filter`, `matmul`.
    The op's other attributes are the routine's parameters, exactly the
    graph op's (stride, padding, dilation, groups; transpose_lhs,
    transpose_rhs); semantics are those of the graph op of the same name,
    whatever the operands' layouts. `scratch`, when present, is one `i8`
    buffer: the library's workspace (oneDNN's user-mode scratchpad), sized
    by the target's extern table at compile time.

    Example:
    ```mlir
    simclr_kernel.extern "matmul"(%a, %b) outs(%c) {transpose_rhs} : (memref<4x8xf32>, memref<16x8xf32>) -> (memref<4x16xf32>)
    ```
  }];
  let arguments = (ins StrAttr:$callee,
                       Variadic<AnyStaticShapeMemRef>:$inputs,
                       Variadic<AnyStaticShapeMemRef>:$outputs,
                       Variadic<AnyStaticShapeMemRef>:$scratch);
  let assemblyFormat = [{
    $callee `(` $inputs `)` `outs` `(` $outputs `)`
    (`scratch` `(` $scratch^ `:` type($scratch) `)`)? attr-dict `:`
    `(` type($inputs) `)` `->` `(` type($outputs) `)`
  }];
  let builders = [
    // A call without workspace (the target's passes may add one).
    OpBuilder<(ins "::llvm::StringRef":$callee, "::mlir::ValueRange":$inputs,
                   "::mlir::ValueRange":$outputs), [{
      build($_builder, $_state, callee, inputs, outputs, ::mlir::ValueRange());
    }]>];
  let hasVerifier = 1;
}

def Kernel_CollectiveOp : Kernel_Op<"collective", [AttrSizedOperandSegments]> {
  let summary = "A collective across data-parallel replicas";
  let description = [{
    One of `simclr::CollectiveKind` over the replica group `group` (the
    data-parallel pass uses `replicas`, every process of the job); the
    runtime runs it through MPI (CPU) or NCCL (CUDA), and with one replica
    it is a copy. The plan's semantics (ArtifactPlan.h, EntryKind::
    kCollective), on buffers:
    * `all_reduce_sum`: in place over one or more buffers (outputs are the
      inputs, in order): the elementwise sum over replicas. A runtime may
      finish it as late as just before the next entry touching one of its
      buffers, so gradient buckets overlap the rest of the backward.
    * `all_gather` (`blocks` = B): one input, one output allocated
      `gathered` (a buffer holding one copy of its type per replica): the
      input cut into B blocks along dimension 0, block 0 of every replica,
      then block 1 of every replica, ...
    * `local_slice` (`blocks` = B): the inverse, from a gathered input to
      this replica's blocks.

    Example (the data-parallel pass's gradient bucket and gathered
    projections):
    ```mlir
    simclr_kernel.collective "all_reduce_sum" "replicas" (%g0, %g1) outs(%g0, %g1) : (memref<8x4xf32>, memref<8xf32>) -> (memref<8x4xf32>, memref<8xf32>)
    simclr_kernel.collective "all_gather" "replicas" (%z) outs(%zs) {blocks = 2 : i64} : (memref<8x4xf32>) -> (memref<8x4xf32>)
    ```
  }];
  let arguments = (ins StrAttr:$collective, StrAttr:$group,
                       Variadic<AnyStaticShapeMemRef>:$inputs,
                       Variadic<AnyStaticShapeMemRef>:$outputs,
                       OptionalAttr<I64Attr>:$blocks);
  let assemblyFormat = [{
    $collective $group `(` $inputs `)` `outs` `(` $outputs `)` attr-dict `:`
    `(` type($inputs) `)` `->` `(` type($outputs) `)`
  }];
  let extraClassDeclaration = [{
    ::simclr::CollectiveKind getCollectiveKind();
  }];
  let hasVerifier = 1;
}

#endif // SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_TD
