//===- PlanMemory.cpp - Arena offsets for a program's buffers -------------===//
//
// Implements `simclr-plan-memory`: liveness over the schedule, in-place
// hints for elementwise kernels, and lib/Support/MemoryPlan.h's planner
// (the same code the tests of docs/memory-planning.md exercise), whose
// result is re-verified before it is written into the IR.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Dialect/Kernel/Transforms/Passes.h"
#include "simclr/Support/MemoryPlan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::simclr_kernel {
#define GEN_PASS_DEF_SIMCLRPLANMEMORY
#include "simclr/Dialect/Kernel/Transforms/Passes.h.inc"
} // namespace mlir::simclr_kernel

using namespace mlir;
using namespace mlir::simclr_kernel;

namespace {

int64_t bufferBytes(MemRefType type) {
  return type.getNumElements() *
         static_cast<int64_t>((type.getElementTypeBitWidth() + 7) / 8);
}

/// The alloc a buffer value stands for (through views); null for arguments.
AllocOp rootAlloc(Value buffer) {
  while (auto view = buffer.getDefiningOp<ViewOp>())
    buffer = view.getSource();
  return buffer.getDefiningOp<AllocOp>();
}

struct Liveness {
  int64_t firstUse = -1;
  int64_t lastUse = -1;
  std::optional<int64_t> inPlaceOf;
};

struct PlanMemoryPass
    : public mlir::simclr_kernel::impl::SimclrPlanMemoryBase<PlanMemoryPass> {
  using SimclrPlanMemoryBase::SimclrPlanMemoryBase;

  void runOnOperation() override {
    func::FuncOp function = getOperation();
    if (function.isExternal())
      return;
    SmallVector<AllocOp> allocs;
    DenseMap<Operation *, int64_t> allocIndex;
    function.walk([&](AllocOp alloc) {
      allocIndex[alloc] = allocs.size();
      allocs.push_back(alloc);
    });
    std::vector<Liveness> liveness(allocs.size());
    candidates.clear();

    int64_t entry = 0;
    auto use = [&](Value buffer, bool written) {
      AllocOp alloc = rootAlloc(buffer);
      if (!alloc)
        return;
      Liveness &live = liveness[allocIndex[alloc]];
      if (written && live.firstUse < 0)
        live.firstUse = entry;
      live.lastUse = std::max(live.lastUse, entry);
    };
    bool failedUse = false;
    for (Operation &op : function.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        // Results stay live until the caller has read them: past the end.
        for (Value value : ret.getOperands())
          use(value, /*written=*/false);
        continue;
      }
      ValueRange inputs, outputs, scratch;
      bool elementwise = false;
      if (auto launch = dyn_cast<LaunchOp>(op)) {
        inputs = launch.getInputs();
        outputs = launch.getOutputs();
        scratch = launch.getScratch();
        KernelOp kernel = launch.getKernelOp();
        elementwise = kernel && kernel.getKernelKind() ==
                                   ::simclr::KernelKind::kElementwise;
      } else if (auto call = dyn_cast<ExternOp>(op)) {
        inputs = call.getInputs();
        outputs = call.getOutputs();
        scratch = call.getScratch();
      } else if (auto collective = dyn_cast<CollectiveOp>(op)) {
        inputs = collective.getInputs();
        outputs = collective.getOutputs();
      } else {
        continue; // allocs and views are not schedule entries
      }
      for (Value input : inputs) {
        AllocOp alloc = rootAlloc(input);
        if (alloc && liveness[allocIndex[alloc]].firstUse < 0) {
          op.emitOpError() << "reads buffer '" << alloc.getName()
                           << "' before anything writes it";
          failedUse = true;
        }
        use(input, /*written=*/false);
      }
      for (Value output : outputs)
        use(output, /*written=*/true);
      // Scratch lives for this entry alone.
      for (Value buffer : scratch)
        use(buffer, /*written=*/true);
      if (elementwise)
        addInPlaceHints(inputs, outputs, entry, allocIndex, liveness);
      ++entry;
    }
    if (failedUse)
      return signalPassFailure();
    resolveInPlaceHints(liveness);

    std::vector<::simclr::BufferRequest> requests;
    for (auto [index, alloc] : llvm::enumerate(allocs)) {
      Liveness &live = liveness[index];
      if (live.firstUse < 0) {
        alloc.emitOpError() << "is never written";
        return signalPassFailure();
      }
      if (alloc->hasAttr(kGatheredAttrName))
        continue; // placed below, outside the arena
      ::simclr::BufferRequest request;
      request.id = static_cast<int64_t>(index);
      request.bytes = bufferBytes(alloc.getType());
      request.firstUse = live.firstUse;
      request.lastUse = live.lastUse;
      request.inPlaceOf = live.inPlaceOf;
      requests.push_back(request);
    }
    OpBuilder builder(function.getContext());
    // Gathered buffers (one copy per replica, a count known only at run
    // time) get their own block, one after another: there are two per
    // data-parallel step (the gathered projections and their gradient).
    int64_t gatheredBytes = 0;
    for (AllocOp alloc : allocs) {
      if (!alloc->hasAttr(kGatheredAttrName))
        continue;
      alloc.setOffsetAttr(builder.getI64IntegerAttr(gatheredBytes));
      int64_t end = gatheredBytes + bufferBytes(alloc.getType());
      gatheredBytes = (end + alignment - 1) / alignment * alignment;
    }
    if (gatheredBytes > 0)
      function->setAttr(kGatheredBytesAttrName,
                        builder.getI64IntegerAttr(gatheredBytes));
    if (requests.empty()) {
      function->setAttr(kArenaBytesAttrName, builder.getI64IntegerAttr(0));
      function->setAttr(kSumOfIntermediatesAttrName, builder.getI64IntegerAttr(0));
      return;
    }
    ::simclr::Expected<::simclr::MemoryPlan> plan =
        ::simclr::planMemory(requests, alignment);
    if (!plan) {
      function.emitError() << "memory planning failed: "
                           << plan.status().message();
      return signalPassFailure();
    }
    ::simclr::Status verified =
        ::simclr::verifyMemoryPlan(requests, *plan, alignment);
    if (!verified.isOk()) {
      function.emitError() << "memory plan is invalid: " << verified.message();
      return signalPassFailure();
    }
    for (const ::simclr::BufferPlacement &placement : plan->placements)
      allocs[placement.id].setOffsetAttr(
          builder.getI64IntegerAttr(placement.offset));
    function->setAttr(kArenaBytesAttrName,
                      builder.getI64IntegerAttr(plan->arenaBytes));
    function->setAttr(kSumOfIntermediatesAttrName,
                      builder.getI64IntegerAttr(plan->sumOfBuffers));
  }

