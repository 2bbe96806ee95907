//===- SimclrFusionOps.cpp - Verifier of simclr.fusion and its four kinds -===//
//
// A simclr.fusion region is a contract for the emitters: each kind
// (elementwise, anchored, nt_xent, optimizer) admits the ops and the
// dataflow FusionOp's ODS description states, and FusionOp::verifyRegions checks
// them, naming the offending op. The other ops' verifiers and type
// inference are in SimclrOps.cpp.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Support/Format.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <optional>
#include <utility>

using namespace mlir;
using namespace mlir::simclr;
using ::simclr::formatShape;

namespace {

/// The anchors of an `anchored` fusion, as listed in FusionOp's description.
bool isFusionAnchor(Operation *op) {
  return isa<BatchNormTrainOp, BatchNormInferenceOp, BatchNormTrainBackwardOp,
             GlobalAvgPoolOp, GlobalAvgPoolBackwardOp, SumToChannelsOp, NormalizeOp,
             BatchNormStatisticsOp, BatchNormApplyOp, BatchNormBackwardStatisticsOp,
             BatchNormBackwardApplyOp>(op);
}

bool isElementwise(Operation *op) { return op->hasTrait<ElementwiseOp>(); }

/// Checks that every tensor `op` reads or writes has `shape` or is 0-D;
/// broadcast's input is exempt (it is an index remap).
LogicalResult verifyElementShape(FusionOp fusion, Operation *op, ArrayRef<int64_t> shape,
                                 StringRef role) {
  auto check = [&](Value value) -> LogicalResult {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || type.getRank() == 0 || type.getShape() == shape)
      return success();
    return fusion.emitOpError() << "holds " << role << " '" << op->getName() << "' on "
                                << formatShape(type.getShape()) << ", but the fusion iterates over "
                                << formatShape(shape);
  };
  if (!isa<BroadcastOp>(op))
    for (Value operand : op->getOperands())
      if (failed(check(operand)))
        return failure();
  for (Value result : op->getResults())
    if (failed(check(result)))
      return failure();
  return success();
}

LogicalResult verifyElementwiseFusion(FusionOp fusion) {
  std::optional<SmallVector<int64_t>> shape;
  for (Operation &op : fusion.getBodyBlock().without_terminator()) {
    if (!isElementwise(&op))
      return fusion.emitOpError() << "of kind elementwise holds '" << op.getName()
                                  << "', which is not elementwise";
    if (!shape)
      for (Value result : op.getResults())
        if (auto type = dyn_cast<RankedTensorType>(result.getType()); type && type.getRank() > 0)
          shape.emplace(type.getShape());
  }
  if (!shape)
    return success(); // 0-D throughout
  for (Operation &op : fusion.getBodyBlock().without_terminator())
    if (failed(verifyElementShape(fusion, &op, *shape, "op")))
      return failure();
  return success();
}

