//===- VerifierSupport.h - Shared by the simclr op verifiers ----*- C++ -*-===//
//
// Private to compiler/lib/Dialect/Simclr/IR: the verifiers of SimclrOps.cpp
// and SimclrDataParallelOps.cpp share their inference functions with
// result-type inference, which must stay silent, so both report through an
// optional emitError.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_VERIFIERSUPPORT_H
#define SIMCLR_DIALECT_SIMCLR_IR_VERIFIERSUPPORT_H

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::simclr {

using EmitErrorFn = llvm::function_ref<InFlightDiagnostic()>;

/// Reports an error through `emitError` when one is given (verification) and
/// stays silent otherwise (result-type inference while building).
template <typename... Args>
LogicalResult failWith(EmitErrorFn emitError, const Args &...args) {
  if (emitError) {
    InFlightDiagnostic diag = emitError();
    (diag << ... << args);
  }
  return failure();
}

} // namespace mlir::simclr

#endif // SIMCLR_DIALECT_SIMCLR_IR_VERIFIERSUPPORT_H