  /// An elementwise kernel computes output[i] from inputs[i] alone, so an
  /// output may take over an input of the same type that this entry reads
  /// for the last time. Last reads are known only after the walk, so the
  /// candidates are recorded here and resolved in resolveInPlaceHints().
  void addInPlaceHints(ValueRange inputs, ValueRange outputs, int64_t entry,
                       DenseMap<Operation *, int64_t> &allocIndex,
                       std::vector<Liveness> &liveness) {
    for (Value output : outputs) {
      AllocOp outputAlloc = rootAlloc(output);
      if (!outputAlloc || output != outputAlloc.getResult())
        continue;
      for (Value input : inputs) {
        AllocOp inputAlloc = rootAlloc(input);
        if (inputAlloc && inputAlloc != outputAlloc &&
            input.getType() == output.getType())
          candidates.push_back({allocIndex[outputAlloc],
                                allocIndex[inputAlloc], entry});
      }
    }
  }

  void resolveInPlaceHints(std::vector<Liveness> &liveness) {
    llvm::SmallDenseSet<int64_t> donorsTaken;
    for (const InPlaceCandidate &candidate : candidates) {
      Liveness &recipient = liveness[candidate.recipient];
      if (recipient.inPlaceOf || donorsTaken.contains(candidate.donor) ||
          liveness[candidate.donor].lastUse != candidate.entry)
        continue;
      recipient.inPlaceOf = candidate.donor;
      donorsTaken.insert(candidate.donor);
    }
  }

  struct InPlaceCandidate {
    int64_t recipient;
    int64_t donor;
    int64_t entry;
  };
  std::vector<InPlaceCandidate> candidates;
};

} // namespace
