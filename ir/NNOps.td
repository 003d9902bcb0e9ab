//===- NNOps.td - the ops of the nn dialect -------------------------------===//
//
// Adding an op touches a short, known list of places:
//   1. its definition here (summary, description, assembly format),
//   2. its result type: `ResultTypeFromRule, InferTypeOpAdaptor` in its
//      traits and its inferReturnTypes in ir/Ops.cpp, calling its shape rule
//      in ir/ShapeRules.cpp (the verifier, NNBuilder and the C++ Graph all
//      type the op through it; SameOperandsAndResultType ops get it from
//      ODS); other checks, folds in ir/Ops.cpp,
//   3. its gradient rule in ir/Gradients.cpp,
//   4. its reference semantics in ir/reference/Interpreter.cpp,
//   5. its lowering in passes/lowering/NNToLinalg.cpp,
//   6. its C++ builder in include/kiln/Graph.h + frontend/Graph.cpp, and its
//      rows in tests/unit/OpCases.h (forward and finite-difference cases).
// (docs/design.md, "An op's places", says the same.)
//
//===----------------------------------------------------------------------===//
#ifndef KILN_NN_OPS
#define KILN_NN_OPS

include "ir/NNBase.td"

//===----------------------------------------------------------------------===//
// Unary elementwise ops
//===----------------------------------------------------------------------===//

def NN_NegOp : NN_UnaryOp<"neg", "-x">;
def NN_AbsOp : NN_UnaryOp<"abs", "|x|">;
def NN_ExpOp : NN_UnaryOp<"exp", "e^x">;
def NN_LogOp : NN_UnaryOp<"log", "ln(x)">;
def NN_SqrtOp : NN_UnaryOp<"sqrt", "sqrt(x)">;
def NN_RsqrtOp : NN_UnaryOp<"rsqrt", "1 / sqrt(x)">;
def NN_ErfOp : NN_UnaryOp<"erf", "erf(x)">;
def NN_TanhOp : NN_UnaryOp<"tanh", "tanh(x)">;
def NN_SigmoidOp : NN_UnaryOp<"sigmoid", "1 / (1 + e^-x)">;
def NN_ReluOp : NN_UnaryOp<"relu", "max(x, 0)">;

//===----------------------------------------------------------------------===//
// Binary elementwise ops (NumPy broadcasting)
//===----------------------------------------------------------------------===//

def NN_AddOp : NN_BinaryOp<"add", "lhs + rhs", [Commutative]> {
  let hasFolder = 1;   // x + 0 -> x (when the shapes agree)
}
def NN_SubOp : NN_BinaryOp<"sub", "lhs - rhs">;
def NN_MulOp : NN_BinaryOp<"mul", "lhs * rhs", [Commutative]> {
  let hasFolder = 1;   // x * 1 -> x; x * 0 is NOT folded (NaN * 0 = NaN, inf * 0 = NaN)
}
def NN_DivOp : NN_BinaryOp<"div", "lhs / rhs">;
def NN_MaxOp : NN_BinaryOp<"max", "max(lhs, rhs)", [Commutative]>;
def NN_MinOp : NN_BinaryOp<"min", "min(lhs, rhs)", [Commutative]>;

def NN_PowOp : NN_BinaryOp<"pow", "lhs ^ rhs">;

//===----------------------------------------------------------------------===//
// Comparisons, select, cast
//===----------------------------------------------------------------------===//

def NN_EqOp : NN_CompareOp<"eq", "lhs == rhs">;
def NN_NeOp : NN_CompareOp<"ne", "lhs != rhs">;
def NN_LtOp : NN_CompareOp<"lt", "lhs < rhs">;
def NN_LeOp : NN_CompareOp<"le", "lhs <= rhs">;
def NN_GtOp : NN_CompareOp<"gt", "lhs > rhs">;
def NN_GeOp : NN_CompareOp<"ge", "lhs >= rhs">;

