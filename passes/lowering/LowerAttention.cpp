//===- LowerAttention.cpp - nn.attention as its composite or flash -------===//
//
// Small attention (one batch's [Lq, Lk] scores under flash-min-scores
// elements) is spelled with other nn ops (ir/AttentionComposite.h), which
// the usual lowering, matmul tiling and row kernels then take.
//
// Big attention becomes flash attention on tensors, with no [Lq, Lk]
// buffer: a loop over (batch, block of queries), marked for the thread
// pool, and in it a loop over blocks of keys that keeps, per query, the
// running max m, the running sum l and the output accumulator acc (the
// online softmax):
//
//   s     = scale * q_blk k_blk^T (+ bias), excluded keys -inf
//   m'    = max(m, rowmax(s));  alpha = exp(m - m')
//   p     = exp(s - m')
//   l'    = alpha l + rowsum(p);  acc' = alpha acc + p v_blk
//
// and at the end out = acc / l (0 where no key took part: l = 0). A row
// whose max is still -inf subtracts 0 instead, so exp gives 0, not NaN.
// Key blocks wholly above a causal diagonal are not visited. Each op
// writes into the buffer it updates (m, l, acc are loop-carried), so
// bufferization keeps them in place; the two products are linalg
// contractions that kiln-tile-matmul turns into register tiles, and each
// (batch, query block) is computed by one thread in a fixed order, so the
// result is the same on every thread count.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "ir/AttentionComposite.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <limits>

namespace kiln {
#define GEN_PASS_DEF_LOWERATTENTION
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::nn;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using BodyFn = function_ref<void(OpBuilder &, Location, ValueRange)>;

/// One nn.attention lowered as flash attention; the operands are 3-D
/// ([batches, L, D]) after `prepare`.
class FlashAttention {
public:
  FlashAttention(AttentionOp op, int64_t blockQueries, int64_t blockKeys)
      : op(op), b(op), loc(op.getLoc()) {
    RankedTensorType qt = op.getQ().getType();
    int64_t rank = qt.getRank();
    elem = qt.getElementType();
    batchShape.assign(qt.getShape().begin(), qt.getShape().end() - 2);
    batches = 1;
    for (int64_t s : batchShape)
      batches *= s;
    lq = qt.getDimSize(rank - 2);
    d = qt.getDimSize(rank - 1);
    lk = op.getK().getType().getDimSize(rank - 2);
    dv = op.getV().getType().getDimSize(rank - 1);
    bq = std::min(lq, blockQueries);
    bk = std::min(lk, blockKeys);
    scale = op.getScaleValue();
  }

  Value lower() {
    NNBuilder nb(b, loc);
    q = nb.reshape(op.getQ(), {batches, lq, d});
    k = nb.reshape(op.getK(), {batches, lk, d});
    v = nb.reshape(op.getV(), {batches, lk, dv});
    if (op.getMask())
      mask = operandIn3D(nb, op.getMask(), maskBatch);
    if (op.getBias())
      bias = operandIn3D(nb, op.getBias(), biasBatch);

    auto outType = RankedTensorType::get({batches, lq, dv}, elem);
    Value out = b.create<tensor::EmptyOp>(loc, outType.getShape(), elem);
    int64_t fullBlocks = lq / bq, rest = lq % bq;
    // Full query blocks: one iteration per (batch, block).
    out = parallelLoop(batches * fullBlocks, 0, fullBlocks * bq, out, [&](Value w, Value acc) {
      Value t = b.create<arith::DivUIOp>(loc, w, index(fullBlocks));
      Value i0 = b.create<arith::MulIOp>(loc, b.create<arith::RemUIOp>(loc, w, index(fullBlocks)), index(bq));
      return queryBlock(t, i0, bq, acc);
    });
    if (rest > 0) // the last, partial query block of each batch
      out = parallelLoop(batches, fullBlocks * bq, lq, out, [&](Value t, Value acc) {
        return queryBlock(t, index(fullBlocks * bq), rest, acc);
      });
    SmallVector<int64_t> shape(batchShape);
    shape.append({lq, dv});
    return nb.reshape(out, shape);
  }

private:
  /// A mask or bias as [batches of its own, Lq or 1, Lk or 1]; `batchDims`
  /// gets its leading sizes, padded with 1s to the rank of q's.
  Value operandIn3D(NNBuilder &nb, Value x, SmallVectorImpl<int64_t> &batchDims) {
    auto t = cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> full(batchShape.size() + 2 - t.getRank(), 1);
    full.append(t.getShape().begin(), t.getShape().end());
    batchDims.assign(full.begin(), full.end() - 2);
    int64_t count = 1;
    for (int64_t s : batchDims)
      count *= s;
    return nb.reshape(x, {count, full[full.size() - 2], full.back()});
  }

  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value constant(double v) { return b.create<arith::ConstantOp>(loc, b.getFloatAttr(elem, v)); }
  Value filled(ArrayRef<int64_t> shape, double value) {
    Value empty = b.create<tensor::EmptyOp>(loc, shape, elem);
    return b.create<linalg::FillOp>(loc, constant(value), empty).getResult(0);
  }
  AffineMap map(unsigned dims, ArrayRef<AffineExpr> results) {
    return AffineMap::get(dims, 0, results, b.getContext());
  }
  SmallVector<Value> generic(TypeRange types, ValueRange ins, ValueRange outs, ArrayRef<AffineMap> maps,
                             ArrayRef<utils::IteratorType> iterators, BodyFn body) {
    return b.create<linalg::GenericOp>(loc, types, ins, outs, maps, iterators, body).getResults();
  }

