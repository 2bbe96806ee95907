//===- BuildTrainStep.cpp - @forward_backward + @optimizer_update ---------===//
//
// Implements `simclr-build-train-step`:
//   1. Index @forward_backward's parameter arguments and gradient results,
//      and @optimizer_update's arguments, by simclr.name.
//   2. Create @train_step with arguments in the documented order, each
//      keeping its simclr.* attributes.
//   3. Clone @forward_backward's body, then @optimizer_update's body with
//      its gradient arguments mapped to the cloned gradients.
//   4. Return parameters', optimizer state', running statistics', loss and
//      lr, and erase the two consumed functions.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLRBUILDTRAINSTEP
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;

namespace {

constexpr llvm::StringLiteral kForwardBackwardName = "forward_backward";
constexpr llvm::StringLiteral kOptimizerUpdateName = "optimizer_update";
constexpr llvm::StringLiteral kTrainStepName = ::simclr::program_name::kTrainStep;

StringRef kindOf(DictionaryAttr attrs) {
  auto kind = attrs ? attrs.getAs<StringAttr>(kKindAttrName) : StringAttr();
  return kind ? kind.getValue() : StringRef();
}

StringRef nameOf(DictionaryAttr attrs) {
  auto name = attrs ? attrs.getAs<StringAttr>(kNameAttrName) : StringAttr();
  return name ? name.getValue() : StringRef();
}

/// Arguments of the new function, gathered before it exists.
struct ArgumentList {
  SmallVector<Type> types;
  SmallVector<DictionaryAttr> attrs;
  unsigned add(Type type, DictionaryAttr attr) {
    types.push_back(type);
    attrs.push_back(attr);
    return types.size() - 1;
  }
};

LogicalResult buildTrainStep(ModuleOp module) {
  auto forward = module.lookupSymbol<func::FuncOp>(kForwardBackwardName);
  auto update = module.lookupSymbol<func::FuncOp>(kOptimizerUpdateName);
  if (!forward || !update)
    return module.emitError() << "simclr-build-train-step needs @" << kForwardBackwardName
                              << " (run simclr-autodiff first) and @"
                              << kOptimizerUpdateName;
  if (module.lookupSymbol(kTrainStepName))
    return module.emitError() << "@" << kTrainStepName << " already exists";

  // Step 1 and 2: parameters, optimizer state, running statistics, the other
  // inputs of the forward pass (images, rng_key), step.
  ArgumentList args;
  llvm::StringMap<unsigned> parameterArg;
  DenseMap<unsigned, unsigned> forwardArgToNew, updateArgToNew;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
    DictionaryAttr attrs = forward.getArgAttrDict(i);
    if (kindOf(attrs) != kKindParameter)
      continue;
    unsigned index = args.add(forward.getArgumentTypes()[i], attrs);
    forwardArgToNew[i] = index;
    parameterArg[nameOf(attrs)] = index;
  }
  for (unsigned i = 0; i < update.getNumArguments(); ++i) {
    DictionaryAttr attrs = update.getArgAttrDict(i);
    if (kindOf(attrs) == kKindOptimizerState)
      updateArgToNew[i] = args.add(update.getArgumentTypes()[i], attrs);
  }
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    if (kindOf(forward.getArgAttrDict(i)) == kKindRunningStat)
      forwardArgToNew[i] = args.add(forward.getArgumentTypes()[i], forward.getArgAttrDict(i));
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    if (!forwardArgToNew.count(i))
      forwardArgToNew[i] = args.add(forward.getArgumentTypes()[i], forward.getArgAttrDict(i));
  for (unsigned i = 0; i < update.getNumArguments(); ++i)
    if (kindOf(update.getArgAttrDict(i)) == kKindStep)
      updateArgToNew[i] = args.add(update.getArgumentTypes()[i], update.getArgAttrDict(i));

  OpBuilder builder(module.getContext());
  builder.setInsertionPointAfter(update);
  auto trainStep = builder.create<func::FuncOp>(forward.getLoc(), kTrainStepName,
                                                builder.getFunctionType(args.types, {}));
  Block *body = trainStep.addEntryBlock();
  builder.setInsertionPointToEnd(body);

