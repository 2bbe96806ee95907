//===- Autodiff.cpp - Reverse-mode differentiation of simclr functions ----===//
//
// Implements `simclr-autodiff`:
//   1. Find the loss: the one result marked simclr.kind = "loss", 0-D.
//   2. Clone the function under the gradient function's name.
//   3. Activity analysis: a value is active if it depends on a parameter
//      argument (forward sweep) and the loss depends on it (backward sweep).
//   4. Seed d loss / d loss = 1 and walk the ops backwards; every op with a
//      gradient on one of its results builds its adjoint through
//      DifferentiableOpInterface (no switch over op kinds here). Gradients of
//      active operands are summed (fan-out accumulates).
//   5. Return the original results followed by each parameter's gradient
//      (zeros if it does not reach the loss).
//   6. Erase the ops left dead: adjoints of inactive operands (the gradient
//      of an augmented image, say) are built and then dropped here.
// The walks are loops over one block, so their depth does not grow with
// the network.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLRAUTODIFF
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;

namespace {

bool hasKind(DictionaryAttr attrs, StringRef kind) {
  auto value = attrs ? attrs.getAs<StringAttr>(kKindAttrName) : StringAttr();
  return value && value.getValue() == kind;
}

/// Finds the loss result (step 1).
FailureOr<unsigned> findLossResult(func::FuncOp func) {
  std::optional<unsigned> index;
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    if (!hasKind(func.getResultAttrDict(i), kKindLoss))
      continue;
    if (index)
      return func.emitError() << "has two results marked simclr.kind = \"loss\" ("
                              << *index << " and " << i << ")";
    index = i;
  }
  if (!index)
    return func.emitError() << "has no result marked simclr.kind = \"loss\"; "
                               "simclr-autodiff differentiates a scalar loss";
  auto type = cast<RankedTensorType>(func.getResultTypes()[*index]);
  if (type.getRank() != 0)
    return func.emitError() << "the loss must be a 0-D tensor to be differentiated, got "
                            << type;
  return *index;
}

/// Values that depend on a parameter and that the loss depends on (step 3).
DenseSet<Value> findActiveValues(Block &body, Value loss) {
  auto func = cast<func::FuncOp>(body.getParentOp());
  DenseSet<Value> varied;
  for (BlockArgument arg : body.getArguments()) {
    if (hasKind(func.getArgAttrDict(arg.getArgNumber()), kKindParameter))
      varied.insert(arg);
  }
  for (Operation &op : body.without_terminator())
    if (llvm::any_of(op.getOperands(), [&](Value v) { return varied.contains(v); }))
      varied.insert(op.result_begin(), op.result_end());

  DenseSet<Value> useful = {loss};
  for (Operation &op : llvm::reverse(body.without_terminator()))
    if (llvm::any_of(op.getResults(), [&](Value v) { return useful.contains(v); }))
      useful.insert(op.operand_begin(), op.operand_end());

  DenseSet<Value> active;
  for (Value v : varied)
    if (useful.contains(v))
      active.insert(v);
  return active;
}

/// Erases side-effect-free ops without uses, last first (step 6).
void eraseDeadOps(Block &body) {
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (isOpTriviallyDead(op))
      op->erase();
}

struct SimclrAutodiffPass : mlir::simclr::impl::SimclrAutodiffBase<SimclrAutodiffPass> {
  using SimclrAutodiffBase::SimclrAutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto source = module.lookupSymbol<func::FuncOp>(functionName);
    if (!source) {
      module.emitError() << "simclr-autodiff: no function @" << functionName
                         << " to differentiate";
      return signalPassFailure();
    }
    if (module.lookupSymbol(gradientFunctionName)) {
      source.emitError() << "simclr-autodiff: @" << gradientFunctionName
                         << " already exists";
      return signalPassFailure();
    }
    FailureOr<func::FuncOp> gradient =
        differentiateFunction(source, gradientFunctionName, &numAdjoints);
    if (failed(gradient))
      return signalPassFailure();
    if (replaceSource)
      source.erase();
  }
};

} // namespace

