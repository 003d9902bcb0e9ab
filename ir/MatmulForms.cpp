//===- MatmulForms.cpp - matmul's canonical forms ------------------------===//
//
// Two rewrites that turn many small matrix products into one big one, so
// every matmul of a model and of its gradient reaches kiln-tile-matmul as a
// single 2-D product with a packed B (issue 12: the attention LM's
// projections ran as 32 batched 64x128x128 products, their weight gradients
// as 32 products of 128x128 over K = 64 summed afterwards):
//
//   shared operand   matmul(A [b.., M, K], B [K, N])
//                 -> reshape(matmul(reshape(A, [b..*M, K]), B), [b.., M, N])
//     the batch folds into M. Applied to the forward model before autodiff,
//     its gradients come out as 2-D products too: the weight gradient is
//     A^T g over K = b..*M, the input gradient g B^T over rows b..*M.
//
//   summed batch     reduce_sum(matmul(A [b.., K, M] transpose_a, B [b.., K, N]), batch axes)
//                 -> matmul(reshape(A, [b..*K, M]), reshape(B, [b..*K, N]), transpose_a)
//     a sum over the batch of products is one product over a longer K (what
//     the gradient of a batch-broadcast operand is). Only when both operands
//     are stored K-major (A transposed, B not), so the reshapes are views.
//
//   unit batch       matmul(A [1.., M, K], B [1.., K, N]) (either may be 2-D)
//                 -> reshape(matmul(reshape(A, [M, K]), reshape(B, [K, N])), [1.., M, N])
//     a batch of one is a plain product, which takes the packed path (a
//     1x1 convolution of one image as [O, C] x [1, C, H*W]: 64x3136x256
//     ran at 42-54 GFLOP/s batched, 76-115 as 2-D, one thread).
//
//   narrow A^T       matmul(A [K, M] transpose_a, B [K, N]) with M > N
//                 -> transpose(matmul(B, A, transpose_a))
//     a register tile reads 8 neighbours of a row of A^T at each k, rows
//     4*M bytes apart; with M = 512 (the MLP's second weight gradient in
//     the attention LM) that stride crosses a page every two k and ran at
//     37 GFLOP/s where M = 128 ran at 60. The product with the narrower
//     operand as A and one small transpose of the result does the same
//     sums.
//
// The rewritten products add the same terms in the same order of k.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "ir/NNBuilder.h"
#include "ir/ShapeRules.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace kiln::nn;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

/// A batch whose every dimension is 1 (or no batch at all).
bool isUnitBatch(ArrayRef<int64_t> batch) {
  return llvm::all_of(batch, [](int64_t d) { return d == 1; });
}

struct FoldBatchIntoRows : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    RankedTensorType a = typeOf(op.getA()), b = typeOf(op.getB()), c = op.getType();
    if (op.getTransposeA() || a.getRank() < 3 || !a.hasStaticShape() || !b.hasStaticShape() ||
        !c.hasStaticShape())
      return failure();
    // B is one matrix for every batch; A carries the whole batch.
    ArrayRef<int64_t> bBatch = b.getShape().drop_back(2), cBatch = c.getShape().drop_back(2);
    if (!isUnitBatch(bBatch) || a.getShape().drop_back(2) != cBatch)
      return failure();
    int64_t m = a.getDimSize(a.getRank() - 2), k = a.getDimSize(a.getRank() - 1);
    NNBuilder nb(rewriter, op.getLoc());
    Value a2 = nb.reshape(op.getA(), {product(cBatch) * m, k});
    Value b2 = b.getRank() == 2 ? op.getB() : nb.reshape(op.getB(), b.getShape().take_back(2));
    Value c2 = nb.matmul(a2, b2, false, op.getTransposeB());
    rewriter.replaceOp(op, nb.reshape(c2, c.getShape()));
    return success();
  }
};

struct DropUnitBatch : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    RankedTensorType a = typeOf(op.getA()), b = typeOf(op.getB()), c = op.getType();
    if (c.getRank() < 3 || !a.hasStaticShape() || !b.hasStaticShape() || !c.hasStaticShape() ||
        !isUnitBatch(c.getShape().drop_back(2)))
      return failure();
    NNBuilder nb(rewriter, op.getLoc());
    auto matrix = [&](Value v, RankedTensorType t) {
      return t.getRank() == 2 ? v : nb.reshape(v, t.getShape().take_back(2));
    };
    Value c2 = nb.matmul(matrix(op.getA(), a), matrix(op.getB(), b), op.getTransposeA(), op.getTransposeB());
    rewriter.replaceOp(op, nb.reshape(c2, c.getShape()));
    return success();
  }
};

struct NarrowTransposedA : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    RankedTensorType a = typeOf(op.getA()), b = typeOf(op.getB());
    if (!op.getTransposeA() || op.getTransposeB() || a.getRank() != 2 || b.getRank() != 2 ||
        !a.hasStaticShape() || !b.hasStaticShape())
      return failure();
    int64_t m = a.getDimSize(1), n = b.getDimSize(1);
    // Only a clearly narrower B (at least twice): ties and near-ties keep
    // the form they were written in.
    if (m < 2 * n || n < 1)
      return failure();
    NNBuilder nb(rewriter, op.getLoc());
    Value ct = nb.matmul(op.getB(), op.getA(), /*transposeA=*/true, /*transposeB=*/false); // [N, M]
    rewriter.replaceOp(op, nb.transpose(ct, {1, 0}));
    return success();
  }
};

struct FoldBatchSumIntoContraction : OpRewritePattern<ReduceSumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceSumOp op, PatternRewriter &rewriter) const override {
    auto mm = op.getX().getDefiningOp<MatmulOp>();
    if (!mm || !mm->hasOneUse() || !mm.getTransposeA() || mm.getTransposeB())
      return failure();
    RankedTensorType a = typeOf(mm.getA()), b = typeOf(mm.getB()), c = mm.getType();
    int64_t rank = c.getRank();
    if (rank < 3 || !a.hasStaticShape() || !b.hasStaticShape() || !op.getType().hasStaticShape())
      return failure();
    // Both operands carry the full batch (none broadcast) and the sum is
    // over exactly the batch axes.
    ArrayRef<int64_t> batch = c.getShape().drop_back(2);
    if (a.getShape().drop_back(2) != batch || b.getShape().drop_back(2) != batch)
      return failure();
    SmallVector<int64_t> axes = normalizedAxes(op.getAxes(), rank);
    llvm::sort(axes);
    if (axes != llvm::to_vector(llvm::seq<int64_t>(0, rank - 2)))
      return failure();
    int64_t k = a.getDimSize(rank - 2);
    NNBuilder nb(rewriter, mm.getLoc());
    Value a2 = nb.reshape(mm.getA(), {product(batch) * k, a.getDimSize(rank - 1)});
    Value b2 = nb.reshape(mm.getB(), {product(batch) * k, b.getDimSize(rank - 1)});
    Value c2 = nb.matmul(a2, b2, /*transposeA=*/true, /*transposeB=*/false);
    rewriter.replaceOp(op, nb.reshape(c2, op.getType().getShape()));
    return success();
  }
};

} // namespace

void MatmulOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<FoldBatchIntoRows, DropUnitBatch, NarrowTransposedA>(context);
}

void ReduceSumOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<FoldBatchSumIntoContraction>(context);
}
