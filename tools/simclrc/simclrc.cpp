//===- simclrc.cpp - The simclr compiler driver ---------------------------===//
//
// simclrc SPEC.toml|GRAPH.mlir [--emit=graph] [-o FILE] [--print-param-count]
//
// Reads a spec (or graph-level .mlir), builds and verifies the `simclr`
// module, runs the pipeline for the requested stage through MLIR's pass
// manager (so --mlir-print-ir-after-all and the other standard IR-printing
// and timing flags apply) and prints the result.
//
//===----------------------------------------------------------------------===//
#include "simclr/Conversion/Passes.h"
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Dialect/Kernel/Transforms/Passes.h"
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Support/TrainingConfig.h"
#include "simclr/Target/Artifact.h"
#include "simclr/Target/Pipeline.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"
#include "simclr/Frontend/GraphBuilder.h"
#include "simclr/Frontend/InitialWeights.h"
#include "simclr/Frontend/SpecReader.h"
#include "simclr/Support/CommonFlags.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {

/// The stage of the pipeline whose IR `--emit` prints, in pipeline order.
enum class EmitKind {
  /// The verified graph-level `simclr` module.
  Graph,
  /// The graph with @train_step: forward, backward, optimizer update.
  TrainStep,
  /// The train step after the fusion passes (simclr.fusion ops).
  Fused,
  /// The kernel level: kernels, launches and extern calls on planned buffers.
  Kernels,
  /// The memory plan of each program: buffers, lifetimes, offsets, peak.
  MemoryPlan,
  /// The generated source of the kernel library (the target's language:
  /// C++ for the CPU).
  Source,
  /// The generated CUDA C++ kernels (--target=cuda).
  CudaSource,
  /// The artifact directory (-o DIR): plan.json, kernels.so, kernels.cpp.
  Artifact,
};

cl::OptionCategory simclrcCategory("simclrc options");
cl::OptionCategory mlirCategory("MLIR options (IR printing, timing, diagnostics)");

/// Shows MLIR's own flags (all named mlir-*) in --help beside simclrc's and
/// hides the thousands of LLVM code-generation flags that libLLVM registers.
void organizeHelp() {
  for (auto &entry : cl::getRegisteredOptions())
    if (entry.getKey().starts_with("mlir-"))
      entry.getValue()->addCategory(mlirCategory);
  cl::HideUnrelatedOptions({&simclrcCategory, &mlirCategory});
}

cl::opt<std::string> inputPath(cl::Positional, cl::desc("<spec.toml | graph.mlir>"),
                               cl::Required, cl::cat(simclrcCategory));

cl::opt<std::string> outputPath(llvm::StringRef(::simclr::flags::kOutput.name),
                                cl::desc(::simclr::flags::kOutput.help),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(simclrcCategory));

cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to produce"), cl::init(EmitKind::Artifact),
    cl::values(clEnumValN(EmitKind::Graph, "graph",
                          "graph-level simclr IR: forward loss, optimizer "
                          "update and feature extraction"),
               clEnumValN(EmitKind::TrainStep, "train-step",
                          "@train_step: two views, forward, NT-Xent, backward "
                          "(simclr-autodiff), optimizer update and schedule"),
               clEnumValN(EmitKind::Fused, "fused",
                          "the train step after fusion (simclr.fusion ops)"),
               clEnumValN(EmitKind::Kernels, "kernels",
                          "kernel level: kernels, launches and library calls "
                          "on buffers with planned offsets"),
               clEnumValN(EmitKind::MemoryPlan, "memory-plan",
                          "each program's buffers, lifetimes and offsets; "
                          "planned peak beside the sum of intermediates"),
               clEnumValN(EmitKind::Source, "cpp",
                          "the generated C++ kernels (--target=cpu)"),
               clEnumValN(EmitKind::CudaSource, "cuda",
                          "the generated CUDA C++ kernels (--target=cuda)"),
               clEnumValN(EmitKind::Artifact, "artifact",
                          "(default) the artifact directory -o DIR that "
                          "simclr-train runs")),
    cl::cat(simclrcCategory));

cl::opt<bool> printParamCount(
    "print-param-count",
    cl::desc("Print the exact number of trainable parameters (encoder, "
             "head, total) and exit"),
    cl::init(false), cl::cat(simclrcCategory));

