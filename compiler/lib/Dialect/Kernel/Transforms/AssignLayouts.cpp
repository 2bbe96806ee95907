//===- AssignLayouts.cpp - Activation layouts from the target's preference -===//
//
// Implements `simclr-assign-layouts` (see Passes.td for the contract and
// the numbered algorithm).
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Dialect/Kernel/Transforms/Passes.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <map>

namespace mlir::simclr_kernel {
#define GEN_PASS_DEF_SIMCLRASSIGNLAYOUTS
#include "simclr/Dialect/Kernel/Transforms/Passes.h.inc"
} // namespace mlir::simclr_kernel

using namespace mlir;
using namespace mlir::simclr_kernel;
namespace sc = mlir::simclr;

namespace {

bool isActivationType(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.getRank() == 4 && memref.getElementType().isF32();
}

/// Anchors whose CPU and CUDA implementations iterate in any layout.
bool isLayoutFreeAnchor(Operation *op) {
  return isa<sc::BatchNormTrainOp, sc::BatchNormInferenceOp,
             sc::BatchNormTrainBackwardOp, sc::GlobalAvgPoolOp,
             sc::GlobalAvgPoolBackwardOp, sc::SumToChannelsOp,
             sc::NormalizeOp, sc::BatchNormStatisticsOp, sc::BatchNormApplyOp,
             sc::BatchNormBackwardStatisticsOp,
             sc::BatchNormBackwardApplyOp>(op);
}

/// Whether `kernel` runs with its 4-D operands in any (shared) layout.
bool kernelTakesAnyLayout(KernelOp kernel) {
  switch (kernel.getKernelKind()) {
  case ::simclr::KernelKind::kElementwise:
    return true;
  case ::simclr::KernelKind::kAnchored:
    return kernel.getAnchor() &&
           isLayoutFreeAnchor(kernel.getBodyOps()[*kernel.getAnchor()]);
  case ::simclr::KernelKind::kNtXent:
  case ::simclr::KernelKind::kOptimizer:
    return false;
  }
  return false;
}

/// Whether operand `index` of a call of `callee` is an activation (x, y, dy,
/// dx) rather than a filter or a filter's gradient.
bool isConvolutionActivation(StringRef callee, unsigned index) {
  std::optional<::simclr::ExternRoutine> routine =
      ::simclr::parseExternRoutine(callee.str());
  if (!routine)
    return false;
  switch (*routine) {
  case ::simclr::ExternRoutine::kConv2d:
  case ::simclr::ExternRoutine::kConv2dBackwardInput:
    // (x, w) -> y; (dy, w) -> dx.
    return index == 0 || index == 2;
  case ::simclr::ExternRoutine::kConv2dBackwardFilter:
    // (dy, x) -> dw.
    return index == 0 || index == 1;
  case ::simclr::ExternRoutine::kMatmul:
    return false;
  }
  return false;
}

/// Union-find over buffer values (path halving).
class BufferGroups {
public:
  void insert(Value value) { parent.try_emplace(value, value); }
  Value leader(Value value) {
    insert(value);
    while (parent[value] != value) {
      parent[value] = parent[parent[value]];
      value = parent[value];
    }
    return value;
  }
  void unite(Value a, Value b) { parent[leader(a)] = leader(b); }
  SmallVector<Value> members() const {
    SmallVector<Value> values;
    for (const auto &entry : parent)
      values.push_back(entry.first);
    return values;
  }

private:
  llvm::DenseMap<Value, Value> parent;
};

struct SimclrAssignLayoutsPass
    : mlir::simclr_kernel::impl::SimclrAssignLayoutsBase<
          SimclrAssignLayoutsPass> {
  using SimclrAssignLayoutsBase::SimclrAssignLayoutsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<::simclr::Layout> preferred = ::simclr::parseLayout(layout);
    if (!preferred) {
      module.emitError() << "simclr-assign-layouts: unknown layout '" << layout
                         << "' (known: nchw, nhwc, nChw8c, nChw16c)";
      return signalPassFailure();
    }
    for (auto function : module.getOps<func::FuncOp>())
      if (!function.isExternal())
        assign(function, *preferred);
    if (failed(specializeKernels(module)))
      signalPassFailure();
  }

