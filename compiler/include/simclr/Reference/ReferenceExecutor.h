//===- ReferenceExecutor.h - Interprets simclr IR on kernels ---*- C++ -*-===//
//
// The reference executor is the semantic oracle of the `simclr` dialect: it
// interprets a func.func op by op with the plain-loop kernels of
// lib/Reference (simclr/Reference/Kernels.h, and simclr/Reference/Augment.h
// for rng_fold_in and the random augmentations, which draw from Philox as
// those headers specify), so autodiff, the compiled train step and
// generated kernels can be compared with it. It is deliberately
// simple: the function's single block runs in order, each SSA value maps to
// the runtime value its op produced, and func.return ends the run.
//
// Values: every floating-point tensor (f32, bf16 or f16 in the IR) is a
// Tensor<T> computed in T, so running f32 IR with T = double gives the
// float64 oracle; a uint8 image batch (tensor<...xui8>) is a Tensor<T>
// holding the pixel values 0..255; a step (0-D i64 tensor) is an int64_t; an
// !simclr.rng_key is an RngKey.
//
// Errors are MLIR diagnostics at the function or the failing op, followed by
// a failure() result: a wrong argument count, an argument of the wrong kind
// or shape, an op without a reference kernel (every simclr op has one; ops
// of other dialects, such as func.call, do not), or a kernel's error Status.
// Ownership: arguments are only read; results are owned by the caller.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_REFERENCE_REFERENCEEXECUTOR_H
#define SIMCLR_REFERENCE_REFERENCEEXECUTOR_H

#include "simclr/Reference/Tensor.h"
#include "simclr/Support/Philox.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <variant>

namespace mlir::simclr {

/// The runtime value of an !simclr.rng_key: the Philox key that lib defines
/// once (simclr/Support/Philox.h) for the executor and the kernels alike.
using RngKey = ::simclr::RngKey;
using ::simclr::kRngKeyWords;

/// A runtime value of the executor: a floating-point or uint8 tensor, an
/// !simclr.rng_key, or a step (a 0-D i64 tensor).
template <typename T>
using RefValue = std::variant<::simclr::ref::Tensor<T>, RngKey, int64_t>;

/// Runs `func` (a single-block function of `simclr` ops ending in
/// func.return) on `arguments`, one per function argument, computing every
/// floating-point tensor in T (float or double). Returns the values of
/// func.return's operands in order. Verifies `func` first. On any error,
/// emits a diagnostic (wrong argument count; an argument whose kind or shape
/// differs from its type, naming its index and both shapes; an op with no
/// reference kernel; a kernel's error message) and returns failure().
template <typename T>
FailureOr<SmallVector<RefValue<T>>>
executeReference(func::FuncOp func, ArrayRef<RefValue<T>> arguments);

extern template FailureOr<SmallVector<RefValue<float>>>
    executeReference<float>(func::FuncOp, ArrayRef<RefValue<float>>);
extern template FailureOr<SmallVector<RefValue<double>>>
    executeReference<double>(func::FuncOp, ArrayRef<RefValue<double>>);

} // namespace mlir::simclr

#endif // SIMCLR_REFERENCE_REFERENCEEXECUTOR_H
