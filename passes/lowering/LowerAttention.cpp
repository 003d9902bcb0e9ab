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
// nn.attention_backward becomes flash attention's backward pass: one
// parallel iteration per batch, which owns that batch's dK and dV, its
// query blocks in order; per key block P = exp(s - lse) is recomputed and
//
//   dV += P^T g;  dS = scale P (g V^T - D), D = rowsum(g out)
//   dQ += dS K;   dK += dS^T Q
//
// The row log-sum-exps come from the forward pass of the same attention
// where the function has it (a training step: the pass pairs the two), or
// are recomputed by a first loop over the keys.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "ir/AttentionComposite.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
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

/// nn.attention (forward) or nn.attention_backward lowered as flash
/// attention; the operands are 3-D ([batches, L, D]) once `prepare` ran.
class FlashAttention {
public:
  FlashAttention(Operation *op, const AttentionParts &parts, int64_t blockQueries, int64_t blockKeys)
      : op(op), parts(parts), b(op), loc(op->getLoc()) {
    auto qt = cast<RankedTensorType>(parts.q.getType());
    int64_t rank = qt.getRank();
    elem = qt.getElementType();
    batchShape.assign(qt.getShape().begin(), qt.getShape().end() - 2);
    batches = 1;
    for (int64_t s : batchShape)
      batches *= s;
    lq = qt.getDimSize(rank - 2);
    d = qt.getDimSize(rank - 1);
    lk = cast<RankedTensorType>(parts.k.getType()).getDimSize(rank - 2);
    dv = cast<RankedTensorType>(parts.v.getType()).getDimSize(rank - 1);
    bq = std::min(lq, blockQueries);
    bk = std::min(lk, blockKeys);
  }

  /// The forward pass: [..., Lq, Dv]; with `logSumExp`, also each row's
  /// log-sum-exp ([batches, Lq], +inf for a row without keys) into it, for
  /// the backward pass of the same attention.
  Value forward(Value *logSumExp = nullptr) {
    NNBuilder nb(b, loc);
    prepare(nb);
    SmallVector<Value> outs = {b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{batches, lq, dv}, elem)};
    if (logSumExp)
      outs.push_back(b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{batches, lq}, elem));
    int64_t fullBlocks = lq / bq, rest = lq % bq;
    // Full query blocks: one iteration per (batch, block).
    outs = parallelLoop(batches * fullBlocks, flops(0, fullBlocks * bq, 2 * d + 2 * dv), outs,
                        [&](Value w, ValueRange acc) -> SmallVector<Value> {
                          Value t = b.create<arith::DivUIOp>(loc, w, index(fullBlocks));
                          Value i0 = b.create<arith::MulIOp>(
                              loc, b.create<arith::RemUIOp>(loc, w, index(fullBlocks)), index(bq));
                          return queryBlock(t, i0, bq, acc);
                        });
    if (rest > 0) // the last, partial query block of each batch
      outs = parallelLoop(batches, flops(fullBlocks * bq, lq, 2 * d + 2 * dv), outs,
                          [&](Value t, ValueRange acc) -> SmallVector<Value> {
                            return queryBlock(t, index(fullBlocks * bq), rest, acc);
                          });
    if (logSumExp)
      *logSumExp = outs[1];
    return reshapeBack(nb, outs[0], lq, dv);
  }

  /// The backward pass given the forward's result and its cotangent:
  /// {dq, dk, dv}. One iteration per batch owns that batch's dk and dv (no
  /// two threads add to one row); within it the query blocks run in order.
  /// Per (query block, key block): P = exp(s - lse) recomputed, dV += P^T g,
  /// dS = scale P (g V^T - D), dQ += dS K, dK += dS^T Q.
  SmallVector<Value> backward(Value out, Value grad, Value logSumExp = Value()) {
    NNBuilder nb(b, loc);
    prepare(nb);
    Value o = nb.reshape(out, {batches, lq, dv}), g = nb.reshape(grad, {batches, lq, dv});
    SmallVector<Value> init = {b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{batches, lq, d}, elem),
                               b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{batches, lk, d}, elem),
                               b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{batches, lk, dv}, elem)};
    // Useful float ops per (query, key it sees): the scores 2 D, dP 2 Dv,
    // dV 2 Dv, dQ 2 D, dK 2 D (the recomputed log-sum-exp not counted).
    SmallVector<Value> grads = parallelLoop(
        batches, flops(0, lq, 6 * d + 4 * dv), init, [&](Value t, ValueRange acc) -> SmallVector<Value> {
          Value dk = filled({lk, d}, 0.0), dvAcc = filled({lk, dv}, 0.0), dq = acc[0];
          int64_t fullBlocks = lq / bq, rest = lq % bq;
          auto blocks = b.create<scf::ForOp>(loc, index(0), index(fullBlocks * bq), index(bq),
                                             ValueRange{dq, dk, dvAcc});
          {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(blocks.getBody());
            b.create<scf::YieldOp>(loc, backwardQueryBlock(t, blocks.getInductionVar(), bq, o, g, logSumExp,
                                                           blocks.getRegionIterArgs()));
          }
          SmallVector<Value> state(blocks.getResults());
          if (rest > 0)
            state = backwardQueryBlock(t, index(fullBlocks * bq), rest, o, g, logSumExp, state);
          return {state[0], insertRows(state[1], acc[1], t, index(0)), insertRows(state[2], acc[2], t, index(0))};
        });
    return {reshapeBack(nb, grads[0], lq, d), reshapeBack(nb, grads[1], lk, d), reshapeBack(nb, grads[2], lk, dv)};
  }

