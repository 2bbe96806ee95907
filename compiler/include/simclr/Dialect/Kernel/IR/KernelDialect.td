//===- KernelDialect.td - The kernel-level dialect ---------*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_IR_KERNELDIALECT_TD
#define SIMCLR_DIALECT_KERNEL_IR_KERNELDIALECT_TD

include "mlir/IR/OpBase.td"

def Kernel_Dialect : Dialect {
  let name = "simclr_kernel";
  let cppNamespace = "::mlir::simclr_kernel";
  let summary = "Kernel-level IR: a schedule of kernels and library calls on buffers.";
  let description = [{
    The second level of simclrc. A program (a `func.func` on memrefs) is a
    straight-line schedule that the runtime replays: each op either launches
    a generated kernel, calls a library routine, or runs a collective, on
    buffers that are either program arguments (persistent state and inputs)
    or `simclr_kernel.alloc`s in one arena.

    What a kernel computes is stated once, target-neutrally, by a
    `simclr_kernel.kernel` symbol: an isolated region of graph-level
    `simclr` ops on tensors (the body of a fusion). The CPU emitter turns
    each such body into C++; a CUDA emitter turns the same bodies into CUDA.
    Only the emitters and the runtime's table of extern routines differ
    between targets.

    Buffers are identified by SSA values; writes are explicit (`outs`).
    After `simclr-plan-memory` every alloc carries its arena `offset`.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::simclr::SimclrDialect"];
  let useDefaultAttributePrinterParser = 1;
}

#endif // SIMCLR_DIALECT_KERNEL_IR_KERNELDIALECT_TD