  /// The useful float ops of queries [from, to) of every batch: per
  /// (query, key it sees), 2 D for the score and 2 Dv for the product.
  int64_t flops(int64_t from, int64_t to) {
    int64_t pairs = 0;
    for (int64_t i = from; i < to; ++i)
      pairs += op.getCausal() ? std::clamp<int64_t>(i + lk - lq + 1, 0, lk) : lk;
    return batches * pairs * (2 * d + 2 * dv);
  }

  /// `for w in [0, trips)` carrying `out`, marked for the thread pool, and
  /// named for the profile with the float ops of queries [from, to).
  Value parallelLoop(int64_t trips, int64_t from, int64_t to, Value out, function_ref<Value(Value, Value)> body) {
    auto loop = b.create<scf::ForOp>(loc, index(0), index(trips), index(1), ValueRange{out});
    loop->setAttr(kiln::kParallelAttr, b.getUnitAttr());
    loop->setAttr(kiln::kKernelAttr,
                  b.getStringAttr("flash attention " + std::to_string(batches) + "x" + std::to_string(lq) + "x" +
                                  std::to_string(lk) + "x" + std::to_string(d) + (op.getCausal() ? " causal" : "")));
    loop->setAttr(kiln::kKernelFlopsAttr, b.getI64IntegerAttr(flops(from, to)));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value next = body(loop.getInductionVar(), loop.getRegionIterArgs()[0]);
    b.create<scf::YieldOp>(loc, next);
    return loop.getResult(0);
  }

  /// The batch of a mask or bias whose leading sizes are `dims` that q's
  /// flattened batch `t` reads (NumPy broadcasting over the batch).
  Value operandBatch(Value t, ArrayRef<int64_t> dims) {
    Value at = index(0);
    int64_t qStride = batches, ownStride = 1;
    for (int64_t s : dims)
      ownStride *= s;
    for (size_t i = 0; i < dims.size(); ++i) {
      qStride /= batchShape[i];
      ownStride /= dims[i];
      if (dims[i] == 1)
        continue;
      Value coord = b.create<arith::RemUIOp>(loc, b.create<arith::DivUIOp>(loc, t, index(qStride)),
                                             index(batchShape[i]));
      at = b.create<arith::AddIOp>(loc, at, b.create<arith::MulIOp>(loc, coord, index(ownStride)));
    }
    return at;
  }

