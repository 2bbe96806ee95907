//===- SimclrDialect.cpp - The simclr dialect and its types ---------------===//
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/IR/SimclrTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::simclr;

#include "simclr/Dialect/Simclr/IR/SimclrDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "simclr/Dialect/Simclr/IR/SimclrTypes.cpp.inc"

#include "simclr/Dialect/Simclr/IR/SimclrInterfaces.cpp.inc"

DictionaryAttr mlir::simclr::getKindAndNameAttrs(MLIRContext *context, StringRef kind,
                                                StringRef name) {
  NamedAttrList attrs;
  attrs.append(kKindAttrName, StringAttr::get(context, kind));
  if (!name.empty())
    attrs.append(kNameAttrName, StringAttr::get(context, name));
  return attrs.getDictionary(context);
}

void SimclrDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "simclr/Dialect/Simclr/IR/SimclrOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "simclr/Dialect/Simclr/IR/SimclrTypes.cpp.inc"
      >();
}