FailureOr<func::FuncOp> mlir::simclr::differentiateFunction(func::FuncOp source,
                                                            StringRef gradientName,
                                                            llvm::Statistic *adjointCounter) {
  FailureOr<unsigned> lossIndex = findLossResult(source);
  if (failed(lossIndex))
    return failure();

  // Step 2.
  func::FuncOp func = source.clone();
  func.setName(gradientName);
  SymbolTable(source->getParentOfType<ModuleOp>()).insert(func, ++Block::iterator(source));
  Block &body = func.front();
  auto terminator = cast<func::ReturnOp>(body.getTerminator());
  Value loss = terminator.getOperand(*lossIndex);
  DenseSet<Value> active = findActiveValues(body, loss);

  // Step 4.
  OpBuilder builder(terminator);
  DenseMap<Value, Value> gradients;
  gradients[loss] =
      builder.create<FillOp>(func.getLoc(), loss.getType(), builder.getF64FloatAttr(1.0));
  SmallVector<Operation *> forwardOps;
  for (Operation &op : body.without_terminator())
    forwardOps.push_back(&op);
  for (Operation *op : llvm::reverse(forwardOps)) {
    SmallVector<Value> resultGradients;
    for (Value result : op->getResults())
      resultGradients.push_back(gradients.lookup(result));
    if (llvm::all_of(resultGradients, [](Value v) { return !v; }))
      continue;
    auto differentiable = dyn_cast<DifferentiableOpInterface>(op);
    if (!differentiable) {
      op->emitOpError() << "has no adjoint; simclr-autodiff cannot propagate the "
                           "loss gradient through it";
      func.erase();
      return failure();
    }
    SmallVector<Value> operandGradients;
    if (failed(differentiable.buildAdjoint(builder, resultGradients, operandGradients))) {
      func.erase();
      return failure();
    }
    if (operandGradients.size() != op->getNumOperands()) {
      op->emitOpError() << "adjoint yielded " << operandGradients.size()
                        << " gradients for " << op->getNumOperands()
                        << " operands (a bug in its buildAdjoint)";
      func.erase();
      return failure();
    }
    if (adjointCounter)
      ++*adjointCounter;
    for (auto [index, operand] : llvm::enumerate(op->getOperands())) {
      Value grad = operandGradients[index];
      if (!grad || !active.contains(operand) ||
          !differentiable.isDifferentiableOperand(index))
        continue;
      Value &accumulated = gradients[operand];
      accumulated = accumulated ? builder.create<AddOp>(op->getLoc(), accumulated, grad)
                                : grad;
    }
  }

  // Step 5.
  SmallVector<Value> results(terminator.getOperands());
  SmallVector<DictionaryAttr> resultAttrs;
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    resultAttrs.push_back(func.getResultAttrDict(i));
  for (BlockArgument arg : body.getArguments()) {
    DictionaryAttr argAttrs = func.getArgAttrDict(arg.getArgNumber());
    if (!hasKind(argAttrs, kKindParameter))
      continue;
    Value grad = gradients.lookup(arg);
    if (!grad)
      grad = builder.create<FillOp>(func.getLoc(), arg.getType(),
                                    builder.getF64FloatAttr(0.0));
    results.push_back(grad);
    auto name = argAttrs.getAs<StringAttr>(kNameAttrName);
    resultAttrs.push_back(getKindAndNameAttrs(func.getContext(), kKindGradient,
                                              name ? name.getValue() : StringRef()));
  }
  builder.create<func::ReturnOp>(terminator.getLoc(), results);
  terminator.erase();
  SmallVector<Type> resultTypes;
  for (Value v : results)
    resultTypes.push_back(v.getType());
  func.setType(builder.getFunctionType(body.getArgumentTypes(), resultTypes));
  func.setAllResultAttrs(resultAttrs);

  eraseDeadOps(body);
  return func;
}