private:
  void prepare(NNBuilder &nb) {
    q = nb.reshape(parts.q, {batches, lq, d});
    k = nb.reshape(parts.k, {batches, lk, d});
    v = nb.reshape(parts.v, {batches, lk, dv});
    if (parts.mask)
      mask = operandIn3D(nb, parts.mask, maskBatch);
    if (parts.bias)
      bias = operandIn3D(nb, parts.bias, biasBatch);
  }

  Value reshapeBack(NNBuilder &nb, Value x, int64_t rows, int64_t cols) {
    SmallVector<int64_t> shape(batchShape);
    shape.append({rows, cols});
    return nb.reshape(x, shape);
  }

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
  /// A block's temporary: an explicit allocation, not a tensor.empty, so
  /// that loop-invariant code motion leaves it in its loop: there it is
  /// private to each iteration, and each thread's scratch holds it.
  Value temporary(ArrayRef<int64_t> shape) {
    return b.create<bufferization::AllocTensorOp>(loc, RankedTensorType::get(shape, elem), ValueRange{});
  }
  Value filled(ArrayRef<int64_t> shape, double value) {
    return b.create<linalg::FillOp>(loc, constant(value), temporary(shape)).getResult(0);
  }
  AffineExpr dim(unsigned i) { return b.getAffineDimExpr(i); }
  AffineMap map(unsigned dims, ArrayRef<AffineExpr> results) {
    return AffineMap::get(dims, 0, results, b.getContext());
  }
  SmallVector<Value> generic(TypeRange types, ValueRange ins, ValueRange outs, ArrayRef<AffineMap> maps,
                             ArrayRef<utils::IteratorType> iterators, BodyFn body) {
    return b.create<linalg::GenericOp>(loc, types, ins, outs, maps, iterators, body).getResults();
  }
  /// init + a x b over the third loop: a linalg contraction that
  /// kiln-tile-matmul turns into register tiles. The maps index (i, j, r)
  /// with r the reduced loop.
  Value contract(Value a, AffineMap aMap, Value x, AffineMap xMap, Value init) {
    auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;
    return generic(TypeRange{init.getType()}, {a, x}, {init}, {aMap, xMap, map(3, {dim(0), dim(1)})},
                   {par, par, red}, [](OpBuilder &nb, Location l, ValueRange v) {
                     Value prod = nb.create<arith::MulFOp>(l, v[0], v[1]);
                     nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, v[2], prod)});
                   })[0];
  }

  /// The useful float ops of queries [from, to) of every batch at `perPair`
  /// per (query, key it sees).
  int64_t flops(int64_t from, int64_t to, int64_t perPair) {
    int64_t pairs = 0;
    for (int64_t i = from; i < to; ++i)
      pairs += parts.causal ? std::clamp<int64_t>(i + lk - lq + 1, 0, lk) : lk;
    return batches * pairs * perPair;
  }

  /// `for w in [0, trips)` carrying `init`, marked for the thread pool, and
  /// named for the profile with its useful float ops.
  SmallVector<Value> parallelLoop(int64_t trips, int64_t flopCount, ValueRange init,
                                  function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = b.create<scf::ForOp>(loc, index(0), index(trips), index(1), init);
    loop->setAttr(kiln::kParallelAttr, b.getUnitAttr());
    loop->setAttr(kiln::kKernelAttr,
                  b.getStringAttr(std::string(isa<AttentionBackwardOp>(op) ? "flash attention backward "
                                                                           : "flash attention ") +
                                  std::to_string(batches) + "x" + std::to_string(lq) + "x" + std::to_string(lk) +
                                  "x" + std::to_string(d) + (parts.causal ? " causal" : "")));
    loop->setAttr(kiln::kKernelFlopsAttr, b.getI64IntegerAttr(flopCount));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    b.create<scf::YieldOp>(loc, body(loop.getInductionVar(), loop.getRegionIterArgs()));
    return SmallVector<Value>(loop.getResults());
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
    return slice(x,
                 {batch, oneRow ? b.getIndexAttr(0) : OpFoldResult(i0), oneCol ? b.getIndexAttr(0) : OpFoldResult(j0)},
                 {1, oneRow ? 1 : rows, oneCol ? 1 : cols}, 1);
  }
  AffineMap windowMap(Value window) {
    auto t = cast<RankedTensorType>(window.getType());
    AffineExpr zero = b.getAffineConstantExpr(0);
    return map(2, {t.getDimSize(0) == 1 ? zero : dim(0), t.getDimSize(1) == 1 ? zero : dim(1)});
  }

  /// The slice of `x` at `offsets` with `sizes`, without its first
  /// `dropped` dimensions (of size 1); and a slice written back (the
  /// dimensions it lacks are leading ones of size 1).
  Value slice(Value x, ArrayRef<OpFoldResult> offsets, ArrayRef<int64_t> sizes, size_t dropped = 0) {
    ArrayRef<int64_t> shape = sizes.drop_front(dropped);
    SmallVector<OpFoldResult> sizeValues, strides(sizes.size(), b.getIndexAttr(1));
    for (int64_t size : sizes)
      sizeValues.push_back(b.getIndexAttr(size));
    auto type = RankedTensorType::get(shape, cast<RankedTensorType>(x.getType()).getElementType());
    return b.create<tensor::ExtractSliceOp>(loc, type, x, offsets, sizeValues, strides);
  }
  Value insert(Value block, Value into, ArrayRef<OpFoldResult> offsets) {
    auto shape = cast<RankedTensorType>(block.getType()).getShape();
    SmallVector<OpFoldResult> sizes(offsets.size() - shape.size(), b.getIndexAttr(1)),
        strides(offsets.size(), b.getIndexAttr(1));
    for (int64_t size : shape)
      sizes.push_back(b.getIndexAttr(size));
    return b.create<tensor::InsertSliceOp>(loc, block, into, offsets, sizes, strides);
  }
  /// Rows [row0, row0 + rows) of batch t of a 3-D tensor, as a 2-D tensor,
  /// and such rows written back.
  Value rowsOf(Value x, Value t, Value row0, int64_t rows) {
    return slice(x, {t, row0, b.getIndexAttr(0)}, {1, rows, cast<RankedTensorType>(x.getType()).getDimSize(2)}, 1);
  }
  Value insertRows(Value block, Value into, Value t, Value row0) {
    return insert(block, into, {t, row0, b.getIndexAttr(0)});
  }

  /// The m of a row as the value its exponentials subtract: 0 while no key
  /// has taken part (m = -inf), so that exp(-inf - 0) = 0 rather than NaN.
  static Value safeMax(OpBuilder &nb, Location l, Value m) {
    Value minusInf = nb.create<arith::ConstantOp>(l, nb.getFloatAttr(m.getType(), -kInf));
    Value zero = nb.create<arith::ConstantOp>(l, nb.getFloatAttr(m.getType(), 0.0));
    Value none = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, m, minusInf);
    return nb.create<arith::SelectOp>(l, none, zero, m);
  }

  /// The scores of `rows` queries (qBlock, at i0 of batch t) against `cols`
  /// keys at j0: scale q k^T (+ bias), -inf where a key does not take part.
  Value scores(Value t, Value qBlock, Value i0, int64_t rows, Value j0, int64_t cols) {
    auto par = utils::IteratorType::parallel;
    Value s = contract(qBlock, map(3, {dim(0), dim(2)}), rowsOf(k, t, j0, cols), map(3, {dim(1), dim(2)}),
                       filled({rows, cols}, 0.0));
    SmallVector<Value> ins = {s};
    SmallVector<AffineMap> maps = {map(2, {dim(0), dim(1)})};
    if (mask) {
      ins.push_back(window(mask, operandBatch(t, maskBatch), i0, rows, j0, cols));
      maps.push_back(windowMap(ins.back()));
    }
    if (bias) {
      ins.push_back(window(bias, operandBatch(t, biasBatch), i0, rows, j0, cols));
      maps.push_back(windowMap(ins.back()));
    }
    maps.push_back(maps.front());
    bool hasMask = bool(mask), hasBias = bool(bias), causal = parts.causal;
    double scale = parts.scale;
    int64_t shift = lk - lq;
    return generic(TypeRange{s.getType()}, ins, {s}, maps, {par, par},
                   [&](OpBuilder &nb, Location l, ValueRange a) {
                     Type et = a[0].getType();
                     Value x = nb.create<arith::MulFOp>(l, a[0], nb.create<arith::ConstantOp>(l, nb.getFloatAttr(et, scale)));
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
  }

  /// Runs `body(j0, cols, state)` over the key blocks that queries
  /// [i0, i0 + rows) see, threading `state`: the full blocks (with `causal`,
  /// those starting at or before the last query's last key,
  /// i0 + rows - 1 + (Lk - Lq)), then the partial block where it is seen.
  SmallVector<Value> forKeyBlocks(Value i0, int64_t rows, ValueRange init,
                                  function_ref<SmallVector<Value>(Value, int64_t, ValueRange)> body) {
    int64_t fullKeyBlocks = lk / bk, restKeys = lk % bk;
    Value keysEnd = index(fullKeyBlocks * bk);
    Value seenEnd = parts.causal ? b.create<arith::AddIOp>(loc, i0, index(rows + lk - lq)).getResult() : Value();
    Value upper = seenEnd ? b.create<arith::MinSIOp>(loc, keysEnd, seenEnd).getResult() : keysEnd;
    auto keyLoop = b.create<scf::ForOp>(loc, index(0), upper, index(bk), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(keyLoop.getBody());
      b.create<scf::YieldOp>(loc, body(keyLoop.getInductionVar(), bk, keyLoop.getRegionIterArgs()));
    }
    SmallVector<Value> state(keyLoop.getResults());
    if (restKeys == 0)
      return state;
    if (!seenEnd)
      return body(keysEnd, restKeys, state);
    Value seen = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, keysEnd, seenEnd);
    auto branch = b.create<scf::IfOp>(loc, TypeRange(ValueRange(state)), seen, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(branch.thenBlock());
    b.create<scf::YieldOp>(loc, body(keysEnd, restKeys, state));
    b.setInsertionPointToStart(branch.elseBlock());
    b.create<scf::YieldOp>(loc, state);
    return SmallVector<Value>(branch.getResults());
  }

  /// `for r in [0, rows)` carrying `init`: the per-row vector work.
  SmallVector<Value> forRows(int64_t rows, ValueRange init, function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = b.create<scf::ForOp>(loc, index(0), index(rows), index(1), init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    b.create<scf::YieldOp>(loc, body(loop.getInductionVar(), loop.getRegionIterArgs()));
    return SmallVector<Value>(loop.getResults());
  }
  Value readRow(Value x, Value r) {
    auto type = cast<RankedTensorType>(x.getType());
    return b.create<vector::TransferReadOp>(loc, VectorType::get({type.getDimSize(1)}, elem), x,
                                            ValueRange{r, index(0)}, constant(0.0), ArrayRef<bool>{true});
  }
  Value writeRow(Value row, Value x, Value r) {
    return b.create<vector::TransferWriteOp>(loc, row, x, ValueRange{r, index(0)}, ArrayRef<bool>{true}).getResult();
  }
  Value splat(Value scalar, Value like) { return b.create<vector::SplatOp>(loc, like.getType(), scalar); }
  Value scalarAt(Value x, Value r) { return b.create<tensor::ExtractOp>(loc, x, ValueRange{r}); }

  /// The online softmax's step for one block of scores, row by row on
  /// vectors of the block's width: m' = max(m, rowmax(s)); with
  /// alpha = exp(m - m'), l' = alpha l + rowsum(exp(s - m')). Returns
  /// {exp(s - m') in place of s, m', l', alpha per row (a tensor) or the
  /// rows of `acc` scaled by alpha where `acc` is given}.
  SmallVector<Value> onlineSoftmax(Value s, Value m, Value l, Value acc, int64_t rows) {
    SmallVector<Value> init = {s, m, l};
    if (acc)
      init.push_back(acc);
    return forRows(rows, init, [&](Value r, ValueRange c) -> SmallVector<Value> {
      Value sRow = readRow(c[0], r);
      Value rowMax = b.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXNUMF, sRow);
      Value mOld = scalarAt(c[1], r);
      Value mNew = b.create<arith::MaxNumFOp>(loc, mOld, rowMax);
      Value subtracted = safeMax(b, loc, mNew);
      Value alpha = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, mOld, subtracted));
      Value p = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, sRow, splat(subtracted, sRow)));
      Value rowSum = b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, p);
      Value lNew = b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, alpha, scalarAt(c[2], r)), rowSum);
      SmallVector<Value> next = {writeRow(p, c[0], r), b.create<tensor::InsertOp>(loc, mNew, c[1], ValueRange{r}),
                                 b.create<tensor::InsertOp>(loc, lNew, c[2], ValueRange{r})};
      if (acc) {
        Value accRow = readRow(c[3], r);
        next.push_back(writeRow(b.create<arith::MulFOp>(loc, accRow, splat(alpha, accRow)), c[3], r));
      }
      return next;
    });
  }

  /// The log-sum-exp of rows from their max and sum: +inf where no key
  /// took part (l = 0), so that exp(s - lse) is 0 there too.
  Value logSumExpOf(Value m, Value l, int64_t rows) {
    AffineMap id1 = map(1, {dim(0)});
    return generic(TypeRange{m.getType()}, {m, l}, {temporary({rows})}, {id1, id1, id1},
                   {utils::IteratorType::parallel}, [](OpBuilder &nb, Location at, ValueRange a) {
                     Value zero = nb.create<arith::ConstantOp>(at, nb.getFloatAttr(a[0].getType(), 0.0));
                     Value inf = nb.create<arith::ConstantOp>(at, nb.getFloatAttr(a[0].getType(), kInf));
                     Value none = nb.create<arith::CmpFOp>(at, arith::CmpFPredicate::OEQ, a[1], zero);
                     Value value = nb.create<arith::AddFOp>(at, a[0], nb.create<math::LogOp>(at, a[1]));
                     nb.create<linalg::YieldOp>(at, ValueRange{nb.create<arith::SelectOp>(at, none, inf, value)});
                   })[0];
  }
  /// One query block of `rows` queries at i0 of batch t against every key
  /// block it sees; returns `outs` (the result, and the log-sum-exps where
  /// kept) with the block's rows written.
  SmallVector<Value> queryBlock(Value t, Value i0, int64_t rows, ValueRange outs) {
    Value out = outs[0];
    auto par = utils::IteratorType::parallel;
    Value qBlock = rowsOf(q, t, i0, rows);
    SmallVector<Value> state = forKeyBlocks(
        i0, rows, {filled({rows}, -kInf), filled({rows}, 0.0), filled({rows, dv}, 0.0)},
        [&](Value j0, int64_t cols, ValueRange c) -> SmallVector<Value> {
          Value s = scores(t, qBlock, i0, rows, j0, cols);
          SmallVector<Value> step = onlineSoftmax(s, c[0], c[1], c[2], rows);
          // acc' = alpha acc + p v_blk
          Value acc = contract(step[0], map(3, {dim(0), dim(2)}), rowsOf(v, t, j0, cols), map(3, {dim(2), dim(1)}),
                               step[3]);
          return {step[1], step[2], acc};
        });
    // out = acc / l, 0 where no key took part.
    Value dest = rowsOf(out, t, i0, rows);
    Value block = generic(TypeRange{dest.getType()}, {state[2], state[1]}, {dest},
                          {map(2, {dim(0), dim(1)}), map(2, {dim(0)}), map(2, {dim(0), dim(1)})}, {par, par},
                          [](OpBuilder &nb, Location l, ValueRange a) {
                            Value zero = nb.create<arith::ConstantOp>(l, nb.getFloatAttr(a[0].getType(), 0.0));
                            Value none = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, a[1], zero);
                            Value q = nb.create<arith::DivFOp>(l, a[0], a[1]);
                            nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::SelectOp>(l, none, zero, q)});
                          })[0];
    SmallVector<Value> written = {insertRows(block, out, t, i0)};
    if (outs.size() > 1)
      written.push_back(insert(logSumExpOf(state[0], state[1], rows), outs[1], {t, i0}));
    return written;
  }

  /// The backward pass of one query block: returns {dq with its rows
  /// written, dk, dv of this batch ([Lk, D], [Lk, Dv]) with its share added}.
  SmallVector<Value> backwardQueryBlock(Value t, Value i0, int64_t rows, Value o, Value g, Value logSumExp,
                                       ValueRange state) {
    auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;
    Value qBlock = rowsOf(q, t, i0, rows), gBlock = rowsOf(g, t, i0, rows), oBlock = rowsOf(o, t, i0, rows);
    // The log-sum-exp of each row's scores: the forward's, where it kept
    // them; else its max and sum, recomputed.
    Value lse;
    if (logSumExp) {
      lse = slice(logSumExp, {t, i0}, {1, rows}, 1);
    } else {
      SmallVector<Value> ml =
          forKeyBlocks(i0, rows, {filled({rows}, -kInf), filled({rows}, 0.0)},
                       [&](Value j0, int64_t cols, ValueRange c) -> SmallVector<Value> {
                         SmallVector<Value> step = onlineSoftmax(scores(t, qBlock, i0, rows, j0, cols), c[0],
                                                                 c[1], Value(), rows);
                         return {step[1], step[2]};
                       });
      lse = logSumExpOf(ml[0], ml[1], rows);
    }
    // D = rowsum(g * o)
    Value dsum = generic(TypeRange{lse.getType()}, {gBlock, oBlock}, {filled({rows}, 0.0)},
                         {map(2, {dim(0), dim(1)}), map(2, {dim(0), dim(1)}), map(2, {dim(0)})}, {par, red},
                         [](OpBuilder &nb, Location l, ValueRange a) {
                           Value prod = nb.create<arith::MulFOp>(l, a[0], a[1]);
                           nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, a[2], prod)});
                         })[0];
    double scale = parts.scale;
    SmallVector<Value> grads = forKeyBlocks(
        i0, rows, {filled({rows, d}, 0.0), state[1], state[2]},
        [&](Value j0, int64_t cols, ValueRange c) -> SmallVector<Value> {
          Value kBlock = rowsOf(k, t, j0, cols), vBlock = rowsOf(v, t, j0, cols);
          Value s = scores(t, qBlock, i0, rows, j0, cols);
          Value dp = contract(gBlock, map(3, {dim(0), dim(2)}), vBlock, map(3, {dim(1), dim(2)}),
                              filled({rows, cols}, 0.0));
          // p = exp(s - lse) in place of s; dS = scale p (dP - D) in place of dP.
          SmallVector<Value> pds = forRows(rows, {s, dp}, [&](Value r, ValueRange c) -> SmallVector<Value> {
            Value sRow = readRow(c[0], r), dpRow = readRow(c[1], r);
            Value p = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, sRow, splat(scalarAt(lse, r), sRow)));
            Value centered = b.create<arith::SubFOp>(loc, dpRow, splat(scalarAt(dsum, r), dpRow));
            Value ds = b.create<arith::MulFOp>(loc, b.create<arith::MulFOp>(loc, p, centered),
                                               splat(constant(scale), p));
            return {writeRow(p, c[0], r), writeRow(ds, c[1], r)};
          });
          Value p = pds[0], ds = pds[1];
          // dV[j0:] += p^T g; dQ_blk += dS k; dK[j0:] += dS^T q
          Value dvRows = contract(p, map(3, {dim(2), dim(0)}), gBlock, map(3, {dim(2), dim(1)}),
                                  slice(c[2], {j0, b.getIndexAttr(0)}, {cols, dv}));
          Value dq = contract(ds, map(3, {dim(0), dim(2)}), kBlock, map(3, {dim(2), dim(1)}), c[0]);
          Value dkRows = contract(ds, map(3, {dim(2), dim(0)}), qBlock, map(3, {dim(2), dim(1)}),
                                  slice(c[1], {j0, b.getIndexAttr(0)}, {cols, d}));
          return {dq, insert(dkRows, c[1], {j0, b.getIndexAttr(0)}), insert(dvRows, c[2], {j0, b.getIndexAttr(0)})};
        });
    return {insertRows(grads[0], state[0], t, i0), grads[1], grads[2]};
  }

  Operation *op;
  AttentionParts parts;
  OpBuilder b;
  Location loc;
  Type elem;
  SmallVector<int64_t> batchShape, maskBatch, biasBatch;
  int64_t batches, lq, d, lk, dv, bq, bk;
  Value q, k, v, mask, bias;
};

