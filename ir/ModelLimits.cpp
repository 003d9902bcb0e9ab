//===- ModelLimits.cpp - the limits a model must keep to be compiled -----===//
#include "ir/ModelLimits.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace kiln::nn {

std::optional<int64_t> tensorBytes(RankedTensorType type) {
  if (!type.hasStaticShape())
    return std::nullopt;
  Type element = type.getElementType();
  int64_t width = element.isIntOrFloat() ? std::max<int64_t>(1, element.getIntOrFloatBitWidth() / 8) : 8;
  int64_t bytes = width;
  for (int64_t d : type.getShape())
    if (llvm::MulOverflow(bytes, d, bytes))
      return std::nullopt;
  return bytes;
}

static std::string typeText(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

LogicalResult verifyTensorSizes(ModuleOp module) {
  auto check = [](Location loc, Type type, const std::string &what) -> LogicalResult {
    auto ranked = dyn_cast<RankedTensorType>(type);
    if (!ranked || !ranked.hasStaticShape() || tensorBytes(ranked))
      return success();
    return emitError(loc) << what << " has type " << typeText(type)
                          << ", whose size does not fit in 64 bits (at most 2^63 - 1 bytes)";
  };
  WalkResult walked = module.walk([&](Operation *op) {
    if (auto func = dyn_cast<func::FuncOp>(op)) {
      for (BlockArgument arg : func.getArguments())
        if (failed(check(arg.getLoc(), arg.getType(),
                         "argument " + std::to_string(arg.getArgNumber()) + " of @" +
                             func.getSymName().str())))
          return WalkResult::interrupt();
      return WalkResult::advance();
    }
    for (OpResult result : op->getResults())
      if (failed(check(op->getLoc(), result.getType(),
                       "'" + op->getName().getStringRef().str() + "' result " +
                           std::to_string(result.getResultNumber()))))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return failure(walked.wasInterrupted());
}

LogicalResult verifyOpCount(ModuleOp module) {
  int64_t ops = 0;
  module.walk([&](Operation *op) {
    if (!isa<ModuleOp, func::FuncOp>(op) && !op->hasTrait<OpTrait::IsTerminator>())
      ++ops;
  });
  if (ops <= kMaxOps)
    return success();
  return module.emitError() << "the model has " << ops << " ops; kiln compiles at most " << kMaxOps
                            << " (a limit that keeps compile time to minutes, docs/reliability.md): "
                               "split the model into functions compiled separately";
}

} // namespace kiln::nn