  /// Steps 1-2 for one program.
  void assign(func::FuncOp function, ::simclr::Layout preferred) {
    BufferGroups groups;
    /// Buffers that must stay plain: arguments, or a use that needs it.
    llvm::SmallPtrSet<Value, 16> plain;
    auto note = [&](Value buffer) {
      if (isActivationType(buffer.getType()))
        groups.insert(buffer);
    };
    auto requirePlain = [&](Value buffer) {
      if (isActivationType(buffer.getType()))
        plain.insert(buffer);
    };

    for (BlockArgument argument : function.getArguments()) {
      note(argument);
      requirePlain(argument);
    }
    int64_t block = ::simclr::layoutChannelBlock(preferred);
    function.walk([&](Operation *op) {
      if (auto alloc = dyn_cast<AllocOp>(op)) {
        note(alloc);
        auto type = alloc.getType();
        if (isActivationType(type) && block > 1 && type.getShape()[1] % block)
          requirePlain(alloc);
        return;
      }
      if (auto launch = dyn_cast<LaunchOp>(op)) {
        SmallVector<Value> operands(launch.getInputs());
        llvm::append_range(operands, launch.getOutputs());
        KernelOp kernel = launch.getKernelOp();
        bool anyLayout = kernel && kernelTakesAnyLayout(kernel);
        Value first;
        for (Value operand : operands) {
          if (!isActivationType(operand.getType()))
            continue;
          note(operand);
          if (!anyLayout)
            requirePlain(operand);
          // 1. One layout per launch.
          if (first)
            groups.unite(first, operand);
          first = operand;
        }
        return;
      }
      if (auto call = dyn_cast<ExternOp>(op)) {
        SmallVector<Value> operands(call.getInputs());
        llvm::append_range(operands, call.getOutputs());
        for (auto [index, operand] : llvm::enumerate(operands)) {
          note(operand);
          if (!isConvolutionActivation(call.getCallee(), index))
            requirePlain(operand);
        }
        return;
      }
      // Views, collectives, returns: plain.
      for (Value operand : op->getOperands())
        requirePlain(operand);
      for (Value result : op->getResults())
        requirePlain(result);
    });

    // 2. A group takes the layout when none of its members must be plain.
    llvm::SmallPtrSet<Value, 16> plainLeaders;
    for (Value buffer : plain)
      plainLeaders.insert(groups.leader(buffer));
    for (Value member : groups.members()) {
      auto alloc = member.getDefiningOp<AllocOp>();
      if (!alloc)
        continue;
      if (plainLeaders.contains(groups.leader(member)) ||
          preferred == ::simclr::Layout::kPlain) {
        ++numPlain;
        continue;
      }
      alloc.getResult().setType(withLayout(alloc.getType(), preferred));
      ++numLaidOut;
    }
  }

  /// Step 4: every launch's layouts on its kernel, cloning kernels launched
  /// with several combinations.
  LogicalResult specializeKernels(ModuleOp module) {
    SymbolTable symbols(module);
    // (kernel, layouts) -> the kernel definition for that combination.
    std::map<std::pair<Operation *, std::vector<std::string>>, KernelOp>
        specialized;
    llvm::DenseMap<Operation *, unsigned> combinations;
    WalkResult result = module.walk([&](LaunchOp launch) -> WalkResult {
      KernelOp kernel = launch.getKernelOp();
      if (!kernel)
        return WalkResult::advance();
      std::vector<std::string> layouts;
      SmallVector<Value> operands(launch.getInputs());
      llvm::append_range(operands, launch.getOutputs());
      for (Value operand : operands)
        layouts.emplace_back(::simclr::layoutName(
            getBufferLayout(cast<MemRefType>(operand.getType()))));
      auto key = std::make_pair(kernel.getOperation(), layouts);
      auto it = specialized.find(key);
      if (it == specialized.end()) {
        KernelOp definition = kernel;
        if (combinations[kernel]++ > 0) {
          // Another combination: a copy of the kernel for it.
          definition = cast<KernelOp>(kernel->clone());
          std::string suffix;
          for (const std::string &name : layouts)
            if (name != ::simclr::layoutName(::simclr::Layout::kPlain)) {
              suffix = "_" + name;
              break;
            }
          definition.setSymName((kernel.getSymName() + suffix).str());
          // Renamed when the name is taken.
          symbols.insert(definition, Block::iterator(kernel));
          ++numCloned;
        }
        SmallVector<StringRef> names(layouts.begin(), layouts.end());
        definition.setLayoutsAttr(Builder(module.getContext()).getStrArrayAttr(names));
        it = specialized.emplace(key, definition).first;
      }
      launch.setKernel(it->second.getSymName());
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }
};

} // namespace
