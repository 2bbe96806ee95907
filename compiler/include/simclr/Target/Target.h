//===- Target.h - What a code-generation target implements -------*- C++ -*-===//
//
// simclrc compiles one kernel-level module for one target, chosen with
// --target. Everything target-specific sits behind this interface, in the
// target's own folder (compiler/lib/Target/<Name>/): its emitter (a printer
// of the kernel descriptions), its toolchain and cache key, its layout
// preference and the passes that size its library calls' workspaces.
// Artifact.cpp, the pipeline and the driver only talk to a Target, so a new
// target adds files and one line in TargetRegistry.cpp (docs/architecture.md,
// "Targets").
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TARGET_TARGET_H
#define SIMCLR_TARGET_TARGET_H

#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/Vocabulary.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mlir::simclr_kernel {

/// The generated source of a kernel library.
struct KernelSource {
  /// The whole translation unit.
  std::string text;
  /// A hash of the kernels' source, also returned by the library's
  /// simclr_kernel_library_fingerprint(); the plan records it.
  std::string fingerprint;
  /// Kernel functions in it.
  int kernelCount = 0;
  /// Attributes the target adds to the plan's schedule entries of each
  /// kernel, by kernel name (a GPU kernel's launches).
  std::map<std::string, ::simclr::artifact::AttrMap> entryAttributes;
};

/// What simclrc's command line tells a target.
struct TargetOptions {
  /// The target's architecture in its own terms (the CPU: x86-64-v2/v3/v4);
  /// empty: the build machine's (the CPU) or the target's default.
  std::string architecture;
  /// The host C++ compiler (the CPU target's toolchain).
  std::string hostCompiler = "c++";
  /// Directory holding simclr/Kernels/ (the kernel templates the generated
  /// source includes).
  std::string kernelIncludeDirectory;
};

class Target {
public:
  virtual ~Target();

  virtual ::simclr::TargetKind getKind() const = 0;
  /// What the library is compiled for (plan.json's library.architecture).
  virtual std::string getArchitecture() const = 0;
  /// The layout activation buffers should have for this target's kernels
  /// and library routines (simclr-assign-layouts' preference).
  virtual ::simclr::Layout getActivationLayout() const = 0;
  /// Kernel-level passes only this target knows, run after layouts are
  /// assigned and before memory planning (the CPU: oneDNN workspace sizes).
  virtual void addTargetPasses(OpPassManager &pm) const = 0;

  /// The language of the generated source, as --emit names it ("cpp").
  virtual StringRef getSourceLanguage() const = 0;
  /// Prints every kernel of `module` (described, layouts assigned).
  virtual FailureOr<KernelSource> emitKernels(ModuleOp module) const = 0;
  /// File names inside the artifact directory.
  virtual StringRef getSourceFileName() const = 0;
  virtual StringRef getLibraryFileName() const = 0;
  /// Everything besides the source that determines the library's bytes
  /// (compiler identity and version, flags, template headers' text): with
  /// the source, the key of the kernel-library cache.
  virtual std::string getToolchainKey() const = 0;
  /// Compiles `sourcePath` into `libraryPath`; on failure `messages` holds
  /// the toolchain's output.
  virtual LogicalResult compileLibrary(const std::string &sourcePath,
                                       const std::string &libraryPath,
                                       std::string &messages) const = 0;
};

/// The target named `name` (a TargetKind name), configured by `options`;
/// an unknown name or an invalid option is an error message in `error`.
std::unique_ptr<Target> createTarget(StringRef name,
                                     const TargetOptions &options,
                                     std::string &error);

} // namespace mlir::simclr_kernel

#endif // SIMCLR_TARGET_TARGET_H
