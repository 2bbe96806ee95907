//===- DescribeKernels.cpp - What each kernel is, stated once -------------===//
//
// Implements `simclr-describe-kernels` (see Passes.td for the contract).
// For each kernel:
//   1. access: each block argument is read per element (`flat`), as a 0-D
//      value (`scalar`), per channel (the input of a rank-1 broadcast), or
//      only whole by the anchor or an update op (`none`);
//   2. anchored: the anchor is the body's one non-elementwise op; the
//      elementwise ops before it are the prologue, those after it the
//      epilogue (the fusion contract of simclr.fusion guarantees this);
//   3. results: each anchor result (nt_xent: loss and gradient) goes to the
//      output that yields it (after the epilogue for result 0) or, when not
//      yielded, to a scratch operand of its size;
//   4. workspace: the algorithm's temporaries (Scratch.h) become one more
//      scratch operand;
//   5. every launch of a kernel with scratch gets one alloc per scratch
//      operand, just before it.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Dialect/Kernel/Transforms/Passes.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Kernels/Scratch.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::simclr_kernel {
#define GEN_PASS_DEF_SIMCLRDESCRIBEKERNELS
#include "simclr/Dialect/Kernel/Transforms/Passes.h.inc"
} // namespace mlir::simclr_kernel

using namespace mlir;
using namespace mlir::simclr_kernel;
namespace sc = mlir::simclr;
namespace ks = ::simclr::kernels;

