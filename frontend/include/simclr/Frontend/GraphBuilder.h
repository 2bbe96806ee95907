//===- GraphBuilder.h - C++ API that builds simclr graphs --------*- C++ -*-===//
//
// Two levels of API:
//   * NetworkBuilder: layer by layer (conv2d, batchNorm, linear, ...) inside
//     a func.func whose arguments it grows as parameters are declared, with
//     torchvision state_dict names. resnetEncoder() and projectionHead() are
//     built from it; users can assemble other networks the same way.
//   * buildSimclrModule(): a whole TrainingSpec as one module of three
//     functions (see its comment), which is what `simclrc --emit=graph`
//     prints.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_FRONTEND_GRAPHBUILDER_H
#define SIMCLR_FRONTEND_GRAPHBUILDER_H

#include "simclr/Frontend/TrainingSpec.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace simclr::frontend {

/// How batch norm behaves in the function being built.
enum class NormMode {
  /// Batch statistics; running statistics become extra results.
  kTrain,
  /// Running statistics as inputs (feature extraction).
  kInference,
};

/// Builds layers into the body of one func.func, adding an argument for
/// every parameter and running statistic it declares.
class NetworkBuilder {
public:
  /// `func` must have an entry block; new ops are appended to it.
  NetworkBuilder(mlir::func::FuncOp func, NormMode mode, mlir::Type elementType,
                 double bnEpsilon = 1e-5, double bnMomentum = 0.1);

  /// Declares a function argument. `kind` is one of the simclr::kKind*
  /// strings; `role` and `init` may be empty.
  mlir::Value addArgument(mlir::Type type, llvm::StringRef kind,
                          llvm::StringRef name, llvm::StringRef role = {},
                          llvm::StringRef init = {}, int64_t fanIn = 0);
  /// Declares a trainable parameter; `fanIn` (> 0) is recorded for
  /// initializers that need it.
  mlir::Value parameter(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                        llvm::StringRef role, llvm::StringRef init, int64_t fanIn = 0);

  // Layers. `name` is the torchvision module path ("layer1.0.conv1").
  mlir::Value conv2d(mlir::Value input, llvm::StringRef name, int64_t filters,
                     int64_t kernel, int64_t stride, int64_t padding);
  mlir::Value batchNorm(mlir::Value input, llvm::StringRef name);
  mlir::Value linear(mlir::Value input, llvm::StringRef name, int64_t outputs,
                     bool bias);
  mlir::Value relu(mlir::Value input);
  mlir::Value add(mlir::Value lhs, mlir::Value rhs);
  mlir::Value maxPool(mlir::Value input, int64_t kernel, int64_t stride,
                      int64_t padding);
  mlir::Value globalAvgPool(mlir::Value input);

  /// The ResNet encoder f: returns h (N x D), with torchvision's names.
  mlir::Value resnetEncoder(mlir::Value images, const EncoderSpec &spec);
  /// The projection head g as an nn.Sequential named `projector`.
  mlir::Value projectionHead(mlir::Value features, const HeadSpec &spec);

  /// Appends func.return of `results` plus, in train mode, the updated
  /// running statistics; sets the function type and argument/result
  /// attributes. `resultKinds` names the kind of each of `results`.
  void finish(mlir::ValueRange results, llvm::ArrayRef<llvm::StringRef> resultKinds);

  mlir::OpBuilder &builder() { return builder_; }
  mlir::Location loc() const { return loc_; }
  /// Location given to the ops built from now on (e.g. a spec key's).
  void setLoc(mlir::Location loc) { loc_ = loc; }
  mlir::Type elementType() const { return elementType_; }

private:
  mlir::RankedTensorType tensorType(llvm::ArrayRef<int64_t> shape) const;
  mlir::Value resnetBlock(mlir::Value input, const std::string &name,
                          int64_t width, int64_t stride, BlockKind block);

  mlir::func::FuncOp func_;
  mlir::OpBuilder builder_;
  mlir::Location loc_;
  NormMode mode_;
  mlir::Type elementType_;
  double bnEpsilon_;
  double bnMomentum_;
  std::vector<mlir::NamedAttrList> argAttrs_;
  /// Train mode: updated running statistics, returned after the results.
  std::vector<mlir::Value> runningStatResults_;
  std::vector<std::string> runningStatNames_;
};

/// Output channels of the encoder (the dimension of h).
int64_t encoderFeatureDim(const EncoderSpec &spec);

/// Choices in how buildSimclrModule lays out the graph.
struct BuildOptions {
  /// @forward_loss takes the two augmented views as one floating-point
  /// 2N x C x h x w argument (first views in rows [0, N)) instead of uint8
  /// images and an RNG key: for an input pipeline that augments outside the
  /// graph, and for tests that feed fixed views.
  bool viewsAsInput = false;
};

/// Builds the module of a validated spec:
///   func.func @forward_loss(images: N x C x H x W ui8, rng_key, parameters...,
///                           running statistics...) -> (loss, running statistics')
///     two augmented views, encoder and head over the 2N batch, NT-Xent;
///   func.func @optimizer_update(step, parameters..., gradients...,
///                               optimizer state...) -> (parameters',
///                               optimizer state', learning rate)
///     the learning-rate schedule and one update op per parameter;
///   func.func @encode(images: N x C x h x w ui8, encoder parameters...,
///                     running statistics...) -> h
///     feature extraction: conversion, normalization, encoder with batch
///     norm in inference mode.
/// Argument and result attributes (simclr.kind, simclr.name, ...) say what
/// each value is. Reports errors through the context's diagnostic engine.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
buildSimclrModule(mlir::MLIRContext &context, const TrainingSpec &spec,
                  const BuildOptions &options = {});

/// Exact trainable parameter counts of a built module's @forward_loss.
struct ParameterCounts {
  int64_t encoder = 0;
  int64_t head = 0;
  int64_t total() const { return encoder + head; }
};
mlir::FailureOr<ParameterCounts> countParameters(mlir::ModuleOp module);

} // namespace simclr::frontend

#endif // SIMCLR_FRONTEND_GRAPHBUILDER_H
