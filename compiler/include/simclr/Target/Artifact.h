//===- Artifact.h - Writes a compiled artifact directory ---------*- C++ -*-===//
//
// The last step of `simclrc SPEC -o DIR`: from a planned kernel-level module
// (after simclr-lower-to-kernels and simclr-plan-memory) build the runtime's
// Plan (lib/include/simclr/Support/ArtifactPlan.h), have the target emit
// its kernels' source and compile it into DIR/<library> (through a
// content-addressed cache, so an unchanged recompile costs no toolchain
// run) and write DIR/plan.json. Target-neutral: everything the target
// decides comes through simclr/Target/Target.h.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TARGET_ARTIFACT_H
#define SIMCLR_TARGET_ARTIFACT_H

#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Target/Target.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"

#include <string>
#include <vector>

namespace mlir::simclr_kernel {

struct ArtifactOptions {
  std::string outputDirectory;
  /// Where compiled kernel libraries are kept by content hash; empty: no
  /// cache.
  std::string cacheDirectory;
  /// Recorded in the plan.
  std::string specName;
  std::string specSha256;
  std::string trainingJson;
  /// Keep the generated source beside the library, for reading.
  bool keepSource = true;
};

struct ArtifactReport {
  int kernelCount = 0;
  bool cacheHit = false;
  double libraryCompileSeconds = 0;
  std::string libraryPath;
  std::string planPath;
};

class ExternOp;

/// The module attribute (a string) through which writeArtifact hands
/// artifact::kernelBindingDigest of the plan to the target's emitter, which
/// bakes it into the library (artifact::kBindingsSymbol).
inline constexpr llvm::StringLiteral kBindingDigestAttrName = "simclr_kernel.binding_digest";

/// The parameters of an extern call as the plan writes them (its
/// attributes but the callee and operand segments).
FailureOr<::simclr::artifact::AttrMap> getExternAttributes(ExternOp call);
/// A plan buffer (name, dtype, shape, layout, bytes) for a buffer of
/// `type`; id, region and offset are the caller's.
::simclr::artifact::Buffer describeBuffer(StringRef name, MemRefType type);

/// Builds the runtime's plan from a planned kernel-level module; the kernel
/// library fields are left empty. Errors are emitted at the op.
FailureOr<::simclr::artifact::Plan> buildPlan(ModuleOp module);

/// Emits, compiles and writes the whole artifact for `target`. A failing
/// toolchain is reported with its message and the generated file's path.
LogicalResult writeArtifact(ModuleOp module, const Target &target,
                            const ArtifactOptions &options,
                            ArtifactReport &report);

} // namespace mlir::simclr_kernel

#endif // SIMCLR_TARGET_ARTIFACT_H