  /// The [rows, cols] window of a 3-D mask or bias for this block: a size-1
  /// (broadcast) axis stays 1 and is read at 0.
  Value window(Value x, Value batch, Value i0, int64_t rows, Value j0, int64_t cols) {
    auto t = cast<RankedTensorType>(x.getType());
    bool oneRow = t.getDimSize(1) == 1, oneCol = t.getDimSize(2) == 1;
    SmallVector<OpFoldResult> offsets = {batch, oneRow ? b.getIndexAttr(0) : OpFoldResult(i0),
                                         oneCol ? b.getIndexAttr(0) : OpFoldResult(j0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(oneRow ? 1 : rows),
                                       b.getIndexAttr(oneCol ? 1 : cols)};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    auto type = RankedTensorType::get({oneRow ? 1 : rows, oneCol ? 1 : cols}, t.getElementType());
    return b.create<tensor::ExtractSliceOp>(loc, type, x, offsets, sizes, strides);
  }
  AffineMap windowMap(Value window) {
    auto t = cast<RankedTensorType>(window.getType());
    AffineExpr zero = b.getAffineConstantExpr(0);
    return map(2, {t.getDimSize(0) == 1 ? zero : b.getAffineDimExpr(0),
                   t.getDimSize(1) == 1 ? zero : b.getAffineDimExpr(1)});
  }

  /// rows x cols of a 3-D tensor at [t, row0, 0], as a 2-D tensor.
  Value rowsOf(Value x, Value t, Value row0, int64_t rows) {
    int64_t cols = cast<RankedTensorType>(x.getType()).getDimSize(2);
    SmallVector<OpFoldResult> offsets = {t, row0, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(rows), b.getIndexAttr(cols)};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    return b.create<tensor::ExtractSliceOp>(loc, RankedTensorType::get({rows, cols}, elem), x, offsets, sizes,
                                            strides);
  }

  /// The m of a row as the value its exponentials subtract: 0 while no key
  /// has taken part (m = -inf), so that exp(-inf - 0) = 0 rather than NaN.
  static Value safeMax(OpBuilder &nb, Location l, Value m) {
    Value minusInf = nb.create<arith::ConstantOp>(l, nb.getFloatAttr(m.getType(), -kInf));
    Value zero = nb.create<arith::ConstantOp>(l, nb.getFloatAttr(m.getType(), 0.0));
    Value none = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, m, minusInf);
    return nb.create<arith::SelectOp>(l, none, zero, m);
  }

