//===- SimclrOps.h - Ops of the simclr dialect -------------------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLROPS_H
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLROPS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Dialect/Simclr/IR/SimclrInterfaces.h"
#include "simclr/Dialect/Simclr/IR/SimclrTypes.h"

namespace mlir::simclr {

/// The trait of the ops listed as Simclr_Elementwise in SimclrOps.td, which
/// the fusion passes and the kernel code generator treat as per-element
/// expressions. A marker: the ops' own verifiers check their shapes.
template <typename ConcreteType>
class ElementwiseOp : public OpTrait::TraitBase<ConcreteType, ElementwiseOp> {};

/// The type of a synchronized batch norm's sums (batch_norm_statistics,
/// batch_norm_backward_statistics): 3 x `channels` f64, rows two sums and
/// the element count (SimclrDataParallelOps.td).
RankedTensorType batchNormStatisticsType(MLIRContext *context, int64_t channels);

} // namespace mlir::simclr

#include "simclr/Dialect/Simclr/IR/SimclrEnums.h.inc"

#define GET_OP_CLASSES
#include "simclr/Dialect/Simclr/IR/SimclrOps.h.inc"

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLROPS_H