namespace {

int64_t elementsOf(Value value) {
  return cast<ShapedType>(value.getType()).getNumElements();
}

int64_t bytesOf(Value value) {
  auto type = cast<ShapedType>(value.getType());
  return type.getNumElements() *
         static_cast<int64_t>((type.getElementTypeBitWidth() + 7) / 8);
}

/// (n, c, hw) of an N x C x ... tensor.
struct ChannelShape {
  int64_t n = 1, c = 1, hw = 1;
};
ChannelShape channelShapeOf(Value value) {
  ArrayRef<int64_t> shape = cast<ShapedType>(value.getType()).getShape();
  ChannelShape result;
  if (!shape.empty())
    result.n = shape[0];
  if (shape.size() >= 2)
    result.c = shape[1];
  for (size_t i = 2; i < shape.size(); ++i)
    result.hw *= shape[i];
  return result;
}

/// 1. How the kernel's elementwise parts read `argument`.
StringRef accessOf(BlockArgument argument) {
  StringRef mode = "none";
  for (Operation *user : argument.getUsers()) {
    bool readsPerElement = user->hasTrait<sc::ElementwiseOp>() ||
                           isa<YieldOp>(user);
    if (!readsPerElement)
      continue;
    auto broadcast = dyn_cast<sc::BroadcastOp>(user);
    if (broadcast && broadcast.getInput().getType().getRank() == 1)
      return "channel";
    mode = cast<ShapedType>(argument.getType()).getRank() == 0 ? "scalar"
                                                                : "flat";
  }
  return mode;
}

/// 4. Bytes of workspace the anchor's algorithm needs (0: none).
int64_t anchorWorkspaceBytes(Operation *anchor) {
  return llvm::TypeSwitch<Operation *, int64_t>(anchor)
      .Case<sc::BatchNormTrainOp, sc::BatchNormTrainBackwardOp,
            sc::SumToChannelsOp>([](Operation *op) {
        ChannelShape s = channelShapeOf(op->getOperand(isa<sc::BatchNormTrainBackwardOp>(op) ? 1 : 0));
        return ks::channelStatisticsScratchBytes(s.n, s.c, s.hw);
      })
      .Case<sc::BatchNormStatisticsOp, sc::BatchNormBackwardStatisticsOp>(
          [](Operation *op) {
            ChannelShape s = channelShapeOf(
                op->getOperand(isa<sc::BatchNormStatisticsOp>(op) ? 0 : 1));
            return ks::channelSumsScratchBytes(s.n, s.c, s.hw);
          })
      .Case<sc::BatchNormApplyOp, sc::BatchNormBackwardApplyOp>(
          [](Operation *op) {
            return ks::channelCoefficientsScratchBytes(
                channelShapeOf(op->getResult(0)).c);
          })
      .Case([](sc::BatchNormInferenceOp op) {
        return ks::batchNormInferenceScratchBytes(
            channelShapeOf(op.getInput()).c);
      })
      .Case([](sc::ReduceMeanOp op) {
        return ks::reduceScratchBytes(elementsOf(op.getInput()));
      })
      .Case([](sc::NtXentOp op) {
        auto shape = op.getEmbeddings().getType().getShape();
        return ks::ntXentScratchBytes(shape[0], shape[1]);
      })
      .Case([](sc::NtXentBackwardOp op) {
        auto shape = op.getEmbeddings().getType().getShape();
        return ks::ntXentScratchBytes(shape[0], shape[1]);
      })
      .Default([](Operation *) { return int64_t(0); });
}

int64_t optimizerWorkspaceBytes(ArrayRef<Operation *> updates) {
  int64_t chunks = 0;
  for (Operation *update : updates)
    chunks += ks::optimizerChunks(elementsOf(update->getOperand(0)));
  return ks::optimizerScratchBytes(static_cast<int64_t>(updates.size()),
                                   chunks);
}

struct SimclrDescribeKernelsPass
    : mlir::simclr_kernel::impl::SimclrDescribeKernelsBase<
          SimclrDescribeKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (KernelOp kernel : module.getOps<KernelOp>()) {
      if (kernel.isDescribed())
        continue;
      if (failed(describe(kernel)))
        return signalPassFailure();
      ++numDescribed;
    }
    // 5. Scratch buffers for every launch.
    module.walk([&](LaunchOp launch) {
      KernelOp kernel = launch.getKernelOp();
      if (!kernel || !launch.getScratch().empty() || !kernel.getScratch())
        return;
      OpBuilder builder(launch);
      SmallVector<Value> scratch;
      for (auto [index, bytes] : llvm::enumerate(*kernel.getScratch())) {
        auto type = MemRefType::get({bytes}, builder.getIntegerType(8));
        std::string name =
            (kernel.getSymName() + ".scratch" + Twine(index)).str();
        auto alloc = builder.create<AllocOp>(
            launch.getLoc(), type, builder.getStringAttr(name), IntegerAttr());
        if (kernel->hasAttr(kReplicasOperandAttrName))
          alloc->setAttr(kGatheredAttrName, builder.getUnitAttr());
        scratch.push_back(alloc);
        ++numScratch;
      }
      launch.getScratchMutable().assign(scratch);
    });
  }

  LogicalResult describe(KernelOp kernel) {
    MLIRContext *context = kernel.getContext();
    Builder builder(context);
    Block &body = kernel.getBodyBlock();
    SmallVector<Operation *> ops = kernel.getBodyOps();
    Operation *yield = kernel.getYield();
    unsigned numInputs = body.getNumArguments();
    unsigned numOutputs = yield->getNumOperands();

    SmallVector<StringRef> access;
    for (BlockArgument argument : body.getArguments())
      access.push_back(accessOf(argument));

    SmallVector<int64_t> scratch;
    /// 3. The operand receiving `value`: the output yielding it, else a new
    /// scratch operand of its size.
    auto destinationOf = [&](Value value) -> int64_t {
      for (auto [position, yielded] : llvm::enumerate(yield->getOperands()))
        if (yielded == value)
          return numInputs + position;
      scratch.push_back(bytesOf(value));
      return numInputs + numOutputs + scratch.size() - 1;
    };

    SmallVector<int64_t> results, prologue, epilogue;
    std::optional<int64_t> anchorIndex;
    int64_t workspace = 0;
    switch (kernel.getKernelKind()) {
    case ::simclr::KernelKind::kElementwise:
      break;
    case ::simclr::KernelKind::kAnchored: {
      for (auto [index, op] : llvm::enumerate(ops)) {
        if (op->hasTrait<sc::ElementwiseOp>())
          continue;
        if (anchorIndex)
          return kernel.emitOpError()
                 << "has a second non-elementwise op ('" << op->getName()
                 << "'): an anchored kernel has one anchor";
        anchorIndex = index;
      }
      if (!anchorIndex)
        return kernel.emitOpError() << "is anchored but has no anchor op";
      Operation *anchor = ops[*anchorIndex];
      for (int64_t index = 0; index < static_cast<int64_t>(ops.size()); ++index)
        if (index != *anchorIndex)
          (index < *anchorIndex ? prologue : epilogue).push_back(index);
      for (OpResult result : anchor->getResults()) {
        Value stored = result;
        if (result.getResultNumber() == 0 && !epilogue.empty())
          stored = ops[epilogue.back()]->getResult(0);
        results.push_back(destinationOf(stored));
      }
      workspace = anchorWorkspaceBytes(anchor);
      break;
    }
    case ::simclr::KernelKind::kNtXent: {
      sc::NtXentOp forward;
      sc::NtXentBackwardOp backward;
      for (Operation *op : ops) {
        if (auto f = dyn_cast<sc::NtXentOp>(op))
          forward = f;
        if (auto b = dyn_cast<sc::NtXentBackwardOp>(op))
          backward = b;
      }
      if (!forward || !backward)
        return kernel.emitOpError()
               << "nt_xent kernel needs nt_xent and nt_xent_backward";
      results.push_back(destinationOf(forward.getLoss()));
      results.push_back(destinationOf(backward.getGradEmbeddings()));
      workspace = anchorWorkspaceBytes(forward);
      // Over every replica's rows (simclr-data-parallel): a workspace
      // linear in the rows, one share per replica in the gathered region.
      if (kernel->hasAttr(kReplicasOperandAttrName)) {
        auto shape = forward.getEmbeddings().getType().getShape();
        workspace = ks::ntXentGatheredScratchBytes(shape[0], shape[1]);
      }
      break;
    }
    case ::simclr::KernelKind::kOptimizer:
      workspace = optimizerWorkspaceBytes(ops);
      break;
    }
    if (workspace > 0)
      scratch.push_back(workspace);

    SmallVector<StringRef> layouts(numInputs + numOutputs,
                                   ::simclr::layoutName(::simclr::Layout::kPlain));
    kernel.setAccessAttr(builder.getStrArrayAttr(access));
    kernel.setLayoutsAttr(builder.getStrArrayAttr(layouts));
    kernel.setScratch(scratch);
    if (kernel.getKernelKind() == ::simclr::KernelKind::kAnchored) {
      kernel.setAnchor(*anchorIndex);
      kernel.setPrologue(prologue);
      kernel.setEpilogue(epilogue);
    }
    if (!results.empty())
      kernel.setResults(results);
    return success();
  }
};

} // namespace
