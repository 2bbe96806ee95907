//===- InitialWeights.cpp - Writing a module's initial weights ------------===//
#include "simclr/Frontend/InitialWeights.h"

#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Support/ParameterInit.h"
#include "simclr/Support/Safetensors.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::simclr;

namespace simclr::frontend {

/// "function @NAME argument I ('NAME'): MESSAGE".
Status argumentError(func::FuncOp func, unsigned index, StringAttr name,
                     const std::string &message) {
  std::string where = "function @" + func.getSymName().str() + " argument " +
                      std::to_string(index);
  if (name)
    where += " ('" + name.getValue().str() + "')";
  return invalidArgument(where + ": " + message);
}

Status writeInitialWeights(ModuleOp module, uint64_t seed, const std::string &path) {
  func::FuncOp func;
  for (auto candidate : module.getOps<func::FuncOp>()) {
    func = candidate;
    break;
  }
  if (!func)
    return invalidArgument("the module has no function whose arguments to initialize");

  SafetensorsWriter writer;
  writer.setMetadata("format", "simclr-weights");
  writer.setMetadata("seed", std::to_string(seed));
  int64_t tensors = 0;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto init = func.getArgAttrOfType<StringAttr>(i, kInitAttrName);
    if (!init)
      continue;
    auto name = func.getArgAttrOfType<StringAttr>(i, kNameAttrName);
    auto type = cast<RankedTensorType>(func.getArgumentTypes()[i]);
    if (!name || !type.getElementType().isF32())
      return argumentError(func, i, name,
                           "needs a simclr.name and an f32 type to be initialized");
    Expected<InitKind> kind = parseInitKind(init.getValue().str());
    if (!kind)
      return argumentError(func, i, name, kind.status().message());
    auto fanIn = func.getArgAttrOfType<IntegerAttr>(i, kFanInAttrName);
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    std::vector<float> values;
    Status status = initializeTensor(*kind, shape, fanIn ? fanIn.getInt() : 0, seed,
                                     name.getValue().str(), values);
    if (!status.isOk())
      return argumentError(func, i, name, status.message());
    SIMCLR_RETURN_IF_ERROR(
        writer.add(name.getValue().str(), DType::kF32, shape, values.data()));
    ++tensors;
  }
  if (tensors == 0)
    return invalidArgument("function @" + func.getSymName().str() +
                           " has no argument with a simclr.init attribute");
  return writer.writeAtomically(path);
}

} // namespace simclr::frontend
