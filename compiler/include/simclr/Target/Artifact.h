//===- Artifact.h - Writes a compiled artifact directory ---------*- C++ -*-===//
//
// The last step of `simclrc SPEC -o DIR`: from a planned kernel-level module
// (after simclr-lower-to-kernels and simclr-plan-memory) build the runtime's
// Plan (lib/include/simclr/Support/ArtifactPlan.h), emit the kernels' C++,
// compile it with the host compiler into DIR/kernels.so (through a
// content-addressed cache, so an unchanged recompile costs no compiler run)
// and write DIR/plan.json.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TARGET_ARTIFACT_H
#define SIMCLR_TARGET_ARTIFACT_H

#include "simclr/Support/ArtifactPlan.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::simclr_kernel {

struct ArtifactOptions {
  std::string outputDirectory;
  /// Where compiled kernel libraries are kept by content hash; empty: no
  /// cache.
  std::string cacheDirectory;
  /// The host C++ compiler and its flags.
  std::string compiler = "c++";
  std::vector<std::string> compilerFlags = {
      "-std=c++17", "-O3", "-march=native", "-fno-math-errno", "-fopenmp",
      "-fPIC", "-shared"};
  /// Directory holding simclr/Kernels/Cpu/CpuKernels.h.
  std::string kernelIncludeDirectory;
  /// Recorded in the plan.
  std::string specName;
  std::string specSha256;
  std::string trainingJson;
  /// Also write the emitted C++ here when non-empty (--emit=cpp).
  bool keepSource = true;
};

struct ArtifactReport {
  int kernelCount = 0;
  bool cacheHit = false;
  double hostCompileSeconds = 0;
  std::string libraryPath;
  std::string planPath;
};

/// Builds the runtime's plan from a planned kernel-level module; the kernel
/// library fields are left empty. Errors are emitted at the op.
FailureOr<::simclr::artifact::Plan> buildPlan(ModuleOp module);

/// Emits, compiles and writes the whole artifact. A failing host compiler
/// is reported with its message and the generated file's path.
LogicalResult writeArtifact(ModuleOp module, const ArtifactOptions &options,
                            ArtifactReport &report);

} // namespace mlir::simclr_kernel

#endif // SIMCLR_TARGET_ARTIFACT_H
