//===- InitialWeights.h - Writing a module's initial weights -----*- C++ -*-===//
#ifndef SIMCLR_FRONTEND_INITIALWEIGHTS_H
#define SIMCLR_FRONTEND_INITIALWEIGHTS_H

#include "simclr/Support/Status.h"

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>

namespace simclr::frontend {

/// Initializes every argument of `module`'s first function that carries a
/// simclr.init attribute (parameters and running statistics, f32) with
/// simclr::initializeTensor and `seed`, and writes them, by simclr.name, to
/// the safetensors file `path` (atomically). A PyTorch user loads the
/// encoder's tensors into torchvision's ResNet directly
/// (scripts/export_to_torchvision.py). Errors are one line naming the
/// argument or the file.
Status writeInitialWeights(mlir::ModuleOp module, uint64_t seed, const std::string &path);

} // namespace simclr::frontend

#endif // SIMCLR_FRONTEND_INITIALWEIGHTS_H
