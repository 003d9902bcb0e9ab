//===- LowerVectors.cpp - register tiles to FMAs -------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_LOWERVECTORS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// acc + a * b on vectors -> vector.fma(a, b, acc): the register tile's
/// multiply-accumulate in one instruction (one rounding, as BLAS does).
/// The product may reach the add through a shape_cast dropping the tile's
/// unit k dimension.
struct FuseMultiplyAdd : OpRewritePattern<arith::AddFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::AddFOp add, PatternRewriter &rewriter) const override {
    auto type = dyn_cast<VectorType>(add.getType());
    if (!type)
      return failure();
    for (int i = 0; i < 2; ++i) {
      Value product = add->getOperand(i);
      if (auto cast = product.getDefiningOp<vector::ShapeCastOp>(); cast && cast->hasOneUse())
        product = cast.getSource();
      auto mul = product.getDefiningOp<arith::MulFOp>();
      if (!mul || !mul->hasOneUse())
        continue;
      Value a = mul.getLhs(), b = mul.getRhs();
      if (a.getType() != type) {
        a = rewriter.create<vector::ShapeCastOp>(add.getLoc(), type, a);
        b = rewriter.create<vector::ShapeCastOp>(add.getLoc(), type, b);
      }
      rewriter.replaceOpWithNewOp<vector::FMAOp>(add, a, b, add->getOperand(1 - i));
      return success();
    }
    return failure();
  }
};

/// A transfer_read that reads one element and broadcasts it (a row's max or
/// label, a scalar): one scalar load and a vector.broadcast. (The upstream
/// lowering turns a trailing broadcast into a loop of insertelements, which
/// LLVM builds through the stack: `kiln compile --emit=asm` of a 96-wide
/// cross-entropy train step showed ~380 instructions per lane.)
struct BroadcastScalarRead : OpRewritePattern<vector::TransferReadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::TransferReadOp read, PatternRewriter &rewriter) const override {
    auto source = dyn_cast<MemRefType>(read.getSource().getType());
    VectorType type = read.getVectorType();
    if (!source || read.getMask() || type.getRank() == 0)
      return failure();
    AffineMap map = read.getPermutationMap();
    bool broadcasts = false;
    for (auto [i, result] : llvm::enumerate(map.getResults())) {
      if (auto c = dyn_cast<AffineConstantExpr>(result); c && c.getValue() == 0) {
        broadcasts = true;
        continue; // a broadcast dimension
      }
      if (type.getDimSize(i) != 1 || !read.isDimInBounds(i))
        return failure(); // reads more than one element
    }
    if (!broadcasts)
      return failure();
    // Source dims not in the map are read at their index only.
    Value scalar = rewriter.create<memref::LoadOp>(read.getLoc(), read.getSource(), read.getIndices());
    rewriter.replaceOpWithNewOp<vector::BroadcastOp>(read, type, scalar);
    return success();
  }
};

/// The operand of a register tile's multiply, read as rows of lanes: a
/// transfer_read whose permutation map broadcasts some vector dims (the A
/// column across the tile's columns, the B row across its rows), built as
/// one 1-D vector per row: a contiguous vector load, a splat of one scalar
/// load, or (lanes strided in memory) a vector of scalar loads. Rows that
/// read the same elements are read once. `rowsShape` is the read's vector
/// shape without its trailing unit dims (the tile's k dim). Null when the
/// read is not of this kind.
static Value buildRows(PatternRewriter &rewriter, vector::TransferReadOp read, VectorType rowsShape) {
  auto source = dyn_cast<TypedValue<MemRefType>>(read.getSource());
  if (!source || read.getMask() || rowsShape.getRank() == 0 || rowsShape.isScalable())
    return {};
  for (int64_t i = 0; i < read.getVectorType().getRank(); ++i)
    if (!read.isDimInBounds(i))
      return {};
  AffineMap map = read.getPermutationMap();
  int64_t rank = rowsShape.getRank(), lanes = rowsShape.getShape().back();
  // Each vector dim reads one source dim, or broadcasts (-1).
  SmallVector<int64_t> sourceDim;
  for (AffineExpr e : map.getResults()) {
    if (auto d = dyn_cast<AffineDimExpr>(e))
      sourceDim.push_back(d.getPosition());
    else if (auto c = dyn_cast<AffineConstantExpr>(e); c && c.getValue() == 0)
      sourceDim.push_back(-1);
    else
      return {};
  }
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(getStridesAndOffset(source.getType(), strides, offset)))
    return {};
  int64_t laneDim = sourceDim[rank - 1];
  bool contiguous = laneDim == int64_t(strides.size()) - 1 && strides.back() == 1;
  Location loc = read.getLoc();
  Type element = rowsShape.getElementType();
  auto laneType = VectorType::get({lanes}, element);
  Value result = rewriter.create<arith::ConstantOp>(loc, rowsShape, rewriter.getZeroAttr(rowsShape));
  llvm::DenseMap<int64_t, Value> constants;
  auto index = [&](int64_t v) {
    Value &c = constants[v];
    if (!c)
      c = rewriter.create<arith::ConstantIndexOp>(loc, v);
    return c;
  };
  auto plus = [&](Value base, int64_t k) -> Value {
    return k == 0 ? base : rewriter.create<arith::AddIOp>(loc, base, index(k)).getResult();
  };
  std::map<SmallVector<int64_t>, Value> rowsRead;
  int64_t rows = rowsShape.getNumElements() / lanes;
  SmallVector<int64_t> rowShape(rowsShape.getShape().drop_back());
  for (int64_t r = 0; r < rows; ++r) {
    SmallVector<int64_t> position = delinearize(r, computeStrides(rowShape));
    // The source element at lane 0 of this row, per source dim.
    SmallVector<int64_t> at(strides.size(), 0);
    for (int64_t j = 0; j < rank - 1; ++j)
      if (sourceDim[j] >= 0)
        at[sourceDim[j]] += position[j];
    Value &row = rowsRead[at];
    if (!row) {
      SmallVector<Value> indices;
      for (auto [k, base] : llvm::enumerate(read.getIndices()))
        indices.push_back(plus(base, at[k]));
      if (laneDim < 0) {
        Value scalar = rewriter.create<memref::LoadOp>(loc, source, indices);
        row = rewriter.create<vector::BroadcastOp>(loc, laneType, scalar);
      } else if (contiguous) {
        row = rewriter.create<vector::TransferReadOp>(
            loc, laneType, source, indices,
            AffineMap::get(strides.size(), 0, rewriter.getAffineDimExpr(laneDim)),
            read.getPadding(), /*mask=*/Value(), rewriter.getBoolArrayAttr({true}));
      } else {
        SmallVector<Value> elements;
        for (int64_t l = 0; l < lanes; ++l) {
          SmallVector<Value> laneIndices(indices);
          laneIndices[laneDim] = plus(indices[laneDim], l);
          elements.push_back(rewriter.create<memref::LoadOp>(loc, source, laneIndices));
        }
        row = rewriter.create<vector::FromElementsOp>(loc, laneType, elements);
      }
    }
    result = rank == 1 ? row : rewriter.create<vector::InsertOp>(loc, row, result, position).getResult();
  }
  return result;
}