cl::opt<bool> decomposeNtXent(
    "decompose-nt-xent",
    cl::desc("Express nt_xent through its primitives (matmul, masked scaled "
             "log-softmax, gather) in the emitted graph"),
    cl::init(false), cl::cat(simclrcCategory));

cl::opt<std::string> initWeightsPath(
    "init-weights",
    cl::desc("Write the initial parameters and running statistics (torchvision "
             "names, safetensors) to <file> and exit"),
    cl::value_desc("file"), cl::cat(simclrcCategory));

cl::opt<uint64_t> seed(llvm::StringRef(::simclr::flags::kSeed.name),
                       cl::desc(::simclr::flags::kSeed.help), cl::init(0),
                       cl::cat(simclrcCategory));

cl::opt<bool> viewsAsInput(
    "views-as-input",
    cl::desc("The training step takes the two augmented views (2N x C x H x W "
             "float) instead of uint8 images and an RNG key, for an input "
             "pipeline that augments outside the graph"),
    cl::init(false), cl::cat(simclrcCategory));

cl::opt<bool> dataParallel(
    "data-parallel",
    cl::desc("Compile the train step for data-parallel training over any "
             "number of replicas chosen at run time (mpirun -np K "
             "simclr-train): global NT-Xent negatives, synchronized batch "
             "norm, gradient all-reduce in buckets; the spec's batch size is "
             "each replica's"),
    cl::init(false), cl::cat(simclrcCategory));

cl::opt<int64_t> gradientBucketBytes(
    "gradient-bucket-bytes",
    cl::desc("With --data-parallel: close a gradient all-reduce bucket once it "
             "holds this many bytes; smaller buckets start communicating "
             "earlier in the backward, larger ones pay fewer latencies "
             "(default 4 MiB)"),
    cl::init(4 << 20), cl::value_desc("bytes"), cl::cat(simclrcCategory));

cl::opt<bool> noFusion("no-fusion",
                       cl::desc("Skip the fusion passes (one kernel per op)"),
                       cl::init(false), cl::cat(simclrcCategory));

cl::opt<bool> fusionReport(
    "fusion-report",
    cl::desc("Print graph ops before and kernels after fusion to stderr"),
    cl::init(false), cl::cat(simclrcCategory));

cl::opt<std::string> cacheDirectory(
    "cache-dir",
    cl::desc("Cache of compiled kernel libraries, by content hash (default "
             "$XDG_CACHE_HOME/simclrc or ~/.cache/simclrc; 'none' disables)"),
    cl::value_desc("dir"), cl::cat(simclrcCategory));

cl::opt<std::string> hostCompiler(
    "host-compiler", cl::desc("C++ compiler for the CPU kernels"),
    cl::init("c++"), cl::value_desc("program"), cl::cat(simclrcCategory));

cl::opt<std::string> targetName(
    "target",
    cl::desc("What the kernels are compiled for: cpu (default) or cuda"),
    cl::init("cpu"), cl::value_desc("name"), cl::cat(simclrcCategory));

cl::opt<std::string> targetArchitecture(
    "arch",
    cl::desc("The target's architecture: for cpu an x86-64 level "
             "(x86-64-v2, x86-64-v3, x86-64-v4; default: this machine's), "
             "for cuda a compute capability sm_XY (default sm_90)"),
    cl::value_desc("arch"), cl::cat(simclrcCategory));

cl::opt<std::string> cudaArchitecture(
    "cuda-arch",
    cl::desc("--target=cuda's architecture, sm_XY (default sm_90: H100, "
             "H200); the same as --arch with --target=cuda"),
    cl::value_desc("sm_XY"), cl::cat(simclrcCategory));

/// Prints a one-line error and returns the tool's failure exit code.
int fail(const std::string &message) {
  llvm::errs() << message << "\n";
  return 1;
}

bool isMlirInput() { return StringRef(inputPath).ends_with(".mlir"); }

