//===- FusionReport.cpp - Kernel counts of each function -----------------===//
//
// Implements `simclr-fusion-report`: one line per function with the graph
// ops inside and outside fusions and the kernels they become (each fusion
// one kernel; each other op one, a library call or "other", except reshape
// and constants, which are free). Changes no IR.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLRFUSIONREPORT
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;

namespace {

/// The output option's value that selects stderr.
constexpr StringLiteral kStderr = "-";

struct KernelCounts {
  unsigned inFusions = 0;
  unsigned outside = 0;
  unsigned fusions[4] = {0, 0, 0, 0}; // by FusionKind
  unsigned libraryCalls = 0;
  unsigned other = 0;

  unsigned kernels() const {
    return fusions[0] + fusions[1] + fusions[2] + fusions[3] + libraryCalls + other;
  }
};

/// Ops the lowering maps onto a library (oneDNN, cuDNN, BLAS) call.
bool isLibraryCall(Operation *op) {
  return isa<Conv2DOp, Conv2DBackwardInputOp, Conv2DBackwardFilterOp, MatmulOp>(op);
}

/// Ops that need no kernel: a reshape is a view, a constant is data.
bool isFree(Operation *op) { return isa<ReshapeOp>(op) || op->hasTrait<OpTrait::ConstantLike>(); }

KernelCounts countKernels(func::FuncOp func) {
  KernelCounts counts;
  for (Operation &op : func.getBody().getOps()) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      continue;
    if (auto fusion = dyn_cast<FusionOp>(op)) {
      ++counts.fusions[static_cast<unsigned>(fusion.getKind())];
      counts.inFusions += llvm::range_size(fusion.getBodyBlock().without_terminator());
      continue;
    }
    ++counts.outside;
    if (isLibraryCall(&op))
      ++counts.libraryCalls;
    else if (!isFree(&op))
      ++counts.other;
  }
  return counts;
}

struct SimclrFusionReportPass
    : mlir::simclr::impl::SimclrFusionReportBase<SimclrFusionReportPass> {
  using SimclrFusionReportBase::SimclrFusionReportBase;

  void runOnOperation() override {
    std::unique_ptr<llvm::ToolOutputFile> file;
    llvm::raw_ostream *os = &llvm::errs();
    if (output != kStderr) {
      std::string error;
      file = openOutputFile(output, &error);
      if (!file) {
        getOperation().emitError() << "cannot write the fusion report: " << error;
        return signalPassFailure();
      }
      os = &file->os();
    }
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      KernelCounts c = countKernels(func);
      *os << "@" << func.getName() << ": " << c.inFusions + c.outside << " graph ops ("
          << c.inFusions << " in fusions, " << c.outside << " outside) -> " << c.kernels()
          << " kernels (" << c.fusions[static_cast<unsigned>(FusionKind::Elementwise)]
          << " elementwise, " << c.fusions[static_cast<unsigned>(FusionKind::Anchored)]
          << " anchored, " << c.fusions[static_cast<unsigned>(FusionKind::NtXent)]
          << " nt_xent, " << c.fusions[static_cast<unsigned>(FusionKind::Optimizer)]
          << " optimizer fusions; " << c.libraryCalls << " library calls; " << c.other
          << " other)\n";
    }
    if (file)
      file->keep();
    markAllAnalysesPreserved();
  }
};

} // namespace
