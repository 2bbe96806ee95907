//===- DataParallel.cpp - A train step over a run-time number of replicas -===//
//
// Implements `simclr-data-parallel` (Passes.td): global negatives through an
// all_gather of the projections, synchronized batch norm by splitting its
// kernels around an all_reduce_sum of their sums, and gradient buckets summed
// as soon as they are ready. The collectives' semantics on buffers are
// ArtifactPlan.h's (EntryKind::kCollective); why this computes exactly one
// replica's step of K*N images: docs/architecture.md, "Data parallelism".
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Dialect/Kernel/Transforms/Passes.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Support/Vocabulary.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::simclr_kernel {
#define GEN_PASS_DEF_SIMCLRDATAPARALLEL
#include "simclr/Dialect/Kernel/Transforms/Passes.h.inc"
} // namespace mlir::simclr_kernel

using namespace mlir;
using namespace mlir::simclr_kernel;
namespace sc = mlir::simclr;

namespace {

/// all_gather / local_slice keep the two views apart: rows [0, N) of every
/// replica are the first views, [N, 2N) the second (binding_role::kViews).
constexpr int64_t kViewBlocks = 2;

int64_t bytesOf(Value value) {
  auto type = cast<ShapedType>(value.getType());
  return type.getNumElements() *
         static_cast<int64_t>((type.getElementTypeBitWidth() + 7) / 8);
}

/// The alloc a buffer value stands for (through views); null for arguments.
Operation *rootOf(Value buffer) {
  while (auto view = buffer.getDefiningOp<ViewOp>())
    buffer = view.getSource();
  return buffer.getDefiningOp<AllocOp>();
}

StringRef nameOf(Value buffer) {
  if (auto alloc = dyn_cast_or_null<AllocOp>(rootOf(buffer)))
    return alloc.getName();
  return "value";
}

/// The single op of type OpT in a kernel's body, or null.
template <typename OpT> OpT findInBody(KernelOp kernel) {
  OpT found;
  for (Operation &op : kernel.getBody().front())
    if (auto typed = dyn_cast<OpT>(op))
      found = typed;
  return found;
}

/// The position of `value` among a kernel body's block arguments.
std::optional<unsigned> argumentIndex(Value value) {
  if (auto argument = dyn_cast<BlockArgument>(value))
    return argument.getArgNumber();
  return std::nullopt;
}

/// The position of `value` among the operands of the body's yield.
std::optional<unsigned> yieldIndex(KernelOp kernel, Value value) {
  auto yield = cast<YieldOp>(kernel.getBody().front().getTerminator());
  for (auto [index, operand] : llvm::enumerate(yield.getValues()))
    if (operand == value)
      return index;
  return std::nullopt;
}

/// Erases the ops of a kernel body that nothing uses any more (the epilogue
/// of a statistics kernel), last first.
void eraseDeadOps(Block &body) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body))) {
      if (op.hasTrait<OpTrait::IsTerminator>() || !op.use_empty())
        continue;
      op.erase();
      changed = true;
    }
  }
}