  // Step 3: the forward and backward pass.
  IRMapping forwardMapping;
  for (auto [from, to] : forwardArgToNew)
    forwardMapping.map(forward.getArgument(from), body->getArgument(to));
  for (Operation &op : forward.front().without_terminator())
    builder.clone(op, forwardMapping);
  auto forwardReturn = cast<func::ReturnOp>(forward.front().getTerminator());
  llvm::StringMap<Value> gradientByName;
  Value loss;
  SmallVector<std::pair<Value, DictionaryAttr>> runningStats;
  for (auto [index, operand] : llvm::enumerate(forwardReturn.getOperands())) {
    DictionaryAttr attrs = forward.getResultAttrDict(index);
    Value value = forwardMapping.lookupOrDefault(operand);
    StringRef kind = kindOf(attrs);
    if (kind == kKindGradient)
      gradientByName[nameOf(attrs)] = value;
    else if (kind == kKindLoss)
      loss = value;
    else if (kind == kKindRunningStat)
      runningStats.push_back({value, attrs});
  }

  // The optimizer update, fed the gradients by name.
  IRMapping updateMapping;
  for (unsigned i = 0; i < update.getNumArguments(); ++i) {
    DictionaryAttr attrs = update.getArgAttrDict(i);
    StringRef kind = kindOf(attrs), name = nameOf(attrs);
    Value value;
    if (updateArgToNew.count(i)) {
      value = body->getArgument(updateArgToNew[i]);
    } else if (kind == kKindParameter) {
      auto it = parameterArg.find(name);
      if (it == parameterArg.end()) {
        trainStep.erase();
        return update.emitError() << "updates parameter '" << name
                                  << "', which @" << kForwardBackwardName << " lacks";
      }
      value = body->getArgument(it->second);
    } else if (kind == kKindGradient) {
      value = gradientByName.lookup(name);
      if (!value) {
        trainStep.erase();
        return forward.emitError() << "has no gradient for parameter '" << name << "'";
      }
    } else {
      trainStep.erase();
      return update.emitError() << "argument " << i << " has unexpected simclr.kind '"
                                << kind << "'";
    }
    updateMapping.map(update.getArgument(i), value);
  }
  for (Operation &op : update.front().without_terminator())
    builder.clone(op, updateMapping);

  // Step 4: parameters' and optimizer state' (the update's results in its
  // order), running statistics', loss, lr.
  auto updateReturn = cast<func::ReturnOp>(update.front().getTerminator());
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resultAttrs;
  Value lr;
  DictionaryAttr lrAttrs;
  for (auto [index, operand] : llvm::enumerate(updateReturn.getOperands())) {
    DictionaryAttr attrs = update.getResultAttrDict(index);
    Value value = updateMapping.lookupOrDefault(operand);
    if (kindOf(attrs) == kKindLearningRate) {
      lr = value;
      lrAttrs = attrs;
      continue;
    }
    results.push_back(value);
    resultAttrs.push_back(attrs);
  }
  for (auto [value, attrs] : runningStats) {
    results.push_back(value);
    resultAttrs.push_back(attrs);
  }
  if (!loss || !lr) {
    trainStep.erase();
    return module.emitError() << "simclr-build-train-step needs a loss result in @"
                              << kForwardBackwardName << " and an lr result in @"
                              << kOptimizerUpdateName;
  }
  results.push_back(loss);
  resultAttrs.push_back(getKindAndNameAttrs(module.getContext(), kKindLoss));
  results.push_back(lr);
  resultAttrs.push_back(lrAttrs);
  builder.create<func::ReturnOp>(forward.getLoc(), results);

  SmallVector<Type> resultTypes;
  for (Value v : results)
    resultTypes.push_back(v.getType());
  trainStep.setType(builder.getFunctionType(args.types, resultTypes));
  trainStep.setAllArgAttrs(args.attrs);
  trainStep.setAllResultAttrs(resultAttrs);
  forward.erase();
  update.erase();
  return success();
}

struct SimclrBuildTrainStepPass
    : mlir::simclr::impl::SimclrBuildTrainStepBase<SimclrBuildTrainStepPass> {
  void runOnOperation() override {
    if (failed(buildTrainStep(getOperation())))
      signalPassFailure();
  }
};

} // namespace