def NN_SelectOp : NN_Op<"select", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "choose elementwise between two tensors";
  let description = [{
    `cond ? a : b` elementwise after broadcasting all three operands to a
    common shape (NumPy's `where`). `cond` is i1; `a` and `b` have one
    element type.
  }];
  let arguments = (ins NN_BoolTensor:$cond, NN_Tensor:$a, NN_Tensor:$b);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$cond `,` $a `,` $b attr-dict `:` functional-type(operands, results)";
  // The result type: inferReturnTypes (ShapeRules).
}

def NN_CastOp : NN_Op<"cast", [Pure, Differentiable]> {
  let summary = "convert the element type";
  let description = [{
    Same shape, new element type. Float to integer truncates toward zero;
    integer to float rounds to nearest; to i1 is `x != 0`; from i1 gives 0/1.
  }];
  let arguments = (ins NN_Tensor:$x);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;  // cast to the same type -> x
}

//===----------------------------------------------------------------------===//
// Matmul
//===----------------------------------------------------------------------===//

def NN_MatmulOp : NN_Op<"matmul", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "batched matrix product with broadcast batch dimensions";
  let description = [{
    `a` is `[..., M, K]` (or `[..., K, M]` with `transpose_a`), `b` is
    `[..., K, N]` (or `[..., N, K]` with `transpose_b`); both have rank >= 2.
    The leading (batch) dimensions broadcast with NumPy rules and the result
    is `[broadcast(batch), M, N]`. A broadcast batch is read in place, never
    materialised.

    ```mlir
    %c = nn.matmul %a, %b {transpose_b} : (tensor<8x64xf32>, tensor<32x64xf32>) -> tensor<8x32xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$a, NN_FloatTensor:$b,
                       UnitAttr:$transpose_a, UnitAttr:$transpose_b);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$a `,` $b attr-dict `:` functional-type(operands, results)";
  // The result type: inferReturnTypes (ShapeRules).
  // A batch over a shared 2-D operand folds into M (ir/MatmulForms.cpp).
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Reductions and softmax
//===----------------------------------------------------------------------===//

def NN_ReduceSumOp : NN_ReduceOp<"reduce_sum", "sum"> {
  // The sum over the batch of a batched matmul folds into its K
  // (ir/MatmulForms.cpp).
  let hasCanonicalizer = 1;
}
def NN_ReduceMeanOp : NN_ReduceOp<"reduce_mean", "mean">;
def NN_ReduceMaxOp : NN_ReduceOp<"reduce_max", "maximum">;

def NN_SoftmaxOp : NN_Op<"softmax", [Pure, Differentiable, SameOperandsAndResultType]> {
  let summary = "softmax over one axis";
  let description = [{
    `exp(x - max(x)) / sum(exp(x - max(x)))` along `axis` (negative counts
    from the back), computed with the max subtracted so it never overflows.
  }];
  let arguments = (ins NN_FloatTensor:$x, I64Attr:$axis);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$x `axis` $axis attr-dict `:` type($x)";
  let hasVerifier = 1;
}

def NN_LogSoftmaxOp : NN_Op<"log_softmax", [Pure, Differentiable, SameOperandsAndResultType]> {
  let summary = "log of softmax over one axis, computed stably";
  let description = [{
    `x - max(x) - log(sum(exp(x - max(x))))` along `axis`.
  }];
  let arguments = (ins NN_FloatTensor:$x, I64Attr:$axis);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$x `axis` $axis attr-dict `:` type($x)";
  let hasVerifier = 1;
}

def NN_AttentionOp : NN_Op<"attention", [Pure, Differentiable, AttrSizedOperandSegments, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "scaled dot-product attention: softmax(scale q k^T + bias, masked) v";
  let description = [{
    `q` is `[..., Lq, D]`, `k` is `[..., Lk, D]` and `v` is `[..., Lk, Dv]`,
    with the same leading (batch, head) dimensions; the result is
    `[..., Lq, Dv]`. Each query's scores are `scale * q . k` (`scale`
    defaults to `1 / sqrt(D)`) plus `bias` when given (a float tensor
    broadcastable to `[..., Lq, Lk]`, `-inf` allowed: ONNX's additive
    mask); the result is the softmax of the scores over the keys that take
    part, times `v`.

    A key takes part unless `mask` (a boolean tensor broadcastable to
    `[..., Lq, Lk]`, PyTorch's convention: `true` attends) is false there,
    or `causal` excludes it. `causal` keeps key `j` for query `i` when
    `j <= i + (Lk - Lq)`: the diagonal is aligned at the end (lower right),
    so that the last query sees every key, which is what decoding against
    a cache of earlier keys needs. PyTorch's `is_causal` aligns it at the
    start (`j <= i`); the two agree when `Lq == Lk`.

    A query row whose every key is excluded (by the mask, by `causal`, or
    by a bias of `-inf` everywhere) gives zeros, never NaN.

    ```mlir
    %o = nn.attention %q, %k, %v {causal} : (tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>) -> tensor<2x4x64x32xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$q, NN_FloatTensor:$k, NN_FloatTensor:$v,
                       Optional<NN_BoolTensor>:$mask, Optional<NN_FloatTensor>:$bias,
                       UnitAttr:$causal, OptionalAttr<F64Attr>:$scale);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`mask` $mask^)? (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The scale of the scores: the attribute, or 1 / sqrt(D).
    double getScaleValue();
  }];
}

