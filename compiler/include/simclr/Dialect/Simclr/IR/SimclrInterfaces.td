//===- SimclrInterfaces.td - Interfaces of the simclr dialect *- tablegen -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLRINTERFACES_TD
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLRINTERFACES_TD

include "mlir/IR/OpBase.td"

def Simclr_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::simclr";
  let description = [{
    An op that reverse-mode differentiation (`simclr-autodiff`) can
    propagate gradients through. Each op defines its own adjoint here, so the
    autodiff pass holds no switch over op kinds: it walks the function
    backwards, sums the gradients flowing into each result (fan-out
    accumulates) and asks each op for the gradients of its operands.
  }];
  let methods = [
    InterfaceMethod<[{
        Returns true if operand `index` can carry a gradient. RNG keys,
        integer tensors and values that are treated as constants of the
        differentiation (batch statistics fed to running averages) cannot.
      }],
      "bool", "isDifferentiableOperand", (ins "unsigned":$index)>,
    InterfaceMethod<[{
        Builds the adjoint of this op at the builder's insertion point.
        `resultGradients` has one entry per result: the gradient of the loss
        with respect to that result, or a null Value where none flows.
        Appends to `operandGradients` one Value per operand: its gradient, or
        a null Value for operands that are not differentiable or receive no
        gradient. Fails, with a diagnostic at the op, if the adjoint cannot be
        expressed (for example an unsupported attribute combination).
      }],
      "::mlir::LogicalResult", "buildAdjoint",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGradients,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGradients)>,
  ];
}

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLRINTERFACES_TD
