//===- SimclrModule.cpp - A whole TrainingSpec as a simclr module ---------===//
//
// Builds the three functions described in GraphBuilder.h. Every op carries
// the location of the spec key it came from ("augment[2]" for an
// augmentation, "encoder" for the network), so a verifier error on a built
// graph points into the spec file.
//
//===----------------------------------------------------------------------===//
#include "simclr/Frontend/GraphBuilder.h"

#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Frontend/SpecReader.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace mlir::simclr;

namespace simclr::frontend {

namespace {

/// The two views of every image that NT-Xent contrasts.
constexpr int64_t kNumViews = 2;
/// Function names of the built module.
constexpr llvm::StringLiteral kForwardLossName = "forward_loss";
constexpr llvm::StringLiteral kOptimizerUpdateName = "optimizer_update";
constexpr llvm::StringLiteral kEncodeName = ::simclr::program_name::kEncode;
/// Prefix of the projection head's parameter names.
constexpr llvm::StringLiteral kHeadPrefix = "projector.";

Location locationOf(MLIRContext &context, const TrainingSpec &spec,
                    const std::string &key) {
  SourceLoc loc = spec.locationOf(key);
  if (loc.file.empty())
    return NameLoc::get(StringAttr::get(&context, key));
  return FileLineColLoc::get(&context, loc.file, loc.line, loc.column);
}

Type elementTypeOf(MLIRContext &context, ElementType type) {
  switch (type) {
  case ElementType::kF32:
    return Float32Type::get(&context);
  case ElementType::kBF16:
    return BFloat16Type::get(&context);
  case ElementType::kF16:
    return Float16Type::get(&context);
  }
  llvm_unreachable("unknown element type");
}

RankedTensorType imageBatchType(MLIRContext &context, int64_t batch, int64_t channels,
                                int64_t height, int64_t width) {
  return RankedTensorType::get({batch, channels, height, width},
                               IntegerType::get(&context, 8, IntegerType::Unsigned));
}

func::FuncOp createFunction(ModuleOp module, StringRef name, Location loc) {
  OpBuilder builder(module.getBodyRegion());
  builder.setInsertionPointToEnd(module.getBody());
  auto func = builder.create<func::FuncOp>(loc, name, builder.getFunctionType({}, {}));
  func.addEntryBlock();
  return func;
}

/// Applies one augmentation step to a view.
Value buildAugmentation(OpBuilder &b, Location loc, const AugmentationSpec &aug,
                        Value key, Value x) {
  auto f64 = [&](double v) { return b.getF64FloatAttr(v); };
  auto range = [&](const std::array<double, 2> &r) {
    return b.getDenseF64ArrayAttr({r[0], r[1]});
  };
  auto type = cast<RankedTensorType>(x.getType());
  switch (aug.kind) {
  case AugmentationKind::kRandomResizedCrop: {
    std::array<int64_t, 2> size = aug.size.value_or(
        std::array<int64_t, 2>{type.getDimSize(2), type.getDimSize(3)});
    return b.create<RandomResizedCropOp>(loc, key, x, range(aug.scale), range(aug.ratio),
                                         b.getDenseI64ArrayAttr({size[0], size[1]}));
  }
  case AugmentationKind::kHorizontalFlip:
    return b.create<HorizontalFlipOp>(loc, key, x, f64(aug.probability));
  case AugmentationKind::kColorJitter:
    return b.create<ColorJitterOp>(loc, key, x, f64(aug.brightness), f64(aug.contrast),
                                   f64(aug.saturation), f64(aug.hue), f64(aug.probability));
  case AugmentationKind::kRandomGrayscale:
    return b.create<RandomGrayscaleOp>(loc, key, x, f64(aug.probability));
  case AugmentationKind::kGaussianBlur:
    return b.create<GaussianBlurOp>(loc, key, x, b.getI64IntegerAttr(aug.kernelSize),
                                    range(aug.sigma), f64(aug.probability));
  case AugmentationKind::kNormalize:
    return b.create<NormalizeOp>(loc, x, b.getDenseF64ArrayAttr(aug.mean),
                                 b.getDenseF64ArrayAttr(aug.std));
  }
  llvm_unreachable("unknown augmentation");
}

/// Adds the uint8 images and RNG key arguments and returns the 2N batch of
/// two augmented views.
Value buildAugmentedViews(NetworkBuilder &net, const TrainingSpec &spec,
                          Type elementType) {
  MLIRContext &context = *elementType.getContext();
  OpBuilder &b = net.builder();
  const DataSpec &data = spec.data;
  Value images = net.addArgument(
      imageBatchType(context, data.batchSize, data.channels, data.height, data.width),
      kKindImages, "images");
  Value key = net.addArgument(RngKeyType::get(&context), kKindRngKey, "rng_key");
  Value pixels = b.create<ImageToFloatOp>(
      net.loc(),
      RankedTensorType::get({data.batchSize, data.channels, data.height, data.width},
                            elementType),
      images);

  // Each view gets its own key, and each random step of a view a key of its
  // own, so adding or reordering steps never correlates two draws.
  SmallVector<Value, kNumViews> views;
  for (int64_t view = 0; view < kNumViews; ++view) {
    Value viewKey = b.create<RngFoldInOp>(net.loc(), key, b.getI64IntegerAttr(view));
    Value x = pixels;
    for (auto [index, aug] : llvm::enumerate(spec.augmentations)) {
      Location loc = locationOf(context, spec, "augment[" + std::to_string(index) + "]");
      Value stepKey = b.create<RngFoldInOp>(loc, viewKey, b.getI64IntegerAttr(index));
      x = buildAugmentation(b, loc, aug, stepKey, x);
    }
    views.push_back(x);
  }
  return b.create<ConcatOp>(net.loc(), views, b.getI64IntegerAttr(0));
}

void buildForwardLoss(ModuleOp module, const TrainingSpec &spec, Type elementType,
                      const BuildOptions &options) {
  MLIRContext &context = *module.getContext();
  Location specLoc = locationOf(context, spec, "");
  func::FuncOp func = createFunction(module, kForwardLossName, specLoc);
  NetworkBuilder net(func, NormMode::kTrain, elementType, spec.encoder.bnEpsilon,
                     spec.encoder.bnMomentum);
  OpBuilder &b = net.builder();
  const DataSpec &data = spec.data;

  net.setLoc(locationOf(context, spec, "data"));
  Value batch;
  if (options.viewsAsInput) {
    auto [height, width] = encoderInputSize(spec);
    batch = net.addArgument(RankedTensorType::get({kNumViews * data.batchSize,
                                                   data.channels, height, width},
                                                  elementType),
                            kKindImages, "views");
  } else {
    batch = buildAugmentedViews(net, spec, elementType);
  }

  net.setLoc(locationOf(context, spec, "encoder"));
  Value features = net.resnetEncoder(batch, spec.encoder);
  net.setLoc(locationOf(context, spec, "head"));
  Value embeddings = net.projectionHead(features, spec.head);
  net.setLoc(locationOf(context, spec, "loss"));
  Value loss = b.create<NtXentOp>(net.loc(), embeddings,
                                  b.getF64FloatAttr(spec.loss.temperature));
  net.finish({loss}, {kKindLoss});
}

/// A parameter of @forward_loss: what the optimizer needs to know of it.
struct ParameterDesc {
  StringAttr name;
  StringAttr role;
  Type type;
};

SmallVector<ParameterDesc> parametersOf(func::FuncOp func) {
  SmallVector<ParameterDesc> params;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto kind = func.getArgAttrOfType<StringAttr>(i, kKindAttrName);
    if (!kind || kind.getValue() != kKindParameter)
      continue;
    params.push_back({func.getArgAttrOfType<StringAttr>(i, kNameAttrName),
                      func.getArgAttrOfType<StringAttr>(i, kRoleAttrName),
                      func.getArgumentTypes()[i]});
  }
  return params;
}

void buildOptimizerUpdate(ModuleOp module, const TrainingSpec &spec,
                          ArrayRef<ParameterDesc> params) {
  MLIRContext &context = *module.getContext();
  Location loc = locationOf(context, spec, "optimizer");
  func::FuncOp func = createFunction(module, kOptimizerUpdateName, loc);
  OpBuilder b(func.getBody());
  Block &entry = func.getBody().front();
  const OptimizerSpec &opt = spec.optimizer;

  SmallVector<DictionaryAttr> argAttrs;
  auto addArg = [&](Type type, StringRef kind, StringRef name) {
    Value arg = entry.addArgument(type, loc);
    argAttrs.push_back(getKindAndNameAttrs(&context, kind, name));
    return arg;
  };

  Value step = addArg(RankedTensorType::get({}, b.getI64Type()), kKindStep, "step");
  SmallVector<Value> paramArgs, gradArgs;
  for (const ParameterDesc &p : params)
    paramArgs.push_back(addArg(p.type, kKindParameter, p.name.getValue()));
  for (const ParameterDesc &p : params)
    gradArgs.push_back(addArg(p.type, kKindGradient, p.name.getValue()));
  // Optimizer state, named as torch.optim's state_dict keys per parameter.
  SmallVector<StringRef, 2> stateNames;
  if (opt.kind == OptimizerKind::kAdamW)
    stateNames = {"exp_avg", "exp_avg_sq"};
  else
    stateNames = {"momentum_buffer"};
  SmallVector<SmallVector<Value, 2>> stateArgs(params.size());
  for (StringRef stateName : stateNames)
    for (auto [index, p] : llvm::enumerate(params))
      stateArgs[index].push_back(addArg(p.type, kKindOptimizerState,
                                        (p.name.getValue() + "." + stateName).str()));

  ScheduleSpec schedule = spec.schedule;
  double finalLr = opt.learningRate * schedule.finalLearningRateFraction;
  Value lr = b.create<LrScheduleOp>(
      locationOf(context, spec, "schedule"), step, b.getF64FloatAttr(opt.learningRate),
      b.getF64FloatAttr(finalLr), b.getI64IntegerAttr(spec.warmupSteps()),
      b.getI64IntegerAttr(spec.totalSteps()),
      b.getI64IntegerAttr(spec.stepsPerEpoch()));

  SmallVector<Value> newParams;
  SmallVector<SmallVector<Value, 2>> newStates(params.size());
  for (auto [index, p] : llvm::enumerate(params)) {
    // SimCLR's LARS always exempts biases and batch-norm parameters; the
    // other optimizers do when the spec asks.
    bool exempt = p.role && p.role.getValue() != "weight" &&
                  (opt.excludeBiasAndNorm || opt.kind == OptimizerKind::kLars);
    FloatAttr weightDecay = b.getF64FloatAttr(exempt ? 0.0 : opt.weightDecay);
    Value param = paramArgs[index], grad = gradArgs[index];
    ArrayRef<Value> state = stateArgs[index];
    switch (opt.kind) {
    case OptimizerKind::kSgd: {
      auto update = b.create<SgdUpdateOp>(loc, param, grad, state[0], lr,
                                          b.getF64FloatAttr(opt.momentum), weightDecay);
      newParams.push_back(update.getNewParam());
      newStates[index].push_back(update.getNewMomentumBuffer());
      break;
    }
    case OptimizerKind::kAdamW: {
      auto update = b.create<AdamWUpdateOp>(
          loc, param, grad, state[0], state[1], lr, step, b.getF64FloatAttr(opt.beta1),
          b.getF64FloatAttr(opt.beta2), b.getF64FloatAttr(opt.epsilon), weightDecay);
      newParams.push_back(update.getNewParam());
      newStates[index].push_back(update.getNewExpAvg());
      newStates[index].push_back(update.getNewExpAvgSq());
      break;
    }
    case OptimizerKind::kLars: {
      auto update = b.create<LarsUpdateOp>(
          loc, param, grad, state[0], lr, b.getF64FloatAttr(opt.momentum), weightDecay,
          b.getF64FloatAttr(opt.trustCoefficient), b.getBoolAttr(!exempt));
      newParams.push_back(update.getNewParam());
      newStates[index].push_back(update.getNewMomentumBuffer());
      break;
    }
    }
  }

  // Results: parameters', then each kind of state in the argument order, then lr.
  SmallVector<Value> results(newParams);
  SmallVector<DictionaryAttr> resultAttrs;
  auto resultAttr = [&](StringRef kind, StringRef name) {
    return getKindAndNameAttrs(&context, kind, name);
  };
  for (const ParameterDesc &p : params)
    resultAttrs.push_back(resultAttr(kKindParameter, p.name.getValue()));
  for (auto [stateIndex, stateName] : llvm::enumerate(stateNames)) {
    for (auto [index, p] : llvm::enumerate(params)) {
      results.push_back(newStates[index][stateIndex]);
      resultAttrs.push_back(resultAttr(kKindOptimizerState,
                                       (p.name.getValue() + "." + stateName).str()));
    }
  }
  results.push_back(lr);
  resultAttrs.push_back(resultAttr(kKindLearningRate, "lr"));
  b.create<func::ReturnOp>(loc, results);

  SmallVector<Type> resultTypes;
  for (Value v : results)
    resultTypes.push_back(v.getType());
  func.setType(b.getFunctionType(entry.getArgumentTypes(), resultTypes));
  func.setAllArgAttrs(argAttrs);
  func.setAllResultAttrs(resultAttrs);
}

void buildEncode(ModuleOp module, const TrainingSpec &spec, Type elementType) {
  MLIRContext &context = *module.getContext();
  func::FuncOp func = createFunction(module, kEncodeName, locationOf(context, spec, ""));
  NetworkBuilder net(func, NormMode::kInference, elementType, spec.encoder.bnEpsilon,
                     spec.encoder.bnMomentum);
  OpBuilder &b = net.builder();
  auto [height, width] = encoderInputSize(spec);
  const DataSpec &data = spec.data;
  net.setLoc(locationOf(context, spec, "data"));
  Value images = net.addArgument(
      imageBatchType(context, data.batchSize, data.channels, height, width), kKindImages,
      "images");
  Value x = b.create<ImageToFloatOp>(
      net.loc(),
      RankedTensorType::get({data.batchSize, data.channels, height, width}, elementType),
      images);
  // Evaluation sees the training distribution's normalization, no randomness.
  for (auto [index, aug] : llvm::enumerate(spec.augmentations))
    if (aug.kind == AugmentationKind::kNormalize)
      x = b.create<NormalizeOp>(
          locationOf(context, spec, "augment[" + std::to_string(index) + "]"), x,
          b.getDenseF64ArrayAttr(aug.mean), b.getDenseF64ArrayAttr(aug.std));
  net.setLoc(locationOf(context, spec, "encoder"));
  Value features = net.resnetEncoder(x, spec.encoder);
  net.finish({features}, {kKindFeatures});
}

} // namespace

