//===- CompileArtifact.h - A spec through simclrc's pipeline, in process -*- C++ -*-===//
#ifndef SIMCLR_TEST_UNIT_COMPILED_COMPILEARTIFACT_H
#define SIMCLR_TEST_UNIT_COMPILED_COMPILEARTIFACT_H

#include "simclr/Frontend/TrainingSpec.h"
#include "simclr/Runtime/Executor.h"

#include "mlir/IR/MLIRContext.h"

#include <memory>
#include <string>

namespace simclr::testing {

/// Compiles `spec` (views as input, as simclrc) for the CPU target of this
/// machine into artifact directory `dir`, fused or not, and loads it; null
/// after a failure, which is reported as a test failure.
std::shared_ptr<const runtime::Artifact>
compileArtifact(mlir::MLIRContext &context, const frontend::TrainingSpec &spec,
                bool fused, const std::string &dir);

/// A fresh directory for the running test instance (ctest runs them in
/// parallel): $SIMCLR_TEST_TMPDIR or /tmp, "compiled-<test>-<name>".
std::string scratchDirectory(const std::string &name);

} // namespace simclr::testing

#endif // SIMCLR_TEST_UNIT_COMPILED_COMPILEARTIFACT_H
