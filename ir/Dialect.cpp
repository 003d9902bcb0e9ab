//===- Dialect.cpp - the nn dialect and its ABI attributes ---------------===//
#include "ir/Dialect.h"
#include "ir/Signature.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace kiln::nn;

#include "ir/Interfaces.cpp.inc"
#include "ir/NNOpsDialect.cpp.inc"

void NNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ir/NNOps.cpp.inc"
      >();
}

Operation *NNDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                          Location loc) {
  if (auto elements = dyn_cast<ElementsAttr>(value); elements && elements.getType() == type)
    return builder.create<ConstantOp>(loc, elements);
  return nullptr;
}


static LogicalResult verifyName(Operation *op, NamedAttribute attr, StringRef what) {
  auto name = dyn_cast<StringAttr>(attr.getValue());
  if (!name)
    return op->emitError() << "'" << kNameAttr << "' of " << what << " must be a string, got "
                           << attr.getValue();
  if (!isTensorName(name.getValue()))
    return op->emitError() << "'" << kNameAttr << "' of " << what << " is \"" << name.getValue()
                           << "\", which is not a tensor name (" << kTensorNameRule << ")";
  return success();
}

/// `nn.param = {init = "normal", mean = 0.0, std = 0.1, seed = 1}` and friends.
static LogicalResult verifyParam(Operation *op, NamedAttribute attr, Type argType,
                                 StringRef what) {
  auto dict = dyn_cast<DictionaryAttr>(attr.getValue());
  if (!dict)
    return op->emitError() << "'" << kParamAttr << "' of " << what
                           << " must be a dictionary like {init = \"normal\", std = 0.1, seed = 1}";
  auto init = dict.getAs<StringAttr>("init");
  if (!init)
    return op->emitError() << "'" << kParamAttr << "' of " << what
                           << " needs init = \"normal\" | \"uniform\" | \"zeros\" | \"ones\" | \"values\"";
  // The attribute stays on the function through bufferization (memrefs) and
  // LLVM lowering (pointers, nothing left to check against).
  auto shaped = dyn_cast<ShapedType>(argType);
  if (!shaped)
    return success();
  if (!shaped.getElementType().isF32() && !shaped.getElementType().isF64())
    return op->emitError() << "parameter " << what << " must be an f32 or f64 tensor, got " << argType;
  auto allowOnly = [&](std::initializer_list<StringRef> keys) -> LogicalResult {
    for (NamedAttribute entry : dict)
      if (!llvm::is_contained(keys, entry.getName().getValue()))
        return op->emitError() << "'" << kParamAttr << "' of " << what << ": key '"
                               << entry.getName().getValue() << "' does not apply to init = \""
                               << init.getValue() << "\"";
    return success();
  };
  auto isNumber = [&](StringRef key) {
    Attribute a = dict.get(key);
    return !a || isa<FloatAttr, IntegerAttr>(a);
  };
  StringRef kind = init.getValue();
  if (kind == "normal" || kind == "uniform") {
    if (failed(kind == "normal" ? allowOnly({"init", "mean", "std", "seed"})
                                : allowOnly({"init", "low", "high", "seed"})))
      return failure();
    for (StringRef key : {"mean", "std", "low", "high", "seed"})
      if (!isNumber(key))
        return op->emitError() << "'" << kParamAttr << "' of " << what << ": '" << key
                               << "' must be a number";
    return success();
  }
  if (kind == "zeros" || kind == "ones")
    return allowOnly({"init"});
  if (kind == "values") {
    if (failed(allowOnly({"init", "value"})))
      return failure();
    auto value = dict.getAs<DenseElementsAttr>("value");
    if (!value || value.getType().getShape() != shaped.getShape() ||
        value.getType().getElementType() != shaped.getElementType())
      return op->emitError() << "'" << kParamAttr << "' of " << what
                             << ": init = \"values\" needs value = dense<...> : "
                             << RankedTensorType::get(shaped.getShape(), shaped.getElementType());
    return success();
  }
  return op->emitError() << "'" << kParamAttr << "' of " << what << ": unknown init \"" << kind
                         << "\" (expected normal, uniform, zeros, ones or values)";
}

LogicalResult NNDialect::verifyRegionArgAttribute(Operation *op, unsigned region, unsigned argIndex,
                                                  NamedAttribute attr) {
  std::string what = "argument #" + std::to_string(argIndex);
  if (attr.getName() == kNameAttr)
    return verifyName(op, attr, what);
  if (attr.getName() == kParamAttr) {
    Type type = op->getRegion(region).getArgument(argIndex).getType();
    return verifyParam(op, attr, type, what);
  }
  if (attr.getName() == kStatusAttr) // the status result, made an out-parameter
    return success();
  if (attr.getName() == kWorkspaceAttr)
    return success(isa<IntegerAttr>(attr.getValue()));
  return op->emitError() << "unknown argument attribute '" << attr.getName().getValue()
                         << "' (kiln knows nn.name and nn.param)";
}

LogicalResult NNDialect::verifyRegionResultAttribute(Operation *op, unsigned, unsigned resultIndex,
                                                     NamedAttribute attr) {
  if (attr.getName() == kNameAttr)
    return verifyName(op, attr, "result #" + std::to_string(resultIndex));
  if (attr.getName() == kStatusAttr)
    return success();
  if (attr.getName() == kUpdatesAttr) {
    auto index = dyn_cast<IntegerAttr>(attr.getValue());
    unsigned numArgs = op->getRegion(0).empty() ? 0 : op->getRegion(0).getNumArguments();
    if (!index || index.getInt() < 0 || index.getInt() >= numArgs)
      return op->emitError() << "'" << kUpdatesAttr << "' of result #" << resultIndex
                             << " must be the index of an argument";
    return success();
  }
  return op->emitError() << "unknown result attribute '" << attr.getName().getValue()
                         << "' (kiln knows nn.name and nn.updates)";
}