FailureOr<OwningOpRef<ModuleOp>> buildSimclrModule(MLIRContext &context,
                                                   const TrainingSpec &spec,
                                                   const BuildOptions &options) {
  context.loadDialect<SimclrDialect, func::FuncDialect>();
  Location loc = locationOf(context, spec, "");
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc, spec.name);

  Type elementType = elementTypeOf(context, spec.data.elementType);
  buildForwardLoss(*module, spec, elementType, options);
  auto forward = module->lookupSymbol<func::FuncOp>(kForwardLossName);
  buildOptimizerUpdate(*module, spec, parametersOf(forward));
  buildEncode(*module, spec, elementType);
  if (failed(verify(*module)))
    return failure();
  return module;
}

FailureOr<ParameterCounts> countParameters(ModuleOp module) {
  auto forward = module.lookupSymbol<func::FuncOp>(kForwardLossName);
  if (!forward)
    return module.emitError() << "no @" << kForwardLossName << " function to count";
  ParameterCounts counts;
  for (const ParameterDesc &p : parametersOf(forward)) {
    int64_t elements = cast<RankedTensorType>(p.type).getNumElements();
    if (p.name && p.name.getValue().starts_with(kHeadPrefix))
      counts.head += elements;
    else
      counts.encoder += elements;
  }
  return counts;
}

} // namespace simclr::frontend