def NN_AttentionBackwardOp : NN_Op<"attention_backward", [Pure, NotDifferentiable, AttrSizedOperandSegments, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "the gradients of nn.attention with respect to q, k and v";
  let description = [{
    Given the operands and attributes of an `nn.attention`, its result
    `out` and the cotangent `grad` of that result, computes `dq`, `dk` and
    `dv` (the types of `q`, `k` and `v`). With P the probabilities and
    `D = rowsum(grad * out)`: `dv = P^T grad`,
    `dS = P (grad v^T - D)`, `dq = scale dS k`, `dk = scale dS^T q`. It is
    what the gradient rule of nn.attention emits; a bias gets no gradient
    here (the rule computes that one apart, where it is needed), and a
    mask none at all. kiln-lower-attention lowers it to flash attention's
    backward pass (no `[Lq, Lk]` buffer) or to its composite.

    ```mlir
    %dq, %dk, %dv = nn.attention_backward %q, %k, %v, %o, %g {causal} : (tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>) -> (tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>)
    ```
  }];
  let arguments = (ins NN_FloatTensor:$q, NN_FloatTensor:$k, NN_FloatTensor:$v,
                       Optional<NN_BoolTensor>:$mask, Optional<NN_FloatTensor>:$bias,
                       NN_FloatTensor:$out, NN_FloatTensor:$grad,
                       UnitAttr:$causal, OptionalAttr<F64Attr>:$scale);
  let results = (outs NN_FloatTensor:$dq, NN_FloatTensor:$dk, NN_FloatTensor:$dv);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`mask` $mask^)? (`bias` $bias^)? `,` $out `,` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The scale of the scores: the attribute, or 1 / sqrt(D).
    double getScaleValue();
  }];
}

