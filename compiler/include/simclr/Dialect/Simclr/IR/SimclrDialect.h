//===- SimclrDialect.h - The simclr graph-level dialect ----------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDIALECT_H
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Dialect.h"

#include "simclr/Dialect/Simclr/IR/SimclrDialect.h.inc"

namespace mlir::simclr {

/// Argument and result attributes of the functions the frontend builds. They
/// say what each value is, so later passes (autodiff, the artifact writer)
/// find parameters and state without guessing from positions.
///
/// `simclr.kind`: one of the kArgKind* strings below.
constexpr llvm::StringLiteral kKindAttrName = "simclr.kind";
/// `simclr.name`: the tensor's name, torchvision state_dict style
/// ("layer1.0.conv1.weight", "projector.0.bias").
constexpr llvm::StringLiteral kNameAttrName = "simclr.name";
/// `simclr.role` of a parameter: "weight", "bias" or "norm" (batch-norm
/// scale and shift). Biases and norms may be excluded from weight decay.
constexpr llvm::StringLiteral kRoleAttrName = "simclr.role";
/// `simclr.init`: how the runtime initializes a parameter or statistic
/// ("kaiming_normal_fan_out", "uniform_fan_in", "ones", "zeros").
constexpr llvm::StringLiteral kInitAttrName = "simclr.init";
/// `simclr.fan_in` (i64) of a "uniform_fan_in" parameter: its layer's input
/// width, which a bias cannot know from its own shape.
constexpr llvm::StringLiteral kFanInAttrName = "simclr.fan_in";

/// The attribute dictionary {simclr.kind = kind, simclr.name = name} of a
/// function argument or result; `name` is omitted when empty.
DictionaryAttr getKindAndNameAttrs(MLIRContext *context, StringRef kind,
                                   StringRef name = {});

constexpr llvm::StringLiteral kKindImages = "images";
constexpr llvm::StringLiteral kKindRngKey = "rng_key";
constexpr llvm::StringLiteral kKindParameter = "parameter";
constexpr llvm::StringLiteral kKindRunningStat = "running_stat";
constexpr llvm::StringLiteral kKindStep = "step";
constexpr llvm::StringLiteral kKindGradient = "gradient";
constexpr llvm::StringLiteral kKindOptimizerState = "optimizer_state";
constexpr llvm::StringLiteral kKindLoss = "loss";
constexpr llvm::StringLiteral kKindLearningRate = "learning_rate";
constexpr llvm::StringLiteral kKindFeatures = "features";

/// Parameters, optimizer state and running statistics: the values a train
/// step reads and writes back, which persist between steps.
inline bool isStateKind(StringRef kind) {
  return kind == kKindParameter || kind == kKindOptimizerState ||
         kind == kKindRunningStat;
}

/// The string attribute `name` of an argument or result attribute
/// dictionary (which may be null); empty when absent.
inline StringRef getStringAttrOr(DictionaryAttr attrs, StringRef name) {
  if (!attrs)
    return {};
  if (auto value = attrs.getAs<StringAttr>(name))
    return value.getValue();
  return {};
}

} // namespace mlir::simclr

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDIALECT_H
