//===- KernelOps.td - Kernel-level ops -----------------------*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_TD
#define SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_TD

include "simclr/Dialect/Kernel/IR/KernelDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"

class Kernel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kernel_Dialect, mnemonic, traits>;

def Kernel_KernelOp : Kernel_Op<"kernel", [
    Symbol, IsolatedFromAbove, SingleBlock]> {
  let summary = "What one generated kernel computes, on tensors";
  let description = [{
    A kernel definition: the block arguments are the kernel's inputs, the
    `simclr_kernel.yield` operands its outputs, and the body is graph-level
    `simclr` ops. `kind` tells the emitters the body's structure, as the
    fusion that produced it guaranteed (see `simclr.fusion`):

    * `single`: one graph op; every result is yielded.
    * `elementwise`: elementwise ops of one shape (one loop).
    * `anchored`: one anchor op with an elementwise prologue computing its
      operand 0 and an elementwise epilogue on its result 0.
    * `nt_xent`: NT-Xent loss and its gradient in one kernel.
    * `optimizer`: one update op per parameter, all in one launch.

    A launch passes the kernel's inputs then its outputs, as buffers of the
    same shapes; the ABI the emitters implement is in
    `lib/include/simclr/Support/ArtifactPlan.h`.

    Example:
    ```mlir
    simclr_kernel.kernel @k3_relu kind "single" {
    ^bb0(%x: tensor<4x8xf32>):
      %y = simclr.relu %x : tensor<4x8xf32>
      simclr_kernel.yield %y : tensor<4x8xf32>
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrAttr:$kind);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name `kind` $kind attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Block &getBodyBlock() { return getBody().front(); }
    ::mlir::Operation *getYield() { return getBodyBlock().getTerminator(); }
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
    types are those of the kernel's block arguments and yielded values.

    Example:
    ```mlir
    simclr_kernel.launch @k3_relu(%a) outs(%b) : (memref<4x8xf32>) -> (memref<4x8xf32>)
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel,
                       Variadic<AnyStaticShapeMemRef>:$inputs,
                       Variadic<AnyStaticShapeMemRef>:$outputs);
  let assemblyFormat = [{
    $kernel `(` $inputs `)` `outs` `(` $outputs `)` attr-dict `:`
    `(` type($inputs) `)` `->` `(` type($outputs) `)`
  }];
  let extraClassDeclaration = [{
    KernelOp getKernelOp();
  }];
}

def Kernel_ExternOp : Kernel_Op<"extern", [AttrSizedOperandSegments]> {
  let summary = "Calls a library routine of the target's extern table";
  let description = [{
    `callee` names a routine every runtime target provides (CPU: oneDNN,
    BLAS; CUDA: cuDNN, cuBLAS): `conv2d`, `conv2d_backward_input`,
    `conv2d_backward_filter`, `matmul`. The op's other attributes are the
    routine's parameters, exactly the graph op's (stride, padding,
    dilation, groups; transpose_lhs, transpose_rhs); semantics are those of
    the graph op of the same name.

    Example:
    ```mlir
    simclr_kernel.extern "matmul"(%a, %b) outs(%c) {transpose_rhs} : (memref<4x8xf32>, memref<16x8xf32>) -> (memref<4x16xf32>)
    ```
  }];
  let arguments = (ins StrAttr:$callee,
                       Variadic<AnyStaticShapeMemRef>:$inputs,
                       Variadic<AnyStaticShapeMemRef>:$outputs);
  let assemblyFormat = [{
    $callee `(` $inputs `)` `outs` `(` $outputs `)` attr-dict `:`
    `(` type($inputs) `)` `->` `(` type($outputs) `)`
  }];
  let hasVerifier = 1;
}

def Kernel_CollectiveOp : Kernel_Op<"collective"> {
  let summary = "A collective across data-parallel replicas";
  let description = [{
    Room for data parallelism: `all_reduce_sum` (gradients, batch-norm
    statistics) and `all_gather` (embeddings, so NT-Xent sees every
    replica's negatives) over the replica group `group`. The runtime runs
    them through NCCL or MPI; with one replica they are a copy. No pass
    emits them yet.
  }];
  let arguments = (ins StrAttr:$collective, StrAttr:$group,
                       AnyStaticShapeMemRef:$input,
                       AnyStaticShapeMemRef:$output);
  let assemblyFormat = [{
    $collective $group `(` $input `)` `outs` `(` $output `)` attr-dict `:`
    type($input) `->` type($output)
  }];
  let hasVerifier = 1;
}

#endif // SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_TD
