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
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"
#include "simclr/Frontend/GraphBuilder.h"
#include "simclr/Frontend/InitialWeights.h"
#include "simclr/Frontend/SpecReader.h"
#include "simclr/Support/CommonFlags.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {

/// The stage of the pipeline whose IR `--emit` prints.
enum class EmitKind {
  /// The verified graph-level `simclr` module.
  Graph,
  /// The graph with @train_step: forward, backward, optimizer update.
  TrainStep,
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
    "emit", cl::desc("The stage to print"), cl::init(EmitKind::Graph),
    cl::values(clEnumValN(EmitKind::Graph, "graph",
                          "graph-level simclr IR: forward loss, optimizer "
                          "update and feature extraction"),
               clEnumValN(EmitKind::TrainStep, "train-step",
                          "@train_step: two views, forward, NT-Xent, backward "
                          "(simclr-autodiff), optimizer update and schedule")),
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
  options.viewsAsInput = viewsAsInput;
  return ::simclr::frontend::buildSimclrModule(context, *spec, options);
}

void buildPipeline(PassManager &pm) {
  if (decomposeNtXent)
    pm.addPass(mlir::simclr::createSimclrDecomposeNtXent());
  pm.addPass(createCSEPass());
  if (emitKind == EmitKind::Graph)
    return;
  mlir::simclr::SimclrAutodiffOptions autodiff;
  autodiff.replaceSource = true;
  pm.addPass(mlir::simclr::createSimclrAutodiff(autodiff));
  pm.addPass(mlir::simclr::createSimclrBuildTrainStep());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
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
  registry.insert<mlir::simclr::SimclrDialect, func::FuncDialect>();
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

  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  PassManager pm(&context, ModuleOp::getOperationName());
  TimingScope timingScope = timing.getRootScope();
  pm.enableTiming(timingScope);
  if (failed(applyPassManagerCLOptions(pm)))
    return fail("simclrc: error: invalid pass manager options");
  buildPipeline(pm);
  if (failed(pm.run(**module)))
    return 1;

  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> output = openOutputFile(outputPath, &error);
  if (!output)
    return fail(outputPath + ": error: " + error);
  (*module)->print(output->os());
  output->os() << "\n";
  output->keep();
  return 0;
}