LogicalResult verifyAnchoredFusion(FusionOp fusion) {
  Block &body = fusion.getBodyBlock();
  // 1. Exactly one anchor; everything else elementwise.
  Operation *anchor = nullptr;
  for (Operation &op : body.without_terminator()) {
    if (isElementwise(&op))
      continue;
    if (!isFusionAnchor(&op))
      return fusion.emitOpError() << "of kind anchored holds '" << op.getName()
                                  << "', which is neither elementwise nor an anchor";
    if (anchor)
      return fusion.emitOpError() << "of kind anchored has two anchors, '" << anchor->getName()
                                  << "' and '" << op.getName() << "'";
    anchor = &op;
  }
  if (!anchor)
    return fusion.emitOpError() << "of kind anchored holds no anchor op";
  for (auto [index, operand] : llvm::enumerate(anchor->getOperands()))
    if (index > 0 && !isa<BlockArgument>(operand))
      return fusion.emitOpError() << "anchor '" << anchor->getName() << "' operand #" << index
                                  << " must be a block argument (only operand 0 has a prologue)";
  for (Value result : anchor->getResults().drop_front())
    for (Operation *user : result.getUsers())
      if (!isa<YieldOp>(user))
        return fusion.emitOpError() << "anchor '" << anchor->getName() << "' result #"
                                    << cast<OpResult>(result).getResultNumber()
                                    << " may only be yielded, but '" << user->getName()
                                    << "' uses it";

  // 2. The prologue: the expression tree computing operand 0.
  llvm::SmallPtrSet<Operation *, 8> prologue;
  auto input = cast<RankedTensorType>(anchor->getOperand(0).getType());
  SmallVector<Operation *> worklist;
  if (Operation *def = anchor->getOperand(0).getDefiningOp())
    worklist.push_back(def);
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (!prologue.insert(op).second)
      continue;
    Value result = op->getResult(0);
    if (!result.hasOneUse())
      return fusion.emitOpError() << "prologue op '" << op->getName()
                                  << "' must have exactly one use (a single expression tree)";
    if (failed(verifyElementShape(fusion, op, input.getShape(), "prologue op")))
      return failure();
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        worklist.push_back(def);
  }
  for (Operation *op : prologue) {
    OpOperand &use = *op->getResult(0).getUses().begin();
    bool feedsAnchor = use.getOwner() == anchor && use.getOperandNumber() == 0;
    if (!feedsAnchor && !prologue.contains(use.getOwner()))
      return fusion.emitOpError() << "prologue op '" << op->getName()
                                  << "' must be used only by the prologue or anchor operand 0";
  }

  // 3. The epilogue: a chain from result 0.
  llvm::SmallPtrSet<Operation *, 8> epilogue;
  auto output = cast<RankedTensorType>(anchor->getResult(0).getType());
  Value chain = anchor->getResult(0);
  while (true) {
    bool yielded = llvm::any_of(chain.getUsers(), [](Operation *u) { return isa<YieldOp>(u); });
    if (chain.use_empty() || yielded) {
      if (!llvm::all_of(chain.getUsers(), [](Operation *u) { return isa<YieldOp>(u); }))
        return fusion.emitOpError() << "the epilogue value yielded must have no other use";
      break;
    }
    if (!chain.hasOneUse())
      return fusion.emitOpError() << "epilogue values must have exactly one use (a single chain)";
    Operation *next = *chain.getUsers().begin();
    if (next == anchor || prologue.contains(next))
      return fusion.emitOpError() << "'" << next->getName()
                                  << "' uses the anchor's result and feeds its operand 0";
    for (Value operand : next->getOperands())
      if (operand != chain && !isa<BlockArgument>(operand))
        return fusion.emitOpError() << "epilogue op '" << next->getName()
                                    << "' may only combine the chain with block arguments";
    if (failed(verifyElementShape(fusion, next, output.getShape(), "epilogue op")))
      return failure();
    epilogue.insert(next);
    chain = next->getResult(0);
  }

  // 4. Nothing else.
  for (Operation &op : body.without_terminator())
    if (&op != anchor && !prologue.contains(&op) && !epilogue.contains(&op))
      return fusion.emitOpError() << "holds '" << op.getName()
                                  << "', which is in neither the prologue of the anchor's "
                                     "operand 0 nor the epilogue chain of its result 0";
  return success();
}

LogicalResult verifyNtXentFusion(FusionOp fusion) {
  NtXentOp loss;
  FillOp seed;
  NtXentBackwardOp gradient;
  for (Operation &op : fusion.getBodyBlock().without_terminator()) {
    bool duplicate = llvm::TypeSwitch<Operation *, bool>(&op)
                         .Case([&](NtXentOp o) { return std::exchange(loss, o) != nullptr; })
                         .Case([&](FillOp o) { return std::exchange(seed, o) != nullptr; })
                         .Case([&](NtXentBackwardOp o) {
                           return std::exchange(gradient, o) != nullptr;
                         })
                         .Default([](Operation *) { return true; });
    if (duplicate)
      return fusion.emitOpError() << "of kind nt_xent holds an extra '" << op.getName()
                                  << "' (expected nt_xent, fill and nt_xent_backward once each)";
  }
  if (!loss || !seed || !gradient)
    return fusion.emitOpError() << "of kind nt_xent needs nt_xent, fill and nt_xent_backward";
  if (gradient.getGradLoss() != seed.getResult())
    return fusion.emitOpError() << "nt_xent_backward must take the fill as its loss gradient";
  if (gradient.getEmbeddings() != loss.getEmbeddings() ||
      !isa<BlockArgument>(loss.getEmbeddings()))
    return fusion.emitOpError()
           << "nt_xent and nt_xent_backward must read the same embeddings, a block argument";
  if (gradient.getTemperature() != loss.getTemperature())
    return fusion.emitOpError() << "nt_xent and nt_xent_backward temperatures differ";
  return success();
}

