//===- MlirFuzzer.cpp - Fuzzes the simclr and simclr_kernel dialects' text -===//
//
// Input: MLIR text. MLIR's parser reads it, our custom assembly formats,
// attribute/type parsers and verifiers judge it. A module that parses and
// verifies must print (custom form) and parse and verify again: what the
// compiler writes between stages (simclrc --emit=...) it must read back.
//
// One MLIRContext serves kInputsPerContext inputs: creating one per input
// costs milliseconds, and a context never frees the attributes and types it
// uniqued, so reusing one forever would grow without bound.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

constexpr int kInputsPerContext = 1000;

/// The dialects simclr-opt and simclrc register.
std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registry.insert<mlir::simclr::SimclrDialect,
                  mlir::simclr_kernel::KernelDialect, mlir::func::FuncDialect,
                  mlir::memref::MemRefDialect>();
  auto context = std::make_unique<mlir::MLIRContext>(
      registry, mlir::MLIRContext::Threading::DISABLED);
  context->loadAllAvailableDialects();
  context->printOpOnDiagnostic(false);
  context->printStackTraceOnDiagnostic(false);
  return context;
}

/// Parses `text` as a module and verifies it; null when either fails.
mlir::OwningOpRef<mlir::ModuleOp> parseAndVerify(mlir::MLIRContext &context,
                                                 llvm::StringRef text) {
  mlir::ParserConfig config(&context, /*verifyAfterParse=*/false);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, config);
  if (!module || mlir::failed(mlir::verify(*module)))
    return nullptr;
  return module;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static std::unique_ptr<mlir::MLIRContext> context;
  static int inputsInContext = 0;
  if (!context || inputsInContext++ == kInputsPerContext) {
    context.reset();
    context = makeContext();
    inputsInContext = 0;
  }
  // Diagnostics are the expected outcome of most inputs; printing them would
  // only slow the fuzzer down.
  mlir::ScopedDiagnosticHandler silence(
      context.get(), [](mlir::Diagnostic &) { return mlir::success(); });

  // MLIR's lexer stops at a NUL, as files read through MemoryBuffer end in
  // one: the copy gives the fuzzer's bytes that terminator.
  std::string text(reinterpret_cast<const char *>(data), size);
  mlir::OwningOpRef<mlir::ModuleOp> module = parseAndVerify(*context, text);
  if (!module)
    return 0;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  os.flush();
  if (!parseAndVerify(*context, printed)) {
    std::fprintf(stderr, "mlir: a verified module does not read back:\n%s\n",
                 printed.c_str());
    std::abort();
  }
  return 0;
}