/// shape_cast(a * b) that drops the tile's trailing unit (k) dims, where a
/// and b are broadcasting reads (the vectorized register tile's operands):
/// the product of the operands read directly as rows of the cast's shape.
/// The upstream lowering builds each broadcast element by element through
/// transposes of n-D vectors (about 1000 ops per tile and k step, most of
/// the LLVM IR of a training step); here a row is one or two ops.
struct MultiplyBroadcastRows : OpRewritePattern<vector::ShapeCastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::ShapeCastOp cast, PatternRewriter &rewriter) const override {
    auto mul = cast.getSource().getDefiningOp<arith::MulFOp>();
    if (!mul || !mul->hasOneUse())
      return failure();
    VectorType from = cast.getSourceVectorType(), to = cast.getResultVectorType();
    // The cast only drops trailing unit dims.
    if (to.getRank() == 0 || to.getRank() >= from.getRank() ||
        from.getShape().take_front(to.getRank()) != to.getShape() ||
        llvm::any_of(from.getShape().drop_front(to.getRank()), [](int64_t d) { return d != 1; }))
      return failure();
    auto lhs = mul.getLhs().getDefiningOp<vector::TransferReadOp>();
    auto rhs = mul.getRhs().getDefiningOp<vector::TransferReadOp>();
    if (!lhs || !rhs)
      return failure();
    // Both reads must lower here before any IR is created.
    for (vector::TransferReadOp read : {lhs, rhs})
      if (!isa<MemRefType>(read.getSource().getType()) || read.getMask())
        return failure();
    rewriter.setInsertionPoint(mul);
    Value a = buildRows(rewriter, lhs, to);
    if (!a)
      return failure();
    Value b = buildRows(rewriter, rhs, to);
    if (!b)
      return failure(); // a's ops are dead and folded away
    rewriter.replaceOpWithNewOp<arith::MulFOp>(cast, a, b, mul.getFastmathAttr());
    return success();
  }
};

struct LowerVectorsPass : kiln::impl::LowerVectorsBase<LowerVectorsPass> {
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    // The accumulator stays in registers across the k loop: the tile's
    // subviews leave the loop first (LICM), then its read and write.
    f.walk([](LoopLikeOpInterface loop) { moveLoopInvariantCode(loop); });
    linalg::hoistRedundantVectorTransfers(f);
    MLIRContext *ctx = &getContext();
    // The tile's operands first, before the generic transfer lowering
    // below sees their broadcasting reads.
    RewritePatternSet rows(ctx);
    rows.add<MultiplyBroadcastRows>(ctx);
    if (failed(applyPatternsAndFoldGreedily(f, std::move(rows))))
      return signalPassFailure();
    RewritePatternSet patterns(ctx);
    patterns.add<FuseMultiplyAdd, BroadcastScalarRead>(ctx);
    vector::VectorTransformsOptions options;
    options.setVectorTransformsOptions(vector::VectorContractLowering::OuterProduct);
    vector::populateVectorContractLoweringPatterns(patterns, options);
    vector::populateVectorOuterProductLoweringPatterns(patterns);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorTransposeLoweringPatterns(patterns, options);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::populateVectorShapeCastLoweringPatterns(patterns);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerReduction);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsAndFoldGreedily(f, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