/// Prints a diagnostic on a graph built from a spec as one line per
/// diagnostic and note: the location is a spec key's FILE:LINE:COL.
LogicalResult printSpecDiagnostic(Diagnostic &diagnostic) {
  auto print = [](Diagnostic &d) {
    if (auto fileLoc = dyn_cast<FileLineColLoc>(d.getLocation())) {
      llvm::errs() << fileLoc.getFilename().getValue();
      // Line 0: the spec as a whole (no key).
      if (fileLoc.getLine() != 0)
        llvm::errs() << ":" << fileLoc.getLine() << ":" << fileLoc.getColumn();
      llvm::errs() << ": ";
    }
    else if (auto nameLoc = dyn_cast<NameLoc>(d.getLocation()))
      llvm::errs() << "spec key '" << nameLoc.getName().getValue() << "': ";
    else
      llvm::errs() << d.getLocation() << ": ";
    switch (d.getSeverity()) {
    case DiagnosticSeverity::Error:
      llvm::errs() << "error: ";
      break;
    case DiagnosticSeverity::Warning:
      llvm::errs() << "warning: ";
      break;
    case DiagnosticSeverity::Note:
      llvm::errs() << "note: ";
      break;
    case DiagnosticSeverity::Remark:
      llvm::errs() << "remark: ";
      break;
    }
    llvm::errs() << d << "\n";
  };
  print(diagnostic);
  for (Diagnostic &note : diagnostic.getNotes())
    print(note);
  return success();
}

/// The spec read by loadInput (none for .mlir input).
std::optional<::simclr::frontend::TrainingSpec> loadedSpec;

/// Reads the input: a spec file through the frontend, or graph IR.
FailureOr<OwningOpRef<ModuleOp>> loadInput(MLIRContext &context,
                                           llvm::SourceMgr &sourceMgr) {
  if (isMlirInput()) {
    std::string error;
    std::unique_ptr<llvm::MemoryBuffer> buffer = openInputFile(inputPath, &error);
    if (!buffer) {
      fail(inputPath + ": error: " + error);
      return failure();
    }
    sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
    OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      return failure();
    return module;
  }
  ::simclr::Expected<::simclr::frontend::TrainingSpec> spec =
      ::simclr::frontend::readSpecFile(inputPath);
  if (!spec) {
    fail(spec.status().message());
    return failure();
  }
  ::simclr::frontend::BuildOptions options;
  // The kernel level takes the augmented views: augmentation runs in the
  // runtime's input pipeline.
  options.viewsAsInput = viewsAsInput || emitKind >= EmitKind::Fused;
  loadedSpec = *spec;
  if (options.viewsAsInput && !viewsAsInput) {
    // The compiled step takes augmented views, but the spec's augmentation
    // policy must still be valid: build and verify the whole graph once.
    ::simclr::frontend::BuildOptions withAugmentation;
    FailureOr<OwningOpRef<ModuleOp>> full =
        ::simclr::frontend::buildSimclrModule(context, *spec, withAugmentation);
    if (failed(full) || failed(verify(**full)))
      return failure();
  }
  return ::simclr::frontend::buildSimclrModule(context, *spec, options);
}

void buildPipeline(PassManager &pm, const mlir::simclr_kernel::Target &target) {
  if (decomposeNtXent)
    pm.addPass(mlir::simclr::createSimclrDecomposeNtXent());
  pm.addPass(createCSEPass());
  if (emitKind == EmitKind::Graph)
    return;
  mlir::simclr_kernel::addTrainStepPasses(pm);
  if (emitKind == EmitKind::TrainStep)
    return;
  if (!noFusion)
    mlir::simclr_kernel::addFusionPasses(pm);
  if (fusionReport && !noFusion) {
    // Counted on the fused graph: each fusion and each remaining op is one
    // kernel, each conv/matmul one library call.
    pm.addPass(mlir::simclr::createSimclrFusionReport());
  }
  if (emitKind == EmitKind::Fused)
    return;
  mlir::simclr_kernel::SimclrDataParallelOptions dataParallelOptions;
  dataParallelOptions.bucketBytes = gradientBucketBytes;
  mlir::simclr_kernel::addKernelPasses(pm, /*fused=*/!noFusion, target,
                                       dataParallel ? &dataParallelOptions : nullptr);
}

/// Where the generated source finds the kernel templates (simclr/Kernels/):
/// $SIMCLR_KERNEL_INCLUDE_DIR, else the source tree this simclrc was built
/// from.
std::string kernelIncludeDirectory() {
  if (const char *dir = std::getenv("SIMCLR_KERNEL_INCLUDE_DIR"); dir && *dir)
    return dir;
  return SIMCLR_KERNEL_INCLUDE_DIR;
}

/// $XDG_CACHE_HOME/simclrc, ~/.cache/simclrc, or none.
std::string defaultCacheDirectory() {
  if (cacheDirectory == "none")
    return "";
  if (!cacheDirectory.empty())
    return cacheDirectory;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/simclrc";
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/simclrc";
  return "";
}

