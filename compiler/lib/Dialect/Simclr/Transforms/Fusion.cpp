//===- Fusion.cpp - Forming simclr.fusion ops, shared by the fuse passes --===//
//
// createFusion, in steps:
//   1. Order the group by position in its block; first and last op.
//   2. Collect the ops strictly between them, outside the group, that
//      depend on a group result (the "dependents"); a group op reading a
//      dependent's result means a cycle: fail.
//   3. Inputs: values the group reads but does not define, in first-use
//      order; outputs: group results with a user outside the group.
//   4. Build the fusion after the last op, clone the group into its body,
//      yield the outputs, redirect outside uses to the fusion's results.
//   5. Erase the group (reverse order) and move the dependents after the
//      fusion, keeping their order; every value they read is then defined
//      before them.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/Transforms/Fusion.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::simclr;

namespace {

/// Longest fusion name prefix, in op names (the rest is dropped).
constexpr size_t kMaxNameParts = 4;

/// `<prefix>_<n>` with the smallest n no fusion in `scope` is named.
std::string uniqueFusionName(Operation *scope, StringRef prefix) {
  llvm::StringSet<> taken;
  scope->walk([&](FusionOp fusion) { taken.insert(fusion.getName()); });
  for (unsigned n = 0;; ++n) {
    std::string name = (prefix + "_" + Twine(n)).str();
    if (!taken.contains(name))
      return name;
  }
}

} // namespace

bool mlir::simclr::dependsOnGroup(Value value,
                                  const llvm::SmallPtrSetImpl<Operation *> &group) {
  if (group.empty())
    return false;
  Block *block = (*group.begin())->getBlock();
  Operation *first = nullptr;
  for (Operation *op : group)
    if (!first || op->isBeforeInBlock(first))
      first = op;
  SmallVector<Operation *> worklist;
  llvm::SmallPtrSet<Operation *, 16> visited;
  if (Operation *def = value.getDefiningOp())
    worklist.push_back(def);
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (op->getBlock() != block || op->isBeforeInBlock(first) || !visited.insert(op).second)
      continue;
    if (group.contains(op))
      return true;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        worklist.push_back(def);
  }
  return false;
}

std::string mlir::simclr::fusionNamePrefix(ArrayRef<Operation *> ops) {
  SmallVector<StringRef> parts;
  for (Operation *op : ops) {
    StringRef name = op->getName().stripDialect();
    if (parts.size() == kMaxNameParts)
      break;
    if (parts.empty() || parts.back() != name)
      parts.push_back(name);
  }
  return llvm::join(parts, "_");
}

FailureOr<FusionOp> mlir::simclr::createFusion(RewriterBase &rewriter, ArrayRef<Operation *> ops,
                                               FusionKind kind, StringRef namePrefix,
                                               ArrayRef<Value> leadingOutputs) {
  assert(!ops.empty() && "a fusion needs at least one op");
  // 1. Block order.
  SmallVector<Operation *> group(ops.begin(), ops.end());
  assert(llvm::all_of(group,
                      [&](Operation *op) { return op->getBlock() == group.front()->getBlock(); }) &&
         "a fusion's ops share one block");
  llvm::sort(group, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  llvm::SmallPtrSet<Operation *, 16> members(group.begin(), group.end());
  Operation *first = group.front(), *last = group.back();

  // 2. Dependents between first and last; a group op may not read them.
  SmallVector<Operation *> dependents;
  llvm::SmallPtrSet<Operation *, 16> dependentSet;
  for (Operation *op = first->getNextNode(); op != last; op = op->getNextNode()) {
    if (members.contains(op))
      continue;
    bool dependent = llvm::any_of(op->getOperands(), [&](Value operand) {
      Operation *def = operand.getDefiningOp();
      return def && (members.contains(def) || dependentSet.contains(def));
    });
    if (dependent) {
      dependents.push_back(op);
      dependentSet.insert(op);
    }
  }
  for (Operation *op : group)
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp(); def && dependentSet.contains(def))
        return failure();

  // 3. Inputs and outputs.
  llvm::SetVector<Value> inputs;
  llvm::SetVector<Value> outputs;
  for (Value value : leadingOutputs)
    outputs.insert(value);
  for (Operation *op : group) {
    for (Value operand : op->getOperands())
      if (!members.contains(operand.getDefiningOp()))
        inputs.insert(operand);
    for (Value result : op->getResults())
      if (llvm::any_of(result.getUsers(), [&](Operation *user) { return !members.contains(user); }))
        outputs.insert(result);
  }

  // 4. The fusion and its body.
  Location loc = rewriter.getFusedLoc(llvm::map_to_vector(group, [](Operation *op) {
    return op->getLoc();
  }));
  rewriter.setInsertionPointAfter(last);
  auto func = first->getParentOfType<func::FuncOp>();
  std::string name = uniqueFusionName(func ? func.getOperation() : first->getParentOp(), namePrefix);
  auto fusion = rewriter.create<FusionOp>(loc, ValueRange(outputs.getArrayRef()).getTypes(),
                                          inputs.getArrayRef(), name, kind);
  SmallVector<Location> argLocs(inputs.size(), loc);
  Block *body = rewriter.createBlock(&fusion.getBody(), {}, ValueRange(inputs.getArrayRef()).getTypes(),
                                     argLocs);
  IRMapping mapping;
  mapping.map(inputs.getArrayRef(), body->getArguments());
  for (Operation *op : group)
    rewriter.clone(*op, mapping);
  rewriter.create<YieldOp>(loc, llvm::map_to_vector(outputs.getArrayRef(), [&](Value v) {
                             return mapping.lookup(v);
                           }));
  for (auto [output, result] : llvm::zip(outputs, fusion.getOutputs()))
    rewriter.replaceUsesWithIf(output, result, [&](OpOperand &use) {
      return !members.contains(use.getOwner());
    });

  // 5. Erase the group; dependents after the fusion.
  for (Operation *op : llvm::reverse(group))
    rewriter.eraseOp(op);
  Operation *insertAfter = fusion;
  for (Operation *op : dependents) {
    rewriter.moveOpAfter(op, insertAfter);
    insertAfter = op;
  }
  return fusion;
}
