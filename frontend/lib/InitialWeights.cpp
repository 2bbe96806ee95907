//===- InitialWeights.cpp - Writing a module's initial weights ------------===//
#include "simclr/Frontend/InitialWeights.h"

#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Support/ParameterInit.h"
#include "simclr/Support/Safetensors.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::simclr;

namespace simclr::frontend {

LogicalResult writeInitialWeights(ModuleOp module, uint64_t seed, const std::string &path) {
  func::FuncOp func;
  for (auto candidate : module.getOps<func::FuncOp>()) {
    func = candidate;
    break;
  }
  if (!func)
    return module.emitError() << "has no function whose arguments to initialize";

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
      return func.emitError() << "argument " << i
                              << " needs a simclr.name and an f32 type to be initialized";
    Expected<InitKind> kind = parseInitKind(init.getValue().str());
    if (!kind)
      return func.emitError() << "argument " << i << ": " << kind.status().message();
    auto fanIn = func.getArgAttrOfType<IntegerAttr>(i, kFanInAttrName);
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    std::vector<float> values;
    Status status = initializeTensor(*kind, shape, fanIn ? fanIn.getInt() : 0, seed,
                                     name.getValue().str(), values);
    if (!status.isOk())
      return func.emitError() << status.message();
    status = writer.add(name.getValue().str(), DType::kF32, shape, values.data());
    if (!status.isOk())
      return func.emitError() << status.message();
    ++tensors;
  }
  if (tensors == 0)
    return func.emitError() << "has no argument with a simclr.init attribute";
  Status written = writer.writeAtomically(path);
  if (!written.isOk())
    return module.emitError() << written.message();
  return success();
}

} // namespace simclr::frontend
