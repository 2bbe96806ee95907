//===- KernelPrinter.h - Kernel descriptions printed as C++ or CUDA C++ -*- C++ -*-===//
//
// Every target whose kernels are C++-like source prints a
// `simclr_kernel.kernel` the same way: operand pointers `a<i>` (inputs),
// `o<j>` (outputs), `s<k>` (scratch); an expression per elementwise op of
// the element index `i`; an anchor as a call of the template of the same
// name in the target's template namespace, with the shapes as literals,
// the prologue as a `float(int64_t)` lambda and the epilogue as a
// `float(int64_t, float)` lambda. What differs between the CPU's C++ and
// CUDA C++ (the loop over elements, copies, code that runs once, the
// phase argument of a GPU template) is a KernelLanguage. The printer
// returns the function body and the template calls it made, from which a
// GPU target derives the kernel's launches.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TARGET_KERNELPRINTER_H
#define SIMCLR_TARGET_KERNELPRINTER_H

#include "simclr/Dialect/Kernel/IR/KernelOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::simclr_kernel {

/// The words of one target's kernel language.
class KernelLanguage {
public:
  virtual ~KernelLanguage();
  /// For messages: "CPU", "CUDA".
  virtual StringRef name() const = 0;
  /// Namespace of the kernel templates: "simclr::cpu".
  virtual StringRef templateNamespace() const = 0;
  /// Printed first in every template call's arguments ("" or "phase, ").
  virtual StringRef phaseArgument() const = 0;
  /// Declares an array of constants local to the kernel:
  /// "static const float" on the CPU.
  virtual StringRef constantArray() const = 0;
  /// Opens the loop over the element index `i` of an elementwise kernel of
  /// `count` elements (the printer closes it with "  }").
  virtual std::string elementLoop(int64_t count) const = 0;
  /// Copies a yielded input through to its output buffer (`bytes` bytes).
  virtual std::string copyThrough(StringRef to, StringRef from,
                                  int64_t bytes) const = 0;
  /// Copies an optimizer's old value into the buffer of its new value when
  /// the two differ, before the update.
  virtual std::string copyOldValue(StringRef to, StringRef from,
                                   int64_t bytes) const = 0;
  /// The phase argument of the optimizer template, which on a GPU runs
  /// after the copies.
  virtual StringRef optimizerPhaseArgument() const = 0;
  /// Wraps the optimizer template's call statement.
  virtual std::string optimizerUpdate(StringRef statement) const = 0;
  /// A statement that must run exactly once (a scalar result).
  virtual std::string once(StringRef statement) const = 0;
  /// The type of an operand pointer's elements ("float", "int64_t", ...);
  /// empty for a type the language cannot express.
  virtual std::string elementType(Type type) const;
};

/// A template the body calls, with the integer arguments that decide its
/// work: the channel block X first where the template has one, then its
/// leading integer arguments (Kernels/Cuda/Launch.h's launchesOf takes
/// exactly these).
struct TemplateCall {
  std::string name;
  std::vector<int64_t> dims;
};

struct PrintedKernel {
  /// Declarations of the operand pointers from `operands`, then the
  /// kernel's code.
  std::string body;
  std::vector<TemplateCall> calls;
  /// Elementwise kernels: the element count (also calls[0]).
  int64_t elements = 0;
  /// The largest copy the body makes before its templates run (copied
  /// inputs, optimizer old values); 0 when none.
  int64_t copyBytes = 0;
};

/// Prints `kernel` (described, layouts assigned) in `language`; a
/// description the language cannot express is an error at the kernel.
FailureOr<PrintedKernel> printKernelBody(KernelOp kernel,
                                         const KernelLanguage &language);

/// A double as a C++ literal that round-trips exactly.
std::string doubleLiteral(double value);

} // namespace mlir::simclr_kernel

#endif // SIMCLR_TARGET_KERNELPRINTER_H
