//===- Interfaces.td - interfaces of the nn dialect ----------------------===//
#ifndef KILN_NN_INTERFACES
#define KILN_NN_INTERFACES

include "mlir/IR/OpBase.td"

def DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::kiln::nn";
  let description = [{
    An op that states its vector-Jacobian product: given the cotangent of
    each result (null where a result does not reach the loss), it builds nn
    ops computing the cotangent of each operand, pushing one value per
    operand (null for operands without a gradient: integers, booleans,
    labels). The rules live in ir/Gradients.cpp, one function per op;
    passes/autodiff/ reverses a function with them.
  }];
  let methods = [
    InterfaceMethod<"Builds the operands' cotangents from the results'.",
      "::mlir::LogicalResult", "vjp",
      (ins "::kiln::nn::NNBuilder &":$b, "::mlir::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

#endif // KILN_NN_INTERFACES