/// The training facts simclr-train needs, from the spec
/// (lib/include/simclr/Support/TrainingConfig.h defines the keys).
std::string trainingJsonOf(const ::simclr::frontend::TrainingSpec &spec) {
  ::simclr::TrainingConfig config;
  config.batchSize = spec.data.batchSize;
  config.imageShape = {spec.data.channels, spec.data.height, spec.data.width};
  config.stepsPerEpoch = spec.stepsPerEpoch();
  config.totalSteps = spec.totalSteps();
  config.seed = spec.seed;
  config.dataset = spec.data.dataset;
  config.datasetSize = spec.data.trainImages;
  config.augmentation = spec.augmentations;
  return ::simclr::trainingConfigToJson(config);
}

/// Prints each program's buffers with lifetimes and offsets.
void printMemoryPlan(ModuleOp module, llvm::raw_ostream &os) {
  FailureOr<::simclr::artifact::Plan> plan =
      mlir::simclr_kernel::buildPlan(module);
  if (failed(plan))
    return;
  for (const ::simclr::artifact::Program &program : plan->programs) {
    os << "program @" << program.name << ": " << program.schedule.size()
       << " schedule entries\n";
    os << "  planned arena (peak): " << program.arenaBytes << " bytes ("
       << llvm::format("%.1f", program.arenaBytes / 1048576.0) << " MiB)\n";
    os << "  sum of intermediates: " << program.sumOfIntermediates
       << " bytes ("
       << llvm::format("%.1f", program.sumOfIntermediates / 1048576.0)
       << " MiB); reuse saves "
       << llvm::format("%.1f", program.sumOfIntermediates == 0
                                   ? 0.0
                                   : 100.0 * (1.0 - double(program.arenaBytes) /
                                                        program.sumOfIntermediates))
       << "%\n";
  }
  os << "state: " << plan->state.size() << " tensors, " << plan->stateBytes
     << " bytes\n";
  os << "\n  offset       bytes  buffer\n";
  for (const ::simclr::artifact::Buffer &buffer : plan->buffers) {
    if (buffer.region != ::simclr::artifact::BufferRegion::kArena)
      continue;
    os << llvm::format("  %10lld %11lld  ", (long long)buffer.offset,
                       (long long)buffer.bytes)
       << buffer.name << "\n";
  }
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  organizeHelp();
  cl::ParseCommandLineOptions(
      argc, argv,
      "simclrc: compiles a SimCLR training spec.\n\n"
      "  simclrc examples/fashion-mnist.toml --emit=graph -o graph.mlir\n"
      "  simclrc examples/cifar10-simclr-paper.toml --print-param-count\n\n"
      "MLIR's IR-printing, timing and diagnostic flags apply (listed below).\n");

  DialectRegistry registry;
  registry.insert<mlir::simclr::SimclrDialect,
                  mlir::simclr_kernel::KernelDialect, func::FuncDialect,
                  memref::MemRefDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics point at spec keys or .mlir lines; dumping the whole
  // operation after each one would bury that line.
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  // .mlir input: MLIR's handler, which quotes the offending source line.
  // Spec input: one line per diagnostic, "FILE:LINE:COL: error: ...", the
  // same form as the spec reader's own errors.
  std::optional<SourceMgrDiagnosticHandler> mlirDiagnostics;
  std::optional<ScopedDiagnosticHandler> specDiagnostics;
  if (isMlirInput())
    mlirDiagnostics.emplace(sourceMgr, &context);
  else
    specDiagnostics.emplace(&context, printSpecDiagnostic);

  FailureOr<OwningOpRef<ModuleOp>> module = loadInput(context, sourceMgr);
  if (failed(module))
    return 1;

  if (printParamCount) {
    FailureOr<::simclr::frontend::ParameterCounts> counts =
        ::simclr::frontend::countParameters(**module);
    if (failed(counts))
      return 1;
    llvm::outs() << "encoder: " << counts->encoder << "\n"
                 << "head: " << counts->head << "\n"
                 << "total: " << counts->total() << "\n";
    return 0;
  }

  if (!initWeightsPath.empty()) {
    ::simclr::Status written =
        ::simclr::frontend::writeInitialWeights(**module, seed, initWeightsPath);
    return written.isOk() ? 0 : fail("simclrc: error: " + written.message());
  }

  if (gradientBucketBytes < 1)
    return fail("simclrc: error: --gradient-bucket-bytes=" +
                std::to_string(gradientBucketBytes) + " must be at least 1");
  if (gradientBucketBytes.getNumOccurrences() && !dataParallel)
    return fail("simclrc: error: --gradient-bucket-bytes applies to --data-parallel");
  if (dataParallel && (noFusion || decomposeNtXent))
    return fail(std::string("simclrc: error: --data-parallel needs the fused "
                            "NT-Xent and optimizer kernels; drop ") +
                (noFusion ? "--no-fusion" : "--decompose-nt-xent"));

  mlir::simclr_kernel::TargetOptions targetOptions;
  targetOptions.architecture = targetArchitecture;
  if (!cudaArchitecture.empty()) {
    if (targetName != "cuda")
      return fail("simclrc: error: --cuda-arch applies to --target=cuda, not --target=" +
                  targetName);
    if (!targetArchitecture.empty() && targetArchitecture != cudaArchitecture)
      return fail("simclrc: error: --arch=" + targetArchitecture +
                  " and --cuda-arch=" + cudaArchitecture + " disagree");
    targetOptions.architecture = cudaArchitecture;
  }
  targetOptions.hostCompiler = hostCompiler;
  targetOptions.kernelIncludeDirectory = kernelIncludeDirectory();
  std::string targetError;
  std::unique_ptr<mlir::simclr_kernel::Target> target =
      mlir::simclr_kernel::createTarget(targetName, targetOptions, targetError);
  if (!target)
    return fail("simclrc: error: " + targetError);
  bool emitSource =
      emitKind == EmitKind::Source || emitKind == EmitKind::CudaSource;
  StringRef sourceLanguage = emitKind == EmitKind::Source ? "cpp" : "cuda";
  if (emitSource && target->getSourceLanguage() != sourceLanguage)
    return fail("simclrc: error: --emit=" + sourceLanguage.str() + " prints " +
                (sourceLanguage == "cpp" ? "C++" : "CUDA C++") +
                ", but --target=" + targetName + " emits " +
                target->getSourceLanguage().str() + " (use --emit=" +
                target->getSourceLanguage().str() + ")");

  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  PassManager pm(&context, ModuleOp::getOperationName());
  TimingScope timingScope = timing.getRootScope();
  pm.enableTiming(timingScope);
  if (failed(applyPassManagerCLOptions(pm)))
    return fail("simclrc: error: invalid pass manager options");
  buildPipeline(pm, *target);
  if (failed(pm.run(**module)))
    return 1;

  if (emitKind == EmitKind::Artifact) {
    if (!loadedSpec)
      return fail("simclrc: error: an artifact is compiled from a spec file "
                  "(it records the spec's training facts), not from .mlir");
    if (outputPath == "-")
      return fail("simclrc: error: the artifact is a directory: pass -o DIR");
    mlir::simclr_kernel::ArtifactOptions options;
    options.outputDirectory = outputPath;
    options.cacheDirectory = defaultCacheDirectory();
    options.specName = llvm::sys::path::filename(inputPath).str();
    auto specText = llvm::MemoryBuffer::getFile(inputPath);
    if (specText)
      options.specSha256 = llvm::toHex(
          llvm::SHA256::hash(llvm::arrayRefFromStringRef((*specText)->getBuffer())),
          /*LowerCase=*/true);
    options.trainingJson = trainingJsonOf(*loadedSpec);
    mlir::simclr_kernel::ArtifactReport report;
    if (failed(mlir::simclr_kernel::writeArtifact(**module, *target, options,
                                                  report)))
      return 1;
    llvm::errs() << "simclrc: wrote " << outputPath << ": " << report.kernelCount
                 << " kernels for " << targetName << " "
                 << target->getArchitecture() << ", library compile "
                 << (report.cacheHit ? "cached" : "cold") << " "
                 << llvm::format("%.2f", report.libraryCompileSeconds)
                 << " s\n";
    return 0;
  }

  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> output = openOutputFile(outputPath, &error);
  if (!output)
    return fail(outputPath + ": error: " + error);
  if (emitKind == EmitKind::MemoryPlan) {
    printMemoryPlan(**module, output->os());
  } else if (emitSource) {
    FailureOr<mlir::simclr_kernel::KernelSource> source =
        target->emitKernels(**module);
    if (failed(source))
      return 1;
    output->os() << source->text;
  } else {
    (*module)->print(output->os());
    output->os() << "\n";
  }
  output->keep();
  return 0;
}
