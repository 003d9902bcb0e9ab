//===- NNBase.td - the nn dialect and its shared op classes --------------===//
//
// The `nn` dialect is kiln's top-level IR: ops on ranked, statically shaped
// tensors with NumPy/PyTorch semantics. Every op states its shape rule
// (InferTypeOpInterface), verifier and folds here or in Ops.cpp; its lowering
// lives in passes/lowering/NNToLinalg.cpp and its reference semantics in
// ir/reference/Interpreter.cpp, each found by the op's name.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_NN_BASE
#define KILN_NN_BASE

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "ir/Interfaces.td"

// An op with a gradient rule in ir/Gradients.cpp.
defvar Differentiable = DeclareOpInterfaceMethods<DifferentiableOpInterface>;
// An op with no gradient, by design: its result is boolean or integer, or
// does not depend on a differentiable input (autodiff treats it as a
// constant). tests/unit/OpCompletenessTest.cpp wants every op to be one of
// the two.
def NotDifferentiable : NativeOpTrait<"NotDifferentiable"> {
  let cppNamespace = "::kiln::nn";
}
// Verifies the result type against the op's own rule (its inferReturnTypes,
// through ShapeRules) before MLIR's InferTypeOpInterface check, so that a
// user sees the rule's located message alone, or "result type X differs
// from the inferred Y", and not MLIR's "failed to infer returned types" too.
def ResultTypeFromRule : NativeOpTrait<"ResultTypeFromRule"> {
  let cppNamespace = "::kiln::nn";
}

def NN_Dialect : Dialect {
  let name = "nn";
  let summary = "kiln's neural-network graph dialect";
  let description = [{
    Ops on ranked, statically shaped tensors of f32 and f64 (i32/i64 for
    indices, i1 for masks). Broadcasting follows NumPy. Axes are lists of
    integers; negative axes count from the back.

    Function arguments and results carry kiln's ABI attributes:
    `nn.name = "x"` (a unique C identifier) and, on trainable weights,
    `nn.param = {init = "normal", mean = 0.0, std = 0.1, seed = 1}`
    (also `uniform` with `low`/`high`, `zeros`, `ones`, `values` with
    `value = dense<...>`).
  }];
  let cppNamespace = "::kiln::nn";
  let hasConstantMaterializer = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
}

// Element types.
def NN_Float : AnyTypeOf<[F32, F64], "f32 or f64">;
def NN_Element : AnyTypeOf<[F32, F64, I32, I64, I1], "f32, f64, i32, i64 or i1">;
def NN_FloatTensor : StaticShapeTensorOf<[F32, F64]>;
def NN_Tensor : StaticShapeTensorOf<[F32, F64, I32, I64, I1]>;
def NN_ScalarFloatTensor : 0DTensorOf<[F32, F64]>;
def NN_IndexTensor : StaticShapeTensorOf<[I32, I64]>;
def NN_BoolTensor : StaticShapeTensorOf<[I1]>;
def NN_NumericTensor : StaticShapeTensorOf<[F32, F64, I32, I64]>;

// An attribute an nn op does not declare is an error (a misspelt
// `approximation` would otherwise be ignored and the default used), except
// kiln's own discardable `kiln.*` attributes.
def OnlyDeclaredAttributes : NativeOpTrait<"OnlyDeclaredAttributes"> {
  let cppNamespace = "::kiln::nn";
}

class NN_Op<string mnemonic, list<Trait> traits = []>
    : Op<NN_Dialect, mnemonic, !listconcat([OnlyDeclaredAttributes], traits)>;

// y = f(x) elementwise; same type in and out.
class NN_UnaryOp<string mnemonic, string formula>
    : NN_Op<mnemonic, [Pure, SameOperandsAndResultType, Differentiable]> {
  let summary = "elementwise " # formula;
  let description = "Computes `" # formula # "` for every element of `x`.";
  let arguments = (ins NN_FloatTensor:$x);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x)";
}

// z = f(x, y) elementwise with NumPy broadcasting of the two shapes.
class NN_BinaryOp<string mnemonic, string formula, list<Trait> traits = []>
    : NN_Op<mnemonic, !listconcat([Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor], traits)> {
  let summary = "elementwise " # formula # " with broadcasting";
  let description = "Computes `" # formula # "` elementwise after "
      "broadcasting `lhs` and `rhs` to a common shape (NumPy rules). "
      "Both operands have the same element type.";
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  // The result type: inferReturnTypes (ShapeRules' inferBroadcast).
}

// lhs <cmp> rhs elementwise with broadcasting; an i1 result.
class NN_CompareOp<string mnemonic, string formula>
    : NN_Op<mnemonic, [Pure, NotDifferentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "elementwise comparison " # formula # " with broadcasting";
  let description = "True where `" # formula # "`, after broadcasting `lhs` "
      "and `rhs` (same element type) to a common shape. Comparisons with NaN "
      "are false, except `ne`, which is true (IEEE, NumPy).";
  let arguments = (ins NN_NumericTensor:$lhs, NN_NumericTensor:$rhs);
  let results = (outs NN_BoolTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  // The result type: inferReturnTypes (ShapeRules' inferCompare).
}

// A reduction over `axes` (negatives allowed, non-empty, no duplicates).
class NN_ReduceOp<string mnemonic, string what>
    : NN_Op<mnemonic, [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = what # " over axes";
  let description = "Reduces `x` by " # what # " over `axes`. With "
      "`keepdims` the reduced axes stay as size-1 dimensions, otherwise they "
      "are removed (reducing every axis gives a rank-0 tensor).";
  let arguments = (ins NN_FloatTensor:$x, DenseI64ArrayAttr:$axes, UnitAttr:$keepdims);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$x `axes` $axes (`keepdims` $keepdims^)? attr-dict `:` type($x) `->` type($result)";
  // The result type: inferReturnTypes (ShapeRules' inferReduce).
}

// A loss: mean over all elements of a pointwise penalty; a rank-0 result.
class NN_LossOp<string mnemonic, string formula>
    : NN_Op<mnemonic, [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "mean of " # formula;
  let description = "Returns the mean over all elements of `" # formula #
      "` as a rank-0 tensor. `prediction` and `label` have the same shape "
      "and element type.";
  let arguments = (ins NN_FloatTensor:$prediction, NN_FloatTensor:$label);
  let results = (outs NN_ScalarFloatTensor:$result);
  let assemblyFormat = "$prediction `,` $label attr-dict `:` functional-type(operands, results)";
  // The result type: inferReturnTypes (ShapeRules' inferLoss).
}

#endif // KILN_NN_BASE