  /// One query block of `rows` queries at i0 of batch t against every key
  /// block it sees; returns `out` with the block's rows written.
  Value queryBlock(Value t, Value i0, int64_t rows, Value out) {
    auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;
    Value qBlock = rowsOf(q, t, i0, rows);
    Value m = filled({rows}, -kInf), l = filled({rows}, 0.0), acc = filled({rows, dv}, 0.0);
    Value maskBatchIndex = mask ? operandBatch(t, maskBatch) : Value();
    Value biasBatchIndex = bias ? operandBatch(t, biasBatch) : Value();

    // One key block of `cols` keys at j0: updates (m, l, acc) in place.
    auto keyBlock = [&](Value j0, int64_t cols, Value m, Value l, Value acc) -> SmallVector<Value> {
      Value kBlock = rowsOf(k, t, j0, cols), vBlock = rowsOf(v, t, j0, cols);
      // s = q_blk k_blk^T
      Value s = generic(TypeRange{RankedTensorType::get({rows, cols}, elem)}, {qBlock, kBlock},
                        {filled({rows, cols}, 0.0)},
                        {map(3, {b.getAffineDimExpr(0), b.getAffineDimExpr(2)}),
                         map(3, {b.getAffineDimExpr(1), b.getAffineDimExpr(2)}),
                         map(3, {b.getAffineDimExpr(0), b.getAffineDimExpr(1)})},
                        {par, par, red},
                        [](OpBuilder &nb, Location l, ValueRange a) {
                          Value prod = nb.create<arith::MulFOp>(l, a[0], a[1]);
                          nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, a[2], prod)});
                        })[0];
      // Scaled, biased, and -inf where a key does not take part.
      SmallVector<Value> ins = {s};
      SmallVector<AffineMap> maps = {map(2, {b.getAffineDimExpr(0), b.getAffineDimExpr(1)})};
      if (mask) {
        ins.push_back(window(mask, maskBatchIndex, i0, rows, j0, cols));
        maps.push_back(windowMap(ins.back()));
      }
      if (bias) {
        ins.push_back(window(bias, biasBatchIndex, i0, rows, j0, cols));
        maps.push_back(windowMap(ins.back()));
      }
      maps.push_back(maps.front());
      bool hasMask = bool(mask), hasBias = bool(bias), causal = op.getCausal();
      double scaleValue = scale;
      int64_t shift = lk - lq;
      s = generic(TypeRange{s.getType()}, ins, {s}, maps, {par, par},
                  [&](OpBuilder &nb, Location l, ValueRange a) {
                    Type et = a[0].getType();
                    Value x = nb.create<arith::MulFOp>(l, a[0], nb.create<arith::ConstantOp>(l, nb.getFloatAttr(et, scaleValue)));
                    unsigned next = 1;
                    Value keep = hasMask ? a[next++] : Value();
                    if (hasBias)
                      x = nb.create<arith::AddFOp>(l, x, a[next++]);
                    if (causal) { // key j0 + c for query i0 + r: j0 + c <= i0 + r + (Lk - Lq)
                      Value row = nb.create<arith::AddIOp>(l, i0, nb.create<linalg::IndexOp>(l, 0));
                      Value col = nb.create<arith::AddIOp>(l, j0, nb.create<linalg::IndexOp>(l, 1));
                      Value last = nb.create<arith::AddIOp>(l, row, nb.create<arith::ConstantIndexOp>(l, shift));
                      Value seen = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sle, col, last);
                      keep = keep ? nb.create<arith::AndIOp>(l, keep, seen).getResult() : seen;
                    }
                    if (keep)
                      x = nb.create<arith::SelectOp>(l, keep, x,
                                                     nb.create<arith::ConstantOp>(l, nb.getFloatAttr(et, -kInf)));
                    nb.create<linalg::YieldOp>(l, x);
                  })[0];
      // Row by row, on vectors of the block's width: m' = max(m, rowmax(s)),
      // alpha = exp(m - m'), p = exp(s - m') in place of s, l' = alpha l +
      // rowsum(p), acc's row scaled by alpha. (As linalg ops on the block,
      // these were scalar loops and took most of the time.)
      auto rowLoop = b.create<scf::ForOp>(loc, index(0), index(rows), index(1), ValueRange{s, m, l, acc});
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(rowLoop.getBody());
        Value r = rowLoop.getInductionVar(), zeroIndex = index(0);
        ValueRange carried = rowLoop.getRegionIterArgs();
        Value sIn = carried[0], mIn = carried[1], lIn = carried[2], accIn = carried[3];
        auto scoresRow = VectorType::get({cols}, elem), accRow = VectorType::get({dv}, elem);
        Value pad = constant(0.0);
        Value sRow = b.create<vector::TransferReadOp>(loc, scoresRow, sIn, ValueRange{r, zeroIndex}, pad,
                                                      ArrayRef<bool>{true});
        Value rowMax = b.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXNUMF, sRow);
        Value mOld = b.create<tensor::ExtractOp>(loc, mIn, ValueRange{r});
        Value mNew = b.create<arith::MaxNumFOp>(loc, mOld, rowMax);
        Value subtracted = safeMax(b, loc, mNew);
        Value alpha = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, mOld, subtracted));
        Value p = b.create<math::ExpOp>(
            loc, b.create<arith::SubFOp>(loc, sRow, b.create<vector::SplatOp>(loc, scoresRow, subtracted)));
        Value rowSum = b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, p);
        Value lOld = b.create<tensor::ExtractOp>(loc, lIn, ValueRange{r});
        Value lNew = b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, alpha, lOld), rowSum);
        Value accOld = b.create<vector::TransferReadOp>(loc, accRow, accIn, ValueRange{r, zeroIndex}, pad,
                                                        ArrayRef<bool>{true});
        Value accScaled = b.create<arith::MulFOp>(loc, accOld, b.create<vector::SplatOp>(loc, accRow, alpha));
        SmallVector<Value> next = {
            b.create<vector::TransferWriteOp>(loc, p, sIn, ValueRange{r, zeroIndex}, ArrayRef<bool>{true})
                .getResult(),
            b.create<tensor::InsertOp>(loc, mNew, mIn, ValueRange{r}),
            b.create<tensor::InsertOp>(loc, lNew, lIn, ValueRange{r}),
            b.create<vector::TransferWriteOp>(loc, accScaled, accIn, ValueRange{r, zeroIndex}, ArrayRef<bool>{true})
                .getResult()};
        b.create<scf::YieldOp>(loc, next);
      }
      Value p = rowLoop.getResult(0), mNext = rowLoop.getResult(1), lNext = rowLoop.getResult(2);
      Value accNext = rowLoop.getResult(3);
      // acc' = alpha acc + p v_blk
      accNext = generic(TypeRange{acc.getType()}, {p, vBlock}, {accNext},
                        {map(3, {b.getAffineDimExpr(0), b.getAffineDimExpr(2)}),
                         map(3, {b.getAffineDimExpr(2), b.getAffineDimExpr(1)}),
                         map(3, {b.getAffineDimExpr(0), b.getAffineDimExpr(1)})},
                        {par, par, red},
                        [](OpBuilder &nb, Location l, ValueRange a) {
                          Value prod = nb.create<arith::MulFOp>(l, a[0], a[1]);
                          nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, a[2], prod)});
                        })[0];
      return {mNext, lNext, accNext};
    };

    // The full key blocks this query block sees: with `causal`, those that
    // start at or before its last query's last key, i0 + rows - 1 + (Lk - Lq).
    int64_t fullKeyBlocks = lk / bk, restKeys = lk % bk;
    Value keysEnd = index(fullKeyBlocks * bk);
    Value seenEnd = op.getCausal() ? b.create<arith::AddIOp>(loc, i0, index(rows + lk - lq)).getResult() : Value();
    Value upper = seenEnd ? b.create<arith::MinSIOp>(loc, keysEnd, seenEnd).getResult() : keysEnd;
    auto keyLoop = b.create<scf::ForOp>(loc, index(0), upper, index(bk), ValueRange{m, l, acc});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(keyLoop.getBody());
      ValueRange carried = keyLoop.getRegionIterArgs();
      b.create<scf::YieldOp>(loc, keyBlock(keyLoop.getInductionVar(), bk, carried[0], carried[1], carried[2]));
    }
    SmallVector<Value> state(keyLoop.getResults());
    if (restKeys > 0) { // the last, partial key block, where this block sees it
      auto visit = [&] { return keyBlock(keysEnd, restKeys, state[0], state[1], state[2]); };
      if (!seenEnd) {
        state = visit();
      } else {
        Value seen = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, keysEnd, seenEnd);
        auto branch = b.create<scf::IfOp>(loc, TypeRange(ValueRange(state)), seen, /*withElse=*/true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(branch.thenBlock());
        b.create<scf::YieldOp>(loc, visit());
        b.setInsertionPointToStart(branch.elseBlock());
        b.create<scf::YieldOp>(loc, state);
        b.setInsertionPointAfter(branch);
        state = SmallVector<Value>(branch.getResults());
      }
    }

    // out = acc / l, 0 where no key took part.
    SmallVector<OpFoldResult> offsets = {t, i0, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(rows), b.getIndexAttr(dv)};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    auto blockType = RankedTensorType::get({rows, dv}, elem);
    Value dest = b.create<tensor::ExtractSliceOp>(loc, blockType, out, offsets, sizes, strides);
    AffineMap id2 = map(2, {b.getAffineDimExpr(0), b.getAffineDimExpr(1)}), rowOf2 = map(2, {b.getAffineDimExpr(0)});
    Value block = generic(TypeRange{blockType}, {state[2], state[1]}, {dest}, {id2, rowOf2, id2}, {par, par},
                          [](OpBuilder &nb, Location l, ValueRange a) {
                            Value zero = nb.create<arith::ConstantOp>(l, nb.getFloatAttr(a[0].getType(), 0.0));
                            Value none = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, a[1], zero);
                            Value q = nb.create<arith::DivFOp>(l, a[0], a[1]);
                            nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::SelectOp>(l, none, zero, q)});
                          })[0];
    return b.create<tensor::InsertSliceOp>(loc, block, out, offsets, sizes, strides);
  }

  AttentionOp op;
  OpBuilder b;
  Location loc;
  Type elem;
  SmallVector<int64_t> batchShape, maskBatch, biasBatch;
  int64_t batches, lq, d, lk, dv, bq, bk;
  double scale;
  Value q, k, v, mask, bias;
};

