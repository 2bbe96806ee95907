//===- SimclrDialect.td - The simclr graph-level dialect ---*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDIALECT_TD
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDIALECT_TD

include "mlir/IR/OpBase.td"

def Simclr_Dialect : Dialect {
  let name = "simclr";
  let cppNamespace = "::mlir::simclr";
  let summary = "Graph-level IR of a SimCLR training setup, on ranked tensors.";
  let description = [{
    The `simclr` dialect describes one SimCLR training setup as pure
    functions on ranked tensors: augmentation of two views, a ResNet
    encoder, a projection head, the NT-Xent loss, and optimizer updates.

    Conventions shared by every op:
    * Images and feature maps are NCHW; vectors per example are `N x D`.
    * Floating-point tensors are f32, bf16 or f16; an op's floating-point
      operands and results share one element type.
    * Randomness is explicit: every random op takes a `!simclr.rng_key`
      operand, so a function is a pure function of its arguments and a run
      is reproducible bit for bit. Image `n` of a batch draws its random
      parameters from the counter-based generator Philox-4x32-10 keyed by the
      op's key and counter `n` (see docs/architecture.md).
    * Parameters, running statistics and optimizer state are function
      arguments and results; nothing is mutated in place.
  }];
  let useDefaultTypePrinterParser = 1;
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDIALECT_TD