struct LowerAttentionPass : kiln::impl::LowerAttentionBase<LowerAttentionPass> {
  using LowerAttentionBase::LowerAttentionBase;

  /// Flash attention where one batch's [Lq, Lk] scores reach the
  /// threshold (and block sizes are sane), else the composite.
  bool useFlash(const AttentionParts &a) {
    auto q = cast<RankedTensorType>(a.q.getType()), k = cast<RankedTensorType>(a.k.getType());
    int64_t scores = q.getDimSize(q.getRank() - 2) * k.getDimSize(k.getRank() - 2);
    return scores >= flashMinScores && scores > 0 && blockQueries > 0 && blockKeys > 0;
  }

  /// The nn.attention whose result `backward` differentiates, when it
  /// attends with the same operands and attributes.
  static AttentionOp forwardOf(AttentionBackwardOp backward) {
    auto forward = backward.getOut().getDefiningOp<AttentionOp>();
    if (!forward || forward.getQ() != backward.getQ() || forward.getK() != backward.getK() ||
        forward.getV() != backward.getV() || forward.getMask() != backward.getMask() ||
        forward.getBias() != backward.getBias() || forward.getCausal() != backward.getCausal() ||
        forward.getScaleValue() != backward.getScaleValue())
      return nullptr;
    return forward;
  }