struct LowerAttentionPass : kiln::impl::LowerAttentionBase<LowerAttentionPass> {
  using LowerAttentionBase::LowerAttentionBase;

  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops) {
      RankedTensorType q = op.getQ().getType(), k = op.getK().getType();
      int64_t scores = q.getDimSize(q.getRank() - 2) * k.getDimSize(k.getRank() - 2);
      Value result;
      if (scores >= flashMinScores && scores > 0 && blockQueries > 0 && blockKeys > 0) {
        result = FlashAttention(op, blockQueries, blockKeys).lower();
      } else {
        OpBuilder b(op);
        NNBuilder nb(b, op.getLoc());
        result = attentionComposite(nb, AttentionParts::of(op));
      }
      op.replaceAllUsesWith(result);
      op.erase();
    }
    SmallVector<AttentionBackwardOp> backward;
    getOperation().walk([&](AttentionBackwardOp op) { backward.push_back(op); });
    for (AttentionBackwardOp op : backward) {
      OpBuilder b(op);
      NNBuilder nb(b, op.getLoc());
      AttentionGradients g = attentionGradientsComposite(nb, AttentionParts::of(op), op.getGrad());
      op.replaceAllUsesWith(ValueRange{g.dq, g.dk, g.dv});
      op.erase();
    }
  }
};

} // namespace