/// The scalar operands an optimizer fusion's updates share (lr, and step).
SmallVector<Value, 2> sharedUpdateScalars(Operation *op) {
  return llvm::TypeSwitch<Operation *, SmallVector<Value, 2>>(op)
      .Case([](AdamWUpdateOp o) { return SmallVector<Value, 2>{o.getLr(), o.getStep()}; })
      .Case<SgdUpdateOp, LarsUpdateOp>([](auto o) { return SmallVector<Value, 2>{o.getLr()}; })
      .Default([](Operation *) { return SmallVector<Value, 2>{}; });
}

/// Hyperparameters that may differ between the tensors one optimizer kernel
/// updates (SimCLR excludes biases and batch-norm parameters from both).
constexpr StringLiteral kPerTensorAttrs[] = {"weight_decay", "layer_adaptation"};

DictionaryAttr sharedUpdateAttrs(Operation *op) {
  NamedAttrList attrs(op->getAttrDictionary());
  for (StringRef name : kPerTensorAttrs)
    attrs.erase(name);
  return attrs.getDictionary(op->getContext());
}

LogicalResult verifyOptimizerFusion(FusionOp fusion) {
  Operation *first = nullptr;
  for (Operation &op : fusion.getBodyBlock().without_terminator()) {
    if (!isa<AdamWUpdateOp, SgdUpdateOp, LarsUpdateOp>(op))
      return fusion.emitOpError() << "of kind optimizer holds '" << op.getName()
                                  << "', which is not an update op";
    for (Value operand : op.getOperands())
      if (!isa<BlockArgument>(operand))
        return fusion.emitOpError() << "update '" << op.getName()
                                    << "' must read only block arguments";
    if (!first) {
      first = &op;
      continue;
    }
    if (op.getName() != first->getName())
      return fusion.emitOpError() << "of kind optimizer mixes '" << first->getName() << "' and '"
                                  << op.getName() << "'";
    if (sharedUpdateScalars(&op) != sharedUpdateScalars(first))
      return fusion.emitOpError() << "update '" << op.getName()
                                  << "' reads another learning rate or step than the first";
    if (sharedUpdateAttrs(&op) != sharedUpdateAttrs(first))
      return fusion.emitOpError() << "update '" << op.getName()
                                  << "' has other hyperparameters than the first";
  }
  return success();
}

} // namespace

LogicalResult FusionOp::verifyRegions() {
  Block &body = getBodyBlock();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "has " << getInputs().size() << " inputs but its body takes "
                         << body.getNumArguments() << " arguments";
  for (auto [index, input, argument] : llvm::enumerate(getInputs(), body.getArguments()))
    if (input.getType() != argument.getType())
      return emitOpError() << "input #" << index << " of type " << input.getType()
                           << " is bound to a block argument of type " << argument.getType();
  auto yield = body.empty() ? YieldOp() : dyn_cast<YieldOp>(body.back());
  if (!yield)
    return emitOpError() << "body must end in simclr.yield";
  if (yield.getValues().getTypes() != getOutputs().getTypes())
    return emitOpError() << "yields " << yield.getValues().size()
                         << " values whose types differ from its " << getOutputs().size()
                         << " results";
  if (body.without_terminator().empty())
    return emitOpError() << "body holds no op";
  for (Operation &op : body.without_terminator())
    if (!isa<SimclrDialect>(op.getDialect()) || isa<FusionOp>(op))
      return emitOpError() << "body may hold only simclr graph ops, not '" << op.getName() << "'";
  switch (getKind()) {
  case FusionKind::Elementwise:
    return verifyElementwiseFusion(*this);
  case FusionKind::Anchored:
    return verifyAnchoredFusion(*this);
  case FusionKind::NtXent:
    return verifyNtXentFusion(*this);
  case FusionKind::Optimizer:
    return verifyOptimizerFusion(*this);
  }
  llvm_unreachable("every fusion kind is handled above");
}