def NN_LayerNormOp : NN_Op<"layer_norm", [Pure, Differentiable, AttrSizedOperandSegments, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "layer normalization over trailing axes";
  let description = [{
    `(x - mean) / sqrt(var + eps) * gamma + beta`, with mean and (biased)
    variance over `axes`, which must be the trailing axes of `x` (as
    PyTorch's normalized_shape). `gamma` and `beta` are optional and have
    the shape of those axes.

    ```mlir
    %y = nn.layer_norm %x gamma %g beta %b axes [-1] {eps = 1.0e-05 : f64} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$x, Optional<NN_FloatTensor>:$gamma,
                       Optional<NN_FloatTensor>:$beta, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $x (`gamma` $gamma^)? (`beta` $beta^)? `axes` $axes attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_BatchNormOp : NN_Op<"batch_norm", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "batch normalization over every axis but the channels (axis 1)";
  let description = [{
    `(x - m) / sqrt(v + eps) * gamma + beta` per channel c (axis 1 of x,
    [N, C, ...]), with `gamma`, `beta`, `mean` and `variance` all [C].
    Inference (no `training`): m and v are `mean` and `variance` (the stored
    running statistics), returned unchanged as the second and third result.
    `training`: m and v are the batch's mean and biased variance over every
    axis but 1, and the second and third results are the running statistics
    updated as PyTorch does, `(1 - momentum) * mean + momentum * m` and
    `(1 - momentum) * variance + momentum * v * M / (M - 1)` (M values per
    channel: the unbiased variance). The running statistics are state, not
    differentiated: the gradient flows from the first result to x, gamma
    and beta.

    ```mlir
    %y, %m, %v = nn.batch_norm %x, %g, %b, %mean, %var {training, momentum = 0.1 : f64} : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins NN_FloatTensor:$x, NN_FloatTensor:$gamma, NN_FloatTensor:$beta,
                       NN_FloatTensor:$mean, NN_FloatTensor:$variance,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps,
                       DefaultValuedAttr<F64Attr, "0.1">:$momentum, UnitAttr:$training);
  let results = (outs NN_FloatTensor:$result, NN_FloatTensor:$new_mean, NN_FloatTensor:$new_variance);
  let assemblyFormat = [{
    $x `,` $gamma `,` $beta `,` $mean `,` $variance attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_GeluOp : NN_Op<"gelu", [Pure, Differentiable, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `approximate = "none"`: `0.5 x (1 + erf(x / sqrt(2)))`;
    `approximate = "tanh"`: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
  }];
  let arguments = (ins NN_FloatTensor:$x, DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x)";
  let hasVerifier = 1;
}

def NN_DropoutOp : NN_Op<"dropout", [Pure, Differentiable, AllTypesMatch<["x", "result"]>]> {
  let summary = "zero elements at random, scale the others by 1 / (1 - rate)";
  let description = [{
    Element `i` (its row-major index) is kept when a counter-based hash of
    `(seed, step, i)` (SplitMix64's finalizer over
    `seed * 0x9E3779B97F4A7C15 ^ step * 0xD1B54A32D192ED03 ^ i`, top 24
    bits) is at least `rate * 2^24`, and then scaled by `1 / (1 - rate)`:
    the same mask for the same seed and step on any thread count, with no
    generator state. `step` is a rank-0 i64 or i32 input (a training loop
    passes its step number, so each step draws a new mask); `seed` is fixed
    in the model. The gradient is dropout of the cotangent with the same
    mask. `rate` is in [0, 1).

    ```mlir
    %y = nn.dropout %x, %step {rate = 0.1, seed = 7} : (tensor<4x8xf32>, tensor<i64>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$x, 0DTensorOf<[I32, I64]>:$step, F64Attr:$rate,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$x `,` $step attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Indexing: gather, concat, slice, iota
//===----------------------------------------------------------------------===//

def NN_GatherOp : NN_Op<"gather", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "select rows of a table by index (embedding lookup)";
  let description = [{
    `result[i..., j...] = table[indices[i...], j...]`: PyTorch's
    `index_select` on axis 0 with any shape of indices; the result shape is
    `indices.shape + table.shape[1:]`. An index outside `[0, rows)` makes the
    compiled function return KILN_ERR_INDEX_RANGE; it never reads out of
    bounds.
  }];
  let arguments = (ins NN_Tensor:$table, NN_IndexTensor:$indices);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$table `[` $indices `]` attr-dict `:` functional-type(operands, results)";
  // The result type: inferReturnTypes (ShapeRules).
}

def NN_ConcatOp : NN_Op<"concat", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "join tensors along an axis";
  let description = [{
    All inputs have one element type and equal sizes except along `axis`
    (negative counts from the back); the result's size there is the sum.
  }];
  let arguments = (ins Variadic<NN_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$inputs `axis` $axis attr-dict `:` functional-type($inputs, results)";
  // The result type: inferReturnTypes (ShapeRules).
}

def NN_SliceOp : NN_Op<"slice", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "a strided window, NumPy's x[start:stop:step] per axis";
  let description = [{
    One `start`, `stop` and `step` per axis with NumPy's rules: negative
    bounds count from the end, bounds are clamped to the axis, `step` may be
    negative but not zero. The result type gives the resulting sizes.
  }];
  let arguments = (ins NN_Tensor:$x, DenseI64ArrayAttr:$starts, DenseI64ArrayAttr:$stops,
                       DenseI64ArrayAttr:$steps);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = [{
    $x `[` $starts `:` $stops `:` $steps `]` attr-dict `:` type($x) `->` type($result)
  }];
  // The result type: inferReturnTypes (ShapeRules).
}

def NN_IotaOp : NN_Op<"iota", [Pure, NotDifferentiable]> {
  let summary = "the index along one axis, as a tensor";
  let description = [{
    `result[i...] = i[axis]`, e.g. `nn.iota axis 0 : tensor<5xi64>` is
    `[0, 1, 2, 3, 4]` (arange). With two iotas and `nn.ge`, a causal mask
    needs no host-side tensor.
  }];
  let arguments = (ins I64Attr:$axis);
  let results = (outs NN_NumericTensor:$result);
  let assemblyFormat = "`axis` $axis attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NN_SliceScatterOp : NN_Op<"slice_scatter", [Pure, Differentiable]> {
  let summary = "zeros with `src` placed at a slice's positions (slice's adjoint)";
  let description = [{
    The result (its type gives the shape) is zero except at the positions
    `nn.slice` with the same `starts`/`stops`/`steps` would read, which hold
    `src` in order: `slice(slice_scatter(s)) == s`. It is the gradient of a
    slice.
  }];
  let arguments = (ins NN_Tensor:$src, DenseI64ArrayAttr:$starts, DenseI64ArrayAttr:$stops,
                       DenseI64ArrayAttr:$steps);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = [{
    $src `into` `[` $starts `:` $stops `:` $steps `]` attr-dict `:` type($src) `->` type($result)
  }];
  let hasVerifier = 1;
}

def NN_ScatterAddOp : NN_Op<"scatter_add", [Pure, Differentiable]> {
  let summary = "sum rows into a zero table by index (gather's adjoint)";
  let description = [{
    `result[indices[i...], j...] += updates[i..., j...]` starting from zeros
    of the result type (`[rows, ...]`): repeated indices accumulate. It is
    the gradient of `nn.gather`; its lowering is a sequential loop, so sums
    are deterministic. Indices are clamped into range (the forward gather
    reports out-of-range ones).
  }];
  let arguments = (ins NN_FloatTensor:$updates, NN_IndexTensor:$indices);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$updates `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_StopGradientOp : NN_Op<"stop_gradient", [Pure, SameOperandsAndResultType, Differentiable]> {
  let summary = "identity whose gradient is zero";
  let description = [{
    Returns `x`; autodiff treats the result as a constant, so nothing flows
    back into `x`.
  }];
  let arguments = (ins NN_Tensor:$x);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x)";
}

//===----------------------------------------------------------------------===//
// Shape ops and constants
//===----------------------------------------------------------------------===//

def NN_ReshapeOp : NN_Op<"reshape", [Pure, Differentiable]> {
  let summary = "reinterpret a tensor with another shape";
  let description = [{
    The elements in row-major order are unchanged; the result type gives the
    new shape and must hold the same number of elements.
  }];
  let arguments = (ins NN_Tensor:$x);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;            // reshape to the same type -> x
  let hasCanonicalizer = 1;     // reshape(reshape(x)) -> reshape(x)
}

def NN_TransposeOp : NN_Op<"transpose", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "permute dimensions";
  let description = [{
    `result.shape[i] = x.shape[perm[i]]`; `perm` is a permutation of
    `0 .. rank-1` (negative entries count from the back).
  }];
  let arguments = (ins NN_Tensor:$x, DenseI64ArrayAttr:$perm);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$x `perm` $perm attr-dict `:` type($x) `->` type($result)";
  // The result type: inferReturnTypes (ShapeRules).
  let hasFolder = 1;            // identity permutation -> x
  let hasCanonicalizer = 1;     // transpose(transpose(x)) -> one transpose (or x)
}

def NN_BroadcastToOp : NN_Op<"broadcast_to", [Pure, Differentiable]> {
  let summary = "broadcast to a shape with NumPy rules";
  let description = [{
    The result type gives the target shape; `x`'s shape must broadcast to it
    (aligned from the back, each dimension equal or 1).
  }];
  let arguments = (ins NN_Tensor:$x);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;            // broadcast of a same-shape value -> x
}

def NN_ConstantOp : NN_Op<"constant", [Pure, ConstantLike, NotDifferentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "a constant tensor";
  let description = [{
    ```mlir
    %c = nn.constant dense<[1.0, 2.0]> : tensor<2xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs NN_Tensor:$result);
  // The value's type is the result type: `nn.constant dense<1.0> : tensor<2xf32>`.
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

// The attributes every 2-D convolution op carries, in this order in the text.
defvar Conv2dAttrs = (ins DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                          DenseI64ArrayAttr:$dilations, I64Attr:$groups);

def NN_Conv2dOp : NN_Op<"conv2d", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "2-D convolution (cross-correlation), NCHW input, OIHW weight";
  let description = [{
    `x` is `[N, C, H, W]`, `w` is `[O, C / groups, KH, KW]`; the result is
    `[N, O, Ho, Wo]` with
    `result[n, o, i, j] = sum over c, kh, kw of
        xpad[n, g * C/groups + c, i * sh + kh * dh, j * sw + kw * dw] * w[o, c, kh, kw]`
    where `g = o / (O / groups)` is the group of output channel `o`, and
    `xpad` is `x` with `padding = [top, left, bottom, right]` zeros around
    its spatial dims (ONNX's order of `pads`). `strides = [sh, sw]`,
    `dilations = [dh, dw]` (at least 1), `Ho = (H + top + bottom -
    dh * (KH - 1) - 1) / sh + 1` (rounded down; `Wo` alike), at least 1.
    `groups` divides C and O; `groups = C = O` is a depthwise convolution.
    A bias is an add of `[O, 1, 1]` after it (`kiln::conv2d` builds that).

    ```mlir
    %y = nn.conv2d %x, %w strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$x, NN_FloatTensor:$w), Conv2dAttrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $w `strides` $strides `padding` $padding `dilations` $dilations `groups` $groups attr-dict
    `:` functional-type(operands, results)
  }];
  // The result type: inferReturnTypes (ShapeRules). A 1x1 convolution
  // becomes a matmul (ir/ConvolutionForms.cpp).
  let hasCanonicalizer = 1;
}

def NN_Conv2dBackwardInputOp : NN_Op<"conv2d_backward_input", [Pure, NotDifferentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "the gradient of nn.conv2d with respect to its input";
  let description = [{
    Given the cotangent `grad` (`[N, O, Ho, Wo]`) of an `nn.conv2d` with
    weight `w` and the same attributes, whose input was `[N, C, H, W]`
    with `input_size = [H, W]` (Ho does not determine H when a stride is
    above 1): `dx[n, c, h, w] = sum of grad[n, o, i, j] * w[o, c', kh, kw]`
    over the outputs whose window read `x[n, c, h, w]` with weight
    `w[o, c', kh, kw]`. Emitted by conv2d's gradient rule.
  }];
  let arguments = !con((ins NN_FloatTensor:$grad, NN_FloatTensor:$w, DenseI64ArrayAttr:$input_size), Conv2dAttrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $grad `,` $w `input_size` $input_size `strides` $strides `padding` $padding `dilations` $dilations
    `groups` $groups attr-dict `:` functional-type(operands, results)
  }];
}

def NN_Conv2dBackwardWeightOp : NN_Op<"conv2d_backward_weight", [Pure, NotDifferentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "the gradient of nn.conv2d with respect to its weight";
  let description = [{
    Given the input `x` (`[N, C, H, W]`) of an `nn.conv2d` with the same
    attributes and the cotangent `grad` (`[N, O, Ho, Wo]`) of its result:
    `dw[o, c, kh, kw] = sum over n, i, j of grad[n, o, i, j] *
    xpad[n, g * C/groups + c, i * sh + kh * dh, j * sw + kw * dw]`, a
    `[O, C / groups, KH, KW]` tensor with `kernel_size = [KH, KW]`.
    Emitted by conv2d's gradient rule.
  }];
  let arguments = !con((ins NN_FloatTensor:$x, NN_FloatTensor:$grad, DenseI64ArrayAttr:$kernel_size), Conv2dAttrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $grad `kernel_size` $kernel_size `strides` $strides `padding` $padding `dilations` $dilations
    `groups` $groups attr-dict `:` functional-type(operands, results)
  }];
}

// The window of a 2-D pooling op: kernel, strides, padding.
defvar Pool2dAttrs = (ins DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding);

def NN_MaxPool2dOp : NN_Op<"max_pool2d", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "2-D max pooling over NCHW";
  let description = [{
    `x` is `[N, C, H, W]`; `result[n, c, i, j]` is the largest of
    `x[n, c, i * sh + kh - top, j * sw + kw - left]` over the window
    `kernel = [KH, KW]` (positions in the padding take no part; each pad is
    below the kernel's size on its axis, so every window holds an element of
    `x`). `strides = [sh, sw]`, `padding = [top, left, bottom, right]`,
    `Ho = (H + top + bottom - KH) / sh + 1` rounded down. The gradient goes
    to each window's maximum; where several elements tie, to the first in
    row-major order within the window (documented, as PyTorch's CPU kernel).

    ```mlir
    %y = nn.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$x), Pool2dAttrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $x `kernel` $kernel `strides` $strides `padding` $padding attr-dict `:` type($x) `->` type($result)
  }];
}

def NN_AvgPool2dOp : NN_Op<"avg_pool2d", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "2-D average pooling over NCHW";
  let description = [{
    As `nn.max_pool2d`, with the mean of each window: the sum over its
    positions in `x` divided by `KH * KW` with `count_include_pad` (the
    padding counts as zeros, PyTorch's default), else by the number of its
    positions inside `x` (ONNX's default).
  }];
  let arguments = !con((ins NN_FloatTensor:$x), Pool2dAttrs, (ins UnitAttr:$count_include_pad));
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $x `kernel` $kernel `strides` $strides `padding` $padding attr-dict `:` type($x) `->` type($result)
  }];
}

def NN_MaxPool2dBackwardOp : NN_Op<"max_pool2d_backward", [Pure, NotDifferentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "the gradient of nn.max_pool2d with respect to its input";
  let description = [{
    Given the input `x` of an `nn.max_pool2d` with the same attributes and
    the cotangent `grad` of its result: each window's cotangent added to
    the window's first maximum. Emitted by max_pool2d's gradient rule.
  }];
  let arguments = !con((ins NN_FloatTensor:$x, NN_FloatTensor:$grad), Pool2dAttrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $grad `kernel` $kernel `strides` $strides `padding` $padding attr-dict `:` functional-type(operands, results)
  }];
}

def NN_AvgPool2dBackwardOp : NN_Op<"avg_pool2d_backward", [Pure, NotDifferentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "the gradient of nn.avg_pool2d with respect to its input";
  let description = [{
    Given the cotangent `grad` of an `nn.avg_pool2d` with the same
    attributes, whose input was `[N, C, H, W]` with `input_size = [H, W]`:
    each window's cotangent divided by its count (as in the forward) and
    added to every position of the window inside the input. Emitted by
    avg_pool2d's gradient rule.
  }];
  let arguments = !con((ins NN_FloatTensor:$grad, DenseI64ArrayAttr:$input_size), Pool2dAttrs,
                       (ins UnitAttr:$count_include_pad));
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $grad `input_size` $input_size `kernel` $kernel `strides` $strides `padding` $padding attr-dict `:`
    functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def NN_L1LossOp : NN_LossOp<"l1_loss", "|prediction - label|">;
def NN_MseLossOp : NN_LossOp<"mse_loss", "(prediction - label)^2">;

def NN_CrossEntropyOp : NN_Op<"cross_entropy", [Pure, Differentiable, ResultTypeFromRule, InferTypeOpAdaptor]> {
  let summary = "mean cross-entropy of logits against integer labels";
  let description = [{
    `logits` is `[..., C]`, `labels` is `[...]` (i32 or i64, each in
    `[0, C)`). The result is the mean over the label positions of
    `logsumexp(logits) - logits[label]`, computed stably (max subtracted).
    A label out of range makes the compiled function return
    KILN_ERR_INDEX_RANGE.
  }];
  let arguments = (ins NN_FloatTensor:$logits, NN_IndexTensor:$labels);
  let results = (outs NN_ScalarFloatTensor:$result);
  let assemblyFormat = "$logits `,` $labels attr-dict `:` functional-type(operands, results)";
  // The result type: inferReturnTypes (ShapeRules).
}

//===----------------------------------------------------------------------===//
// Recurrence
//===----------------------------------------------------------------------===//

def NN_ScanOp : NN_Op<"scan", [Pure, Differentiable, IsolatedFromAbove, AttrSizedOperandSegments,
                               SingleBlock]> {
  let summary = "a loop over the leading axis of its scanned inputs, carrying state";
  let description = [{
    The recurrence of an RNN, GRU or LSTM layer as one op: `T` steps over
    the leading axis (length `T`) of every tensor in `over`, from the last
    step to the first with `reverse`. Step `t` runs the body on the carries
    (first the `inits`), the `t`-th slice of each scanned input (its leading
    axis dropped) and the `consts` (loop-invariant values such as weights);
    the body yields the next carries and then one value per step output.
    The results are the final carries and then each step output stacked
    along a new leading axis of length `T` (row `t` is step `t`'s, also with
    `reverse`). The body is isolated from above: what it uses from outside
    comes in through `consts` (the C++ builder's `scan` passes the values
    its lambda captures). The loop stays a loop through every phase: the
    IR's size does not grow with `T`.

    Its gradient is backpropagation through time: a scan over the steps in
    the opposite order, over the carries each step received and the results
    of the body's step-varying products (both recorded by a second forward
    scan), with reverse mode applied to the body. Because that
    rule needs reverse mode itself, the autodiff pass builds it
    (passes/autodiff/ScanGradient.cpp), not ir/Gradients.cpp.

    `checkpoint_every = k` (k >= 1) trades time for memory in that gradient:
    only every k-th carry is saved, and the backward recomputes each
    segment's k steps from its saved carry before running through them (the
    forward becomes a scan over segments of k steps, each a scan; a length
    that k does not divide ends with a shorter scan). About T/k + k carries
    are held instead of T, for one more forward pass. Without it (or k = 1)
    every carry and every step-varying product is saved.

    ```mlir
    %h, %hs = nn.scan inits(%h0 : tensor<2x4xf32>) over(%xs : tensor<5x2x3xf32>) consts(%w : tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
    ^bb0(%c: tensor<2x4xf32>, %x: tensor<2x3xf32>, %wc: tensor<3x4xf32>):
      %p = nn.matmul %x, %wc : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
      %s = nn.add %p, %c : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
      %n = nn.tanh %s : tensor<2x4xf32>
      nn.yield %n, %n : tensor<2x4xf32>, tensor<2x4xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<NN_Tensor>:$inits, Variadic<NN_Tensor>:$xs, Variadic<NN_Tensor>:$consts,
                       UnitAttr:$reverse, OptionalAttr<I64Attr>:$checkpoint_every);
  let results = (outs Variadic<NN_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    (`reverse` $reverse^)? (`inits` `(` $inits^ `:` type($inits) `)`)? `over` `(` $xs `:` type($xs) `)`
    (`consts` `(` $consts^ `:` type($consts) `)`)? attr-dict `->` `(` type($results) `)` $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of steps: the scanned inputs' leading dimension.
    int64_t getLength();
    /// The step outputs' count (results after the carries).
    unsigned getNumStepOutputs() { return getNumResults() - getInits().size(); }
  }];
}

def NN_YieldOp : NN_Op<"yield", [Pure, NotDifferentiable, Terminator, HasParent<"ScanOp">]> {
  let summary = "the next carries and the step's outputs of an nn.scan body";
  let description = [{
    Ends an `nn.scan` body: first one value per carry (its type), then the
    step's outputs (stacked by the scan).
  }];
  let arguments = (ins Variadic<NN_Tensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // KILN_NN_OPS