struct DataParallelPass
    : public mlir::simclr_kernel::impl::SimclrDataParallelBase<DataParallelPass> {
  using SimclrDataParallelBase::SimclrDataParallelBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (func::FuncOp function : module.getOps<func::FuncOp>()) {
      if (function.isExternal())
        continue;
      SmallVector<LaunchOp> ntXent;
      bool trainStep = false;
      function.walk([&](LaunchOp launch) {
        KernelOp kernel = launch.getKernelOp();
        if (kernel && kernel.getKernelKind() == ::simclr::KernelKind::kNtXent)
          ntXent.push_back(launch);
        if (kernel && kernel.getKernelKind() == ::simclr::KernelKind::kOptimizer)
          trainStep = true;
      });
      if (!trainStep)
        continue; // encode
      if (ntXent.empty()) {
        function.emitError() << "a data-parallel train step needs the fused "
                                "NT-Xent kernel (kind nt_xent), which "
                                "--no-fusion and --decompose-nt-xent do not make";
        return signalPassFailure();
      }
      if (ntXent.size() != 1) {
        ntXent[1].emitOpError() << "is a second NT-Xent kernel; a data-"
                                   "parallel step has exactly one";
        return signalPassFailure();
      }
      if (failed(rewriteStep(function, ntXent.front(), symbols)))
        return signalPassFailure();
    }
    // Kernels whose every launch was replaced.
    for (KernelOp kernel : llvm::make_early_inc_range(module.getOps<KernelOp>()))
      if (SymbolTable::symbolKnownUseEmpty(kernel, module))
        kernel.erase();
  }

  LogicalResult rewriteStep(func::FuncOp function, LaunchOp ntXent,
                            SymbolTable &symbols) {
    Value replicas = addReplicasArgument(function);
    // Gradients that the batch-norm backward already sums over replicas.
    llvm::SmallPtrSet<Operation *, 16> globalGradients;
    // batch_mean buffer of a synchronized batch norm -> its summed stats.
    DenseMap<Operation *, Value> statsOfMean;

    SmallVector<LaunchOp> launches;
    function.walk([&](LaunchOp launch) { launches.push_back(launch); });
    for (LaunchOp launch : launches) {
      KernelOp kernel = launch.getKernelOp();
      if (!kernel || kernel.getKernelKind() != ::simclr::KernelKind::kAnchored)
        continue;
      if (auto norm = findInBody<sc::BatchNormTrainOp>(kernel))
        splitForward(launch, kernel, norm, symbols, statsOfMean);
      else if (auto grad = findInBody<sc::BatchNormTrainBackwardOp>(kernel))
        splitBackward(launch, kernel, grad, symbols, globalGradients);
    }
    // Running statistics of the synchronized batch norms (after the loop
    // above: their launches follow the batch norms').
    launches.clear();
    function.walk([&](LaunchOp launch) { launches.push_back(launch); });
    for (LaunchOp launch : launches) {
      KernelOp kernel = launch.getKernelOp();
      auto update = kernel ? findInBody<sc::RunningStatsUpdateOp>(kernel)
                           : sc::RunningStatsUpdateOp();
      if (!update)
        continue;
      std::optional<unsigned> meanInput = argumentIndex(update.getBatchMean());
      Value stats = meanInput ? statsOfMean.lookup(rootOf(
                                    launch.getInputs()[*meanInput]))
                              : Value();
      if (!stats)
        return launch.emitOpError()
               << "updates running statistics that are not those of a "
                  "synchronized batch norm";
      replaceRunningStats(launch, kernel, update, stats, symbols);
    }
    gatherProjections(ntXent, replicas, symbols);
    rescaleSchedules(function, replicas, symbols);
    return bucketGradients(function, globalGradients);
  }

  /// A schedule in epochs counts steps of the global batch: its kernel
  /// reads the replica count (KernelPrinter divides steps_per_epoch by it).
  void rescaleSchedules(func::FuncOp function, Value replicas,
                        SymbolTable &symbols) {
    SmallVector<LaunchOp> launches;
    function.walk([&](LaunchOp launch) {
      KernelOp kernel = launch.getKernelOp();
      auto schedule = kernel ? findInBody<sc::LrScheduleOp>(kernel)
                             : sc::LrScheduleOp();
      if (schedule && schedule.getStepsPerEpoch())
        launches.push_back(launch);
    });
    for (LaunchOp launch : launches) {
      KernelOp kernel = launch.getKernelOp();
      KernelOp global = memoized(kernel, "global_batch", [&] {
        KernelOp k = cloneKernel(kernel, "_global_batch", symbols);
        Block &body = k.getBody().front();
        unsigned index = body.getNumArguments();
        body.addArgument(RankedTensorType::get({}, IntegerType::get(&getContext(), 64)),
                         launch.getLoc());
        k->setAttr(kReplicasOperandAttrName,
                   Builder(&getContext()).getI64IntegerAttr(index));
        return k;
      });
      SmallVector<Value> inputs(launch.getInputs());
      inputs.push_back(replicas);
      OpBuilder builder(launch);
      builder.create<LaunchOp>(launch.getLoc(), global.getSymName(), inputs,
                               launch.getOutputs());
      launch.erase();
    }
  }

  /// The i64 scalar the runtime fills with the replica count
  /// (binding_role::kReplicas).
  Value addReplicasArgument(func::FuncOp function) {
    MLIRContext *context = function.getContext();
    Builder builder(context);
    unsigned index = function.getNumArguments();
    NamedAttribute attrs[] = {
        builder.getNamedAttr(sc::kKindAttrName,
                             builder.getStringAttr(::simclr::value_kind::kReplicas)),
        builder.getNamedAttr(sc::kNameAttrName,
                             builder.getStringAttr(::simclr::binding_role::kReplicas))};
    (void)function.insertArgument(index, MemRefType::get({}, builder.getI64Type()),
                                  builder.getDictionaryAttr(attrs),
                                  function.getLoc());
    return function.getArgument(index);
  }

  /// A copy of `kernel` named after it with `suffix`, right after it.
  KernelOp cloneKernel(KernelOp kernel, StringRef suffix, SymbolTable &symbols) {
    OpBuilder builder(kernel);
    builder.setInsertionPointAfter(kernel);
    auto clone = cast<KernelOp>(builder.clone(*kernel));
    clone.setSymName((kernel.getSymName() + suffix).str());
    symbols.insert(clone); // renames it if the name is taken
    return clone;
  }

  /// Once per (kernel, role): launches of one kernel share its clones.
  KernelOp memoized(KernelOp kernel, StringRef role,
                    llvm::function_ref<KernelOp()> make) {
    std::string key = (kernel.getSymName() + "/" + role).str();
    auto it = clones.find(key);
    if (it != clones.end())
      return it->second;
    KernelOp made = make();
    clones[key] = made;
    return made;
  }

  Value allocLike(OpBuilder &builder, Location loc, Type type, StringRef name) {
    return builder.create<AllocOp>(loc, cast<MemRefType>(type), name,
                                   IntegerAttr());
  }

  void allReduceInPlace(OpBuilder &builder, Location loc, ValueRange buffers) {
    builder.create<CollectiveOp>(
        loc, ::simclr::collectiveKindName(::simclr::CollectiveKind::kAllReduceSum),
        ::simclr::kReplicaGroup, buffers, buffers, IntegerAttr());
  }

  /// Splits `launch` of `kernel`, anchored on an AnchorOp, into
  ///   prologue + statistics(anchor) -> a 3 x `channels` f64 buffer;
  ///   all_reduce_sum of that buffer, in place;
  ///   prologue + apply(anchor, summed buffer) + epilogue
  /// and returns the summed buffer. `statistics` builds the sums op from
  /// the anchor, `apply` the op replacing the anchor (same results).
  template <typename AnchorOp>
  Value splitAroundSums(
      LaunchOp launch, KernelOp kernel, int64_t channels, StringRef suffix,
      SymbolTable &symbols,
      llvm::function_ref<Value(OpBuilder &, AnchorOp, Type)> statistics,
      llvm::function_ref<Operation *(OpBuilder &, AnchorOp, Value)> apply) {
    RankedTensorType statsTensor =
        sc::batchNormStatisticsType(&getContext(), channels);
    KernelOp statisticsKernel = memoized(kernel, "statistics", [&] {
      KernelOp k = cloneKernel(kernel, "_statistics", symbols);
      auto op = findInBody<AnchorOp>(k);
      OpBuilder b(op);
      Value stats = statistics(b, op, statsTensor);
      k.getBody().front().getTerminator()->setOperands(stats);
      eraseDeadOps(k.getBody().front());
      return k;
    });
    KernelOp applyKernel = memoized(kernel, "apply", [&] {
      KernelOp k = cloneKernel(kernel, "_apply", symbols);
      auto op = findInBody<AnchorOp>(k);
      Value stats = k.getBody().front().addArgument(statsTensor, op.getLoc());
      OpBuilder b(op);
      Operation *applied = apply(b, op, stats);
      op->replaceAllUsesWith(applied->getResults());
      op.erase();
      return k;
    });

    OpBuilder builder(launch);
    Location loc = launch.getLoc();
    Value stats = allocLike(builder, loc,
                            MemRefType::get(statsTensor.getShape(),
                                            statsTensor.getElementType()),
                            (nameOf(launch.getOutputs()[0]) + suffix).str());
    builder.create<LaunchOp>(loc, statisticsKernel.getSymName(),
                             launch.getInputs(), ValueRange{stats});
    allReduceInPlace(builder, loc, stats);
    SmallVector<Value> inputs(launch.getInputs());
    inputs.push_back(stats);
    builder.create<LaunchOp>(loc, applyKernel.getSymName(), inputs,
                             launch.getOutputs());
    ++numBatchNorms;
    return stats;
  }

  /// batch_norm_train -> batch_norm_statistics, batch_norm_apply.
  void splitForward(LaunchOp launch, KernelOp kernel, sc::BatchNormTrainOp norm,
                    SymbolTable &symbols,
                    DenseMap<Operation *, Value> &statsOfMean) {
    int64_t channels = cast<ShapedType>(norm.getBatchMean().getType()).getDimSize(0);
    Value stats = splitAroundSums<sc::BatchNormTrainOp>(
        launch, kernel, channels, ".stats", symbols,
        [](OpBuilder &b, sc::BatchNormTrainOp op, Type type) {
          return b.create<sc::BatchNormStatisticsOp>(
                      op.getLoc(), TypeRange{type}, ValueRange{op.getInput()},
                      ArrayRef<NamedAttribute>{})
              ->getResult(0);
        },
        [](OpBuilder &b, sc::BatchNormTrainOp op, Value sums) {
          return b.create<sc::BatchNormApplyOp>(
              op.getLoc(), op->getResultTypes(),
              ValueRange{op.getInput(), op.getScale(), op.getShift(), sums},
              op->getAttrs());
        });
    if (std::optional<unsigned> mean = yieldIndex(kernel, norm.getBatchMean()))
      statsOfMean[rootOf(launch.getOutputs()[*mean])] = stats;
    launch.erase();
  }

  /// batch_norm_train_backward -> batch_norm_backward_statistics,
  /// batch_norm_backward_apply, whose scale and shift gradients are then
  /// the global ones.
  void splitBackward(LaunchOp launch, KernelOp kernel,
                     sc::BatchNormTrainBackwardOp grad, SymbolTable &symbols,
                     llvm::SmallPtrSet<Operation *, 16> &globalGradients) {
    int64_t channels = cast<ShapedType>(grad.getBatchMean().getType()).getDimSize(0);
    splitAroundSums<sc::BatchNormTrainBackwardOp>(
        launch, kernel, channels, ".grad_stats", symbols,
        [](OpBuilder &b, sc::BatchNormTrainBackwardOp op, Type type) {
          return b.create<sc::BatchNormBackwardStatisticsOp>(
                      op.getLoc(), TypeRange{type},
                      ValueRange{op.getGradOutput(), op.getInput(),
                                 op.getBatchMean(), op.getBatchVar()},
                      op->getAttrs())
              ->getResult(0);
        },
        [](OpBuilder &b, sc::BatchNormTrainBackwardOp op, Value sums) {
          return b.create<sc::BatchNormBackwardApplyOp>(
              op.getLoc(), op->getResultTypes(),
              ValueRange{op.getGradOutput(), op.getInput(), op.getScale(),
                         op.getBatchMean(), op.getBatchVar(), sums},
              op->getAttrs());
        });
    for (Value summed : {grad.getGradScale(), grad.getGradShift()})
      if (std::optional<unsigned> index = yieldIndex(kernel, summed))
        globalGradients.insert(rootOf(launch.getOutputs()[*index]));
    launch.erase();
  }

  /// running_stats_update(rm, rv, mean, var) -> running_stats_from_sums(rm,
  /// rv, stats): the unbiased variance needs the global count.
  void replaceRunningStats(LaunchOp launch, KernelOp kernel,
                           sc::RunningStatsUpdateOp update, Value stats,
                           SymbolTable &symbols) {
    auto statsTensor = RankedTensorType::get(
        cast<MemRefType>(stats.getType()).getShape(),
        cast<MemRefType>(stats.getType()).getElementType());
    KernelOp fromSums = memoized(kernel, "from_sums", [&] {
      OpBuilder b(kernel);
      b.setInsertionPointAfter(kernel);
      auto k = b.create<KernelOp>(kernel.getLoc(),
                                  (kernel.getSymName() + "_from_sums").str(),
                                  kernel.getKind());
      symbols.insert(k);
      Block *body = new Block();
      k.getBody().push_back(body);
      Type vector = update.getRunningMean().getType();
      Location loc = update.getLoc();
      Value mean = body->addArgument(vector, loc);
      Value var = body->addArgument(vector, loc);
      Value sums = body->addArgument(statsTensor, loc);
      b.setInsertionPointToStart(body);
      NamedAttribute momentum =
          b.getNamedAttr("momentum", update.getMomentumAttr());
      Operation *op = b.create<sc::RunningStatsFromSumsOp>(
          loc, TypeRange{vector, vector}, ValueRange{mean, var, sums},
          ArrayRef<NamedAttribute>{momentum});
      b.create<YieldOp>(loc, op->getResults());
      return k;
    });
    std::optional<unsigned> meanIndex = argumentIndex(update.getRunningMean());
    std::optional<unsigned> varIndex = argumentIndex(update.getRunningVar());
    OpBuilder builder(launch);
    builder.create<LaunchOp>(launch.getLoc(), fromSums.getSymName(),
                             ValueRange{launch.getInputs()[*meanIndex],
                                        launch.getInputs()[*varIndex], stats},
                             launch.getOutputs());
    launch.erase();
  }

  /// z -> all_gather -> NT-Xent on every replica's rows -> local_slice of
  /// the gradient.
  void gatherProjections(LaunchOp launch, Value replicas, SymbolTable &symbols) {
    KernelOp kernel = launch.getKernelOp();
    KernelOp gathered = cloneKernel(kernel, "_gathered", symbols);
    Block &body = gathered.getBody().front();
    unsigned replicasIndex = body.getNumArguments();
    body.addArgument(RankedTensorType::get({}, IntegerType::get(&getContext(), 64)),
                     launch.getLoc());
    OpBuilder attrs(&getContext());
    gathered->setAttr(kReplicasOperandAttrName,
                      attrs.getI64IntegerAttr(replicasIndex));

    OpBuilder builder(launch);
    Location loc = launch.getLoc();
    IntegerAttr blocks = builder.getI64IntegerAttr(kViewBlocks);
    Value z = launch.getInputs()[0];
    Value gradient = launch.getOutputs()[1];
    auto gatheredAlloc = [&](Value like, StringRef suffix) {
      auto alloc = builder.create<AllocOp>(loc, cast<MemRefType>(like.getType()),
                                           (nameOf(like) + suffix).str(),
                                           IntegerAttr());
      alloc->setAttr(kGatheredAttrName, builder.getUnitAttr());
      return alloc.getResult();
    };
    Value allZ = gatheredAlloc(z, ".gathered");
    builder.create<CollectiveOp>(
        loc, ::simclr::collectiveKindName(::simclr::CollectiveKind::kAllGather),
        ::simclr::kReplicaGroup, ValueRange{z}, ValueRange{allZ}, blocks);
    Value allGradient = gatheredAlloc(gradient, ".gathered");
    builder.create<LaunchOp>(loc, gathered.getSymName(), ValueRange{allZ, replicas},
                             ValueRange{launch.getOutputs()[0], allGradient});
    builder.create<CollectiveOp>(
        loc, ::simclr::collectiveKindName(::simclr::CollectiveKind::kLocalSlice),
        ::simclr::kReplicaGroup, ValueRange{allGradient}, ValueRange{gradient},
        blocks);
    launch.erase();
  }

  /// In-place all_reduce_sum of the optimizer's gradients, in buckets in
  /// the order the backward finishes them, each right after its last
  /// gradient's last writer.
  LogicalResult bucketGradients(func::FuncOp function,
                                const llvm::SmallPtrSet<Operation *, 16> &global) {
    Block &block = function.getBody().front();
    LaunchOp optimizer;
    for (auto launch : block.getOps<LaunchOp>()) {
      KernelOp kernel = launch.getKernelOp();
      if (kernel && kernel.getKernelKind() == ::simclr::KernelKind::kOptimizer)
        optimizer = launch;
    }
    if (!optimizer)
      return function.emitError() << "a data-parallel train step needs an "
                                     "optimizer kernel";
    KernelOp kernel = optimizer.getKernelOp();
    // The gradient inputs, in operand order.
    SmallVector<Value> gradients;
    for (Operation &op : kernel.getBody().front()) {
      Value grad;
      if (auto sgd = dyn_cast<sc::SgdUpdateOp>(op))
        grad = sgd.getGrad();
      else if (auto adamw = dyn_cast<sc::AdamWUpdateOp>(op))
        grad = adamw.getGrad();
      else if (auto lars = dyn_cast<sc::LarsUpdateOp>(op))
        grad = lars.getGrad();
      else
        continue;
      std::optional<unsigned> index = argumentIndex(grad);
      if (!index)
        return op.emitOpError() << "reads a gradient computed inside the "
                                   "optimizer kernel";
      Value buffer = optimizer.getInputs()[*index];
      if (!global.contains(rootOf(buffer)))
        gradients.push_back(buffer);
    }
    // Where each gradient is last written before the optimizer.
    DenseMap<Operation *, unsigned> position;
    unsigned counter = 0;
    for (Operation &op : block)
      position[&op] = counter++;
    auto lastWriter = [&](Value buffer) -> Operation * {
      Operation *root = rootOf(buffer);
      Operation *writer = nullptr;
      for (Operation &op : block) {
        if (&op == optimizer.getOperation())
          break;
        ValueRange outputs;
        if (auto launch = dyn_cast<LaunchOp>(op))
          outputs = launch.getOutputs();
        else if (auto call = dyn_cast<ExternOp>(op))
          outputs = call.getOutputs();
        for (Value output : outputs)
          if (rootOf(output) == root)
            writer = &op;
      }
      return writer;
    };
    SmallVector<std::pair<Operation *, Value>> ready;
    for (Value gradient : gradients) {
      Operation *writer = lastWriter(gradient);
      if (!writer)
        return optimizer.emitOpError() << "reads gradient '" << nameOf(gradient)
                                       << "' that nothing writes";
      ready.push_back({writer, gradient});
    }
    llvm::stable_sort(ready, [&](auto &a, auto &b) {
      return position[a.first] < position[b.first];
    });
    SmallVector<Value> bucket;
    int64_t bucketSize = 0;
    for (auto [index, item] : llvm::enumerate(ready)) {
      bucket.push_back(item.second);
      bucketSize += bytesOf(item.second);
      bool last = index + 1 == ready.size();
      // Gradients written by the same entry (a bias and its weight) stay
      // together.
      bool sameWriterNext = !last && ready[index + 1].first == item.first;
      if (!last && (sameWriterNext || bucketSize < bucketBytes))
        continue;
      OpBuilder builder(item.first->getContext());
      builder.setInsertionPointAfter(item.first);
      allReduceInPlace(builder, item.first->getLoc(), bucket);
      ++numBuckets;
      bucket.clear();
      bucketSize = 0;
    }
    return success();
  }

  llvm::StringMap<KernelOp> clones;
};

} // namespace
