//===- SimclrDialect.h - The simclr graph-level dialect ----------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDIALECT_H
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Dialect.h"
#include "simclr/Support/Vocabulary.h"

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

// The value kinds, spelled once in lib/ (simclr/Support/Vocabulary.h):
// the runtime reads the same words back from plan.json.
constexpr llvm::StringLiteral kKindImages = ::simclr::value_kind::kImages;
constexpr llvm::StringLiteral kKindRngKey = ::simclr::value_kind::kRngKey;
constexpr llvm::StringLiteral kKindParameter = ::simclr::value_kind::kParameter;
constexpr llvm::StringLiteral kKindRunningStat = ::simclr::value_kind::kRunningStat;
constexpr llvm::StringLiteral kKindStep = ::simclr::value_kind::kStep;
constexpr llvm::StringLiteral kKindGradient = ::simclr::value_kind::kGradient;
constexpr llvm::StringLiteral kKindOptimizerState = ::simclr::value_kind::kOptimizerState;
constexpr llvm::StringLiteral kKindLoss = ::simclr::value_kind::kLoss;
constexpr llvm::StringLiteral kKindLearningRate = ::simclr::value_kind::kLearningRate;
constexpr llvm::StringLiteral kKindFeatures = ::simclr::value_kind::kFeatures;

/// Parameters, optimizer state and running statistics: the values a train
/// step reads and writes back, which persist between steps.
inline bool isStateKind(StringRef kind) {
  return ::simclr::isStateKind(std::string_view(kind.data(), kind.size()));
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