  void runOnOperation() override {
    SmallVector<AttentionOp> forwards;
    SmallVector<AttentionBackwardOp> backwards;
    getOperation().walk([&](Operation *op) {
      if (auto f = dyn_cast<AttentionOp>(op))
        forwards.push_back(f);
      if (auto g = dyn_cast<AttentionBackwardOp>(op))
        backwards.push_back(g);
    });
    // A training step's forward keeps each row's log-sum-exp for its
    // backward pass, which then need not recompute it (a sixth of its work).
    llvm::DenseMap<Operation *, AttentionBackwardOp> pairedBackward;
    for (AttentionBackwardOp g : backwards)
      if (AttentionOp f = forwardOf(g); f && useFlash(AttentionParts::of(f)))
        pairedBackward[f] = g;
    llvm::DenseMap<Operation *, Value> logSumExps; // by backward op
    for (AttentionOp f : forwards) {
      OpBuilder b(f);
      NNBuilder nb(b, f.getLoc());
      AttentionParts parts = AttentionParts::of(f);
      Value result;
      if (useFlash(parts)) {
        Value logSumExp;
        auto paired = pairedBackward.find(f);
        bool keep = paired != pairedBackward.end();
        result = FlashAttention(f, parts, blockQueries, blockKeys).forward(keep ? &logSumExp : nullptr);
        if (keep)
          logSumExps[paired->second] = logSumExp;
      } else {
        result = attentionComposite(nb, parts);
      }
      f->replaceAllUsesWith(ValueRange{result});
      f->erase();
    }
    for (AttentionBackwardOp g : backwards) {
      OpBuilder b(g);
      NNBuilder nb(b, g.getLoc());
      AttentionParts parts = AttentionParts::of(g);
      SmallVector<Value> results;
      if (useFlash(parts)) {
        results = FlashAttention(g, parts, blockQueries, blockKeys).backward(g.getOut(), g.getGrad(),
                                                                              logSumExps.lookup(g));
      } else {
        AttentionGradients grads = attentionGradientsComposite(nb, parts, g.getGrad());
        results = {grads.dq, grads.dk, grads.dv};
      }
      g->replaceAllUsesWith(results);
      g->erase();
    }
  }
};

} // namespace
