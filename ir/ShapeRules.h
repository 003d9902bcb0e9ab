//===- ShapeRules.h - result-type rules of the nn ops ----------*- C++ -*-===//
//
// Each rule computes an op's result type from its operand types and
// attributes, or emits a diagnostic at `loc` (when given) and fails. The ops'
// inferReturnTypes/verifiers and the C++ Graph API call the same rules, so an
// error found while building a graph reads exactly like one found in a file.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_SHAPERULES_H
#define KILN_IR_SHAPERULES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"
#include <optional>

namespace kiln::nn {
using MaybeLoc = std::optional<mlir::Location>;

/// NumPy broadcasting of two shapes (aligned from the back).
mlir::FailureOr<mlir::RankedTensorType>
inferBroadcast(MaybeLoc loc, llvm::StringRef op, mlir::RankedTensorType lhs,
               mlir::RankedTensorType rhs);

/// The broadcast shape of two shapes, or failure.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

mlir::FailureOr<mlir::RankedTensorType>
inferMatmul(MaybeLoc loc, mlir::RankedTensorType a, mlir::RankedTensorType b,
            bool transposeA, bool transposeB);

/// Normalises axes (negative -> positive), rejecting empty lists, duplicates
/// and out-of-range entries.
mlir::FailureOr<llvm::SmallVector<int64_t>>
normalizeAxes(MaybeLoc loc, llvm::StringRef op, llvm::ArrayRef<int64_t> axes,
              int64_t rank);

/// Axes of an op that already verified, made non-negative and sorted.
llvm::SmallVector<int64_t> normalizedAxes(llvm::ArrayRef<int64_t> axes, int64_t rank);

mlir::FailureOr<mlir::RankedTensorType>
inferReduce(MaybeLoc loc, llvm::StringRef op, mlir::RankedTensorType x,
            llvm::ArrayRef<int64_t> axes, bool keepdims);

mlir::FailureOr<mlir::RankedTensorType>
inferTranspose(MaybeLoc loc, mlir::RankedTensorType x,
               llvm::ArrayRef<int64_t> perm);

mlir::FailureOr<mlir::RankedTensorType>
inferLoss(MaybeLoc loc, llvm::StringRef op, mlir::RankedTensorType prediction,
          mlir::RankedTensorType label);

/// Comparisons: broadcast shape, i1 elements.
mlir::FailureOr<mlir::RankedTensorType>
inferCompare(MaybeLoc loc, llvm::StringRef op, mlir::RankedTensorType lhs,
             mlir::RankedTensorType rhs);

mlir::FailureOr<mlir::RankedTensorType> inferSelect(MaybeLoc loc, mlir::RankedTensorType cond,
                                                    mlir::RankedTensorType a,
                                                    mlir::RankedTensorType b);

/// indices.shape + table.shape[1:], table of rank >= 1.
mlir::FailureOr<mlir::RankedTensorType>
inferGather(MaybeLoc loc, mlir::RankedTensorType table, mlir::RankedTensorType indices);

mlir::FailureOr<mlir::RankedTensorType> inferConcat(MaybeLoc loc,
                                                    llvm::ArrayRef<mlir::RankedTensorType> inputs,
                                                    int64_t axis);

/// NumPy's slice rule for one axis of size `dim`: the first index read and
/// the number of elements (Python's slice.indices).
struct SliceAxis {
  int64_t first, count;
};
SliceAxis sliceAxis(int64_t dim, int64_t start, int64_t stop, int64_t step);

mlir::FailureOr<mlir::RankedTensorType>
inferSlice(MaybeLoc loc, mlir::RankedTensorType x, llvm::ArrayRef<int64_t> starts,
           llvm::ArrayRef<int64_t> stops, llvm::ArrayRef<int64_t> steps);

/// Checks layer_norm's axes (trailing) and the gamma/beta shapes.
/// nn.batch_norm: x of rank >= 2 with the channels on axis 1; gamma, beta,
/// mean and variance each [C] of x's element type.
mlir::LogicalResult verifyBatchNorm(MaybeLoc loc, mlir::RankedTensorType x, mlir::RankedTensorType gamma,
                                    mlir::RankedTensorType beta, mlir::RankedTensorType mean,
                                    mlir::RankedTensorType variance);
mlir::LogicalResult verifyLayerNorm(MaybeLoc loc, mlir::RankedTensorType x,
                                    mlir::RankedTensorType gamma, mlir::RankedTensorType beta,
                                    llvm::ArrayRef<int64_t> axes);

/// logits [..., C] and labels [...]: a rank-0 result.
mlir::FailureOr<mlir::RankedTensorType>
inferCrossEntropy(MaybeLoc loc, mlir::RankedTensorType logits, mlir::RankedTensorType labels);

/// q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv] with the same leading
/// dimensions; mask (i1) and bias (may be null) broadcastable to
/// [..., Lq, Lk]: the result is [..., Lq, Dv].
mlir::FailureOr<mlir::RankedTensorType>
inferAttention(MaybeLoc loc, mlir::RankedTensorType q, mlir::RankedTensorType k,
               mlir::RankedTensorType v, mlir::RankedTensorType mask, mlir::RankedTensorType bias);

/// nn.conv2d: x [N, C, H, W], w [O, C / groups, KH, KW] -> [N, O, Ho, Wo];
/// also checks the attributes (2 strides >= 1, 4 pads >= 0, 2 dilations
/// >= 1, groups >= 1 dividing C and O).
mlir::FailureOr<mlir::RankedTensorType>
inferConv2d(MaybeLoc loc, mlir::RankedTensorType x, mlir::RankedTensorType w, llvm::ArrayRef<int64_t> strides,
            llvm::ArrayRef<int64_t> padding, llvm::ArrayRef<int64_t> dilations, int64_t groups);
/// nn.conv2d_backward_input: grad [N, O, Ho, Wo] and w -> [N, C, H, W] with
/// [H, W] = input_size, where a conv2d of that input gives Ho x Wo.
mlir::FailureOr<mlir::RankedTensorType>
inferConv2dBackwardInput(MaybeLoc loc, mlir::RankedTensorType grad, mlir::RankedTensorType w,
                         llvm::ArrayRef<int64_t> inputSize, llvm::ArrayRef<int64_t> strides,
                         llvm::ArrayRef<int64_t> padding, llvm::ArrayRef<int64_t> dilations, int64_t groups);
/// nn.conv2d_backward_weight: x [N, C, H, W] and grad [N, O, Ho, Wo] ->
/// [O, C / groups, KH, KW] with [KH, KW] = kernel_size.
mlir::FailureOr<mlir::RankedTensorType>
inferConv2dBackwardWeight(MaybeLoc loc, mlir::RankedTensorType x, mlir::RankedTensorType grad,
                          llvm::ArrayRef<int64_t> kernelSize, llvm::ArrayRef<int64_t> strides,
                          llvm::ArrayRef<int64_t> padding, llvm::ArrayRef<int64_t> dilations, int64_t groups);
/// nn.max_pool2d and nn.avg_pool2d (`op` names which): x [N, C, H, W] ->
/// [N, C, Ho, Wo]; also checks the attributes (kernel >= 1, strides >= 1,
/// each pad >= 0 and below the kernel on its axis).
mlir::FailureOr<mlir::RankedTensorType> inferPool2d(MaybeLoc loc, llvm::StringRef op, mlir::RankedTensorType x,
                                                    llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                                                    llvm::ArrayRef<int64_t> padding);
/// Checks that `from` broadcasts to `to` (NumPy rules).
mlir::LogicalResult verifyBroadcastTo(MaybeLoc loc, mlir::RankedTensorType from,
                                      mlir::RankedTensorType to);

/// Checks that `from` and `to` hold the same number of elements.
mlir::LogicalResult verifyReshape(MaybeLoc loc, mlir::RankedTensorType from,
                                  mlir::RankedTensorType to);

/// "2x3xf32" for diagnostics.
std::string shapeString(mlir::Type t);
} // namespace kiln::nn

#endif
