//===- PlanExternWorkspaces.cpp - oneDNN workspaces as planned buffers ----===//
//
// Implements `simclr-cpu-plan-extern-workspaces` (see Passes.td).
//
//===----------------------------------------------------------------------===//
#include "simclr/Target/Cpu/Passes.h"

#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Target/Artifact.h"

#include "Cpu/CpuExterns.h"

#include "mlir/IR/Builders.h"

namespace mlir::simclr_kernel {
#define GEN_PASS_DEF_SIMCLRCPUPLANEXTERNWORKSPACES
#include "simclr/Target/Cpu/Passes.h.inc"
} // namespace mlir::simclr_kernel

using namespace mlir;
using namespace mlir::simclr_kernel;

namespace {

struct SimclrCpuPlanExternWorkspacesPass
    : mlir::simclr_kernel::impl::SimclrCpuPlanExternWorkspacesBase<
          SimclrCpuPlanExternWorkspacesPass> {
  void runOnOperation() override {
    WalkResult result = getOperation().walk([&](ExternOp call) -> WalkResult {
      if (!call.getScratch().empty())
        return WalkResult::advance();
      FailureOr<::simclr::artifact::AttrMap> attrs = getExternAttributes(call);
      if (failed(attrs))
        return WalkResult::interrupt();
      ::simclr::artifact::ScheduleEntry entry;
      entry.kind = ::simclr::artifact::EntryKind::kExtern;
      entry.name = call.getCallee().str();
      entry.numInputs = static_cast<int64_t>(call.getInputs().size());
      entry.numOutputs = static_cast<int64_t>(call.getOutputs().size());
      entry.attrs = std::move(*attrs);
      std::vector<::simclr::artifact::Buffer> buffers;
      for (Value operand : call->getOperands())
        buffers.push_back(
            describeBuffer("", cast<MemRefType>(operand.getType())));
      std::vector<const ::simclr::artifact::Buffer *> pointers;
      for (const ::simclr::artifact::Buffer &buffer : buffers)
        pointers.push_back(&buffer);
      ::simclr::Expected<int64_t> bytes =
          ::simclr::runtime::cpuExternWorkspaceBytes(entry, pointers);
      if (!bytes) {
        call.emitOpError() << bytes.status().message();
        return WalkResult::interrupt();
      }
      if (*bytes == 0)
        return WalkResult::advance();
      OpBuilder builder(call);
      Value workspace = builder.create<AllocOp>(
          call.getLoc(), MemRefType::get({*bytes}, builder.getIntegerType(8)),
          builder.getStringAttr(call.getCallee() + ".workspace"),
          IntegerAttr());
      call.getScratchMutable().assign(workspace);
      ++numWorkspaces;
      workspaceBytes += *bytes;
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
