//===- Dialect.h - the nn dialect: dialect and op classes ------*- C++ -*-===//
#ifndef KILN_IR_DIALECT_H
#define KILN_IR_DIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln::nn {
class NNBuilder;

/// Marks an op that has no gradient by design (ir/NNBase.td).
template <typename ConcreteType>
class NotDifferentiable : public mlir::OpTrait::TraitBase<ConcreteType, NotDifferentiable> {};

/// No attribute the op does not declare, except kiln.* (ir/NNBase.td).
mlir::LogicalResult verifyOnlyDeclaredAttributes(mlir::Operation *op,
                                                 llvm::ArrayRef<llvm::StringRef> declared);
template <typename ConcreteType>
class OnlyDeclaredAttributes : public mlir::OpTrait::TraitBase<ConcreteType, OnlyDeclaredAttributes> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    return verifyOnlyDeclaredAttributes(op, ConcreteType::getAttributeNames());
  }
};

/// The declared result type must be the op's own rule's (ir/NNBase.td).
mlir::LogicalResult verifyResultTypeFromRule(mlir::Operation *op, mlir::LogicalResult inferred,
                                               mlir::TypeRange types);
template <typename ConcreteType>
class ResultTypeFromRule : public mlir::OpTrait::TraitBase<ConcreteType, ResultTypeFromRule> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    llvm::SmallVector<mlir::Type> types;
    mlir::LogicalResult inferred = ConcreteType::inferReturnTypes(
        op->getContext(), op->getLoc(), op->getOperands(), op->getRawDictionaryAttrs(),
        op->getPropertiesStorage(), op->getRegions(), types);
    return verifyResultTypeFromRule(op, inferred, types);
  }
};
} // namespace kiln::nn

#include "ir/Interfaces.h.inc"
#include "ir/NNOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "ir/NNOps.h.inc"

namespace kiln::nn {
/// Attribute names of kiln's function ABI (see docs/abi.md).
inline constexpr llvm::StringLiteral kNameAttr = "nn.name";
inline constexpr llvm::StringLiteral kParamAttr = "nn.param";
/// Marks the hidden rank-0 i32 result (later: out-parameter) in which
/// generated code reports a run-time error code (0 = none).
inline constexpr llvm::StringLiteral kStatusAttr = "nn.status";
/// On a lowered function: its run-time checks' descriptions ("nn.gather at
/// model.mlir:5:8"), site k + 1 at index k (kiln-lower-nn-to-linalg).
inline constexpr llvm::StringLiteral kErrorSitesAttr = "nn.error_sites";
/// On a result: its value overwrites argument #N's buffer (a parameter or
/// optimizer state updated in place); it is not an output.
inline constexpr llvm::StringLiteral kUpdatesAttr = "nn.updates";
/// Marks the workspace argument (value: its size in bytes) that
/// kiln-plan-workspace adds; the ABI entry passes the caller's workspace.
inline constexpr llvm::StringLiteral kWorkspaceAttr = "nn.workspace";
} // namespace kiln::nn

#endif
