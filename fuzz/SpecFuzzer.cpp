//===- SpecFuzzer.cpp - Fuzzes simclrc's front half: spec to verified graph -===//
//
// Input: spec TOML. The path of `simclrc SPEC --emit=graph` in process:
// parseSpec (TOML, keys, types, validateSpec), buildSimclrModule, the
// verifier, the parameter count (--print-param-count) and the graph
// pipeline's CSE. A spec that validates must build a module that verifies,
// or fail with diagnostics located in the spec (simclrc prints them as
// FILE:LINE:COL): a crash, an unlocated diagnostic or a silent failure is a
// finding.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Frontend/GraphBuilder.h"
#include "simclr/Frontend/SpecReader.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

/// As MlirFuzzer.cpp: a context is reused, but not forever (it never frees
/// uniqued attributes and types).
constexpr int kInputsPerContext = 200;

std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registry.insert<mlir::simclr::SimclrDialect,
                  mlir::simclr_kernel::KernelDialect, mlir::func::FuncDialect,
                  mlir::memref::MemRefDialect>();
  auto context = std::make_unique<mlir::MLIRContext>(
      registry, mlir::MLIRContext::Threading::DISABLED);
  context->loadAllAvailableDialects();
  context->printOpOnDiagnostic(false);
  return context;
}

[[noreturn]] void finding(const std::string &what) {
  std::fprintf(stderr, "spec: %s\n", what.c_str());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  simclr::Expected<simclr::frontend::TrainingSpec> spec =
      simclr::frontend::parseSpec(text, "fuzz.toml");
  if (!spec) {
    const std::string &message = spec.status().message();
    if (message.empty() || message.find('\n') != std::string::npos)
      finding("error not one line: '" + message + "'");
    return 0;
  }

  static std::unique_ptr<mlir::MLIRContext> context;
  static int inputsInContext = 0;
  if (!context || inputsInContext++ == kInputsPerContext) {
    context.reset();
    context = makeContext();
    inputsInContext = 0;
  }
  // Some constraints (a blur kernel wider than the cropped image) are left to
  // the graph verifier, which locates them in the spec. Every diagnostic
  // must point there: a FILE:LINE:COL of a key, or the key's name.
  std::string diagnostics;
  bool unlocated = false;
  mlir::ScopedDiagnosticHandler collect(
      context.get(), [&](mlir::Diagnostic &diagnostic) {
        diagnostics += diagnostic.str() + "; ";
        mlir::Location loc = diagnostic.getLocation();
        if (!mlir::isa<mlir::FileLineColLoc, mlir::NameLoc>(loc))
          unlocated = true;
        return mlir::success();
      });

  mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> module =
      simclr::frontend::buildSimclrModule(*context, *spec);
  bool built = mlir::succeeded(module) && mlir::succeeded(mlir::verify(**module));
  if (unlocated)
    finding("a diagnostic not located in the spec: " + diagnostics);
  if (!built) {
    if (diagnostics.empty())
      finding("a validated spec fails to build without a diagnostic");
    return 0;
  }
  if (mlir::failed(simclr::frontend::countParameters(**module)))
    finding("cannot count the parameters of a built module: " + diagnostics);
  mlir::PassManager pm(context.get());
  pm.addPass(mlir::createCSEPass());
  if (mlir::failed(pm.run(**module)))
    finding("the graph pipeline fails on a built module: " + diagnostics);
  return 0;
}
