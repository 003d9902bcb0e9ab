//===- NNBuilder.h - build nn ops with inferred types ------------*- C++ -*-===//
//
// Gradient rules and the training-step builder write nn IR in terms of
// values, not types: each method infers its result type with the op's shape
// rule (ShapeRules.h). A failing rule here is a compiler bug (the rules only
// combine shapes that already verified), reported as a fatal error.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_NNBUILDER_H
#define KILN_IR_NNBUILDER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace kiln::nn {

class NNBuilder {
public:
  NNBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}
  mlir::OpBuilder &builder() { return b; }
  mlir::Location location() const { return loc; }

  // Constants.
  /// A rank-0 constant of `elementType`.
  mlir::Value scalar(double value, mlir::Type elementType);
  /// A splat constant of `type`.
  mlir::Value splat(double value, mlir::RankedTensorType type);
  mlir::Value zerosLike(mlir::Value v) { return splat(0.0, typeOf(v)); }

  // Elementwise (broadcasting).
  mlir::Value add(mlir::Value a, mlir::Value b);
  mlir::Value sub(mlir::Value a, mlir::Value b);
  mlir::Value mul(mlir::Value a, mlir::Value b);
  mlir::Value div(mlir::Value a, mlir::Value b);
  mlir::Value pow(mlir::Value a, mlir::Value b);
  mlir::Value neg(mlir::Value x);
  mlir::Value exp(mlir::Value x);
  mlir::Value log(mlir::Value x);
  mlir::Value sqrt(mlir::Value x);
  mlir::Value tanh(mlir::Value x);
  mlir::Value gt(mlir::Value a, mlir::Value b);
  mlir::Value lt(mlir::Value a, mlir::Value b);
  mlir::Value eq(mlir::Value a, mlir::Value b);
  mlir::Value select(mlir::Value cond, mlir::Value a, mlir::Value b);
  /// cond ? 1 : 0 in `elementType`.
  mlir::Value indicator(mlir::Value cond, mlir::Type elementType);
  mlir::Value cast(mlir::Value x, mlir::Type elementType);

  // Structure.
  mlir::Value matmul(mlir::Value a, mlir::Value b, bool transposeA, bool transposeB);
  mlir::Value reduceSum(mlir::Value x, llvm::ArrayRef<int64_t> axes, bool keepdims);
  mlir::Value reduceMean(mlir::Value x, llvm::ArrayRef<int64_t> axes, bool keepdims);
  mlir::Value reduceMax(mlir::Value x, llvm::ArrayRef<int64_t> axes, bool keepdims);
  mlir::Value reshape(mlir::Value x, llvm::ArrayRef<int64_t> shape);
  mlir::Value transpose(mlir::Value x, llvm::ArrayRef<int64_t> perm);
  mlir::Value broadcastTo(mlir::Value x, llvm::ArrayRef<int64_t> shape);
  mlir::Value softmax(mlir::Value x, int64_t axis);
  mlir::Value slice(mlir::Value x, llvm::ArrayRef<int64_t> starts, llvm::ArrayRef<int64_t> stops,
                    llvm::ArrayRef<int64_t> steps);
  mlir::Value sliceScatter(mlir::Value src, mlir::RankedTensorType resultType,
                           llvm::ArrayRef<int64_t> starts, llvm::ArrayRef<int64_t> stops,
                           llvm::ArrayRef<int64_t> steps);
  mlir::Value scatterAdd(mlir::Value updates, mlir::Value indices, mlir::RankedTensorType type);
  mlir::Value iota(mlir::RankedTensorType type, int64_t axis);

  /// Sums `grad` (of a broadcast result) back to `target`'s shape: over the
  /// leading dimensions `target` lacks and those where it has size 1.
  mlir::Value unbroadcast(mlir::Value grad, mlir::RankedTensorType target);

  static mlir::RankedTensorType typeOf(mlir::Value v) {
    return mlir::cast<mlir::RankedTensorType>(v.getType());
  }

private:
  mlir::OpBuilder &b;
  mlir::Location loc;
};

} // namespace kiln::nn

#endif
