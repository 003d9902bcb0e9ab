//===- SplitScanRows.cpp - a recurrence's rows on the thread pool, whole ---===//
//
// An RNN, GRU or LSTM layer's scan computes each row of its batch on its
// own: row b of the next state depends on row b of the state and of the
// step's input, and on weights every row shares. Parallel inside each step
// (the step's product split by columns), two threads met at a fork and a
// join per step and per kernel, and the gates ran on one of them: the
// layers ran 1.2-1.4x faster on two threads where PyTorch's run 1.9x. Split
// by rows, each thread runs the whole recurrence on its block of rows and
// the threads never meet:
//
//   %c, %ys = nn.scan inits(%c0 : [B, H]) over(%xs : [T, B, I]) consts(%w) {..}
//
// becomes
//
//   %c, %ys = scf.for %k = 0 to B / R iter_args(%cd = empty [B, H], %yd = empty [T, B, H])
//       {kiln.parallel, kiln.kernel = "recurrence ..."} {
//     %cb, %yb = nn.scan inits(%c0[kR : R]) over(%xs[:, kR : R]) consts(%w) {.. on R rows ..}
//     scf.yield insert %cb into %cd[kR : R], insert %yb into %yd[:, kR : R]
//   }
//
// The body is re-typed, not rewritten: an analysis first finds, for every
// value in the body, the axis that holds the rows (or none: the same for
// every row, like a weight), and accepts only ops for which rows stay
// independent (elementwise with broadcasting, a product whose A varies by
// row and B does not, slices and reshapes that keep the rows whole,
// reductions and softmax along other axes). Anything else leaves the scan
// whole. Each element is computed by the same operations in the same order
// as before, so results are bit-identical to the unsplit scan's.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "ir/Dialect.h"
#include "ir/ShapeRules.h"
#include "passes/fusion/SourceOps.h"
#include "passes/lowering/ScanToLoop.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_SPLITSCANROWS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::nn;

namespace {

/// Per value of a scan body: the axis that holds the rows. A value not in
/// the map is the same for every row (a weight, a constant).
using RowAxes = llvm::DenseMap<Value, int64_t>;
constexpr int64_t kSameForEveryRow = -1;

int64_t rowAxis(const RowAxes &axes, Value v) {
  auto it = axes.find(v);
  return it == axes.end() ? kSameForEveryRow : it->second;
}

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Elementwise ops with NumPy broadcasting: the operands that vary by row
/// must hold their rows at one position of the result, and the others must
/// be broadcast along it (size 1, or too low a rank to reach it).
FailureOr<int64_t> broadcastRowAxis(Operation *op, const RowAxes &axes) {
  int64_t rank = tensorType(op->getResult(0)).getRank();
  std::optional<int64_t> axis;
  for (Value v : op->getOperands()) {
    int64_t d = rowAxis(axes, v);
    if (d == kSameForEveryRow)
      continue;
    int64_t aligned = rank - tensorType(v).getRank() + d;
    if (axis && *axis != aligned)
      return failure();
    axis = aligned;
  }
  if (!axis)
    return kSameForEveryRow;
  for (Value v : op->getOperands()) {
    if (rowAxis(axes, v) != kSameForEveryRow)
      continue;
    int64_t at = *axis - (rank - tensorType(v).getRank());
    if (at >= 0 && tensorType(v).getDimSize(at) != 1)
      return failure(); // a per-row value that came in as a weight
  }
  return *axis;
}

/// A product keeps rows apart when only A varies by row, along M (B is
/// shared), or when A and B vary along the same batch axis.
FailureOr<int64_t> matmulRowAxis(MatmulOp op, const RowAxes &axes) {
  int64_t da = rowAxis(axes, op.getA()), db = rowAxis(axes, op.getB());
  if (da == kSameForEveryRow && db == kSameForEveryRow)
    return kSameForEveryRow;
  int64_t ra = tensorType(op.getA()).getRank(), rb = tensorType(op.getB()).getRank();
  int64_t rank = tensorType(op.getResult()).getRank();
  int64_t m = op.getTransposeA() ? ra - 1 : ra - 2;
  if (db == kSameForEveryRow && da == m)
    return rank - 2;
  // Rows along a batch axis: every operand that varies holds them at one
  // batch position of the result; one that does not is broadcast there.
  std::optional<int64_t> axis;
  for (auto [d, r] : {std::pair{da, ra}, std::pair{db, rb}}) {
    if (d == kSameForEveryRow)
      continue;
    if (d >= r - 2)
      return failure(); // rows along M of B, N of A, or K: they meet
    int64_t aligned = (rank - 2) - (r - 2) + d;
    if (axis && *axis != aligned)
      return failure();
    axis = aligned;
  }
  for (auto [v, d, r] : {std::tuple{op.getA(), da, ra}, std::tuple{op.getB(), db, rb}}) {
    if (d != kSameForEveryRow)
      continue;
    int64_t at = *axis - ((rank - 2) - (r - 2));
    if (at >= 0 && tensorType(v).getDimSize(at) != 1)
      return failure();
  }
  return *axis;
}

/// A window that keeps axis `d` whole: from 0, step 1, to its end or past.
bool keepsWhole(ArrayRef<int64_t> starts, ArrayRef<int64_t> stops, ArrayRef<int64_t> steps, int64_t d,
                int64_t size) {
  return starts[d] == 0 && steps[d] == 1 && stops[d] >= size;
}

/// The axis holding the rows of `op`'s results (one result each), or
/// failure when `op` mixes rows or is not one kiln knows to keep them
/// apart. `rows` is the scan's row count.
FailureOr<int64_t> resultRowAxis(Operation *op, const RowAxes &axes, int64_t rows) {
  if (op->getNumResults() != 1 || op->getNumRegions() != 0 || !isa<RankedTensorType>(op->getResult(0).getType()))
    return failure();
  bool varies = llvm::any_of(op->getOperands(), [&](Value v) { return rowAxis(axes, v) != kSameForEveryRow; });
  if (!varies) {
    if (isa<ConstantOp, IotaOp>(op) || (isMemoryEffectFree(op) && op->getNumOperands() > 0))
      return kSameForEveryRow;
    return failure();
  }
  auto only = [&] { return rowAxis(axes, op->getOperand(0)); };
  if (isa<NegOp, AbsOp, ExpOp, LogOp, SqrtOp, RsqrtOp, ErfOp, TanhOp, SigmoidOp, ReluOp, GeluOp, StopGradientOp,
          CastOp>(op))
    return only();
  if (isa<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, PowOp, EqOp, NeOp, LtOp, LeOp, GtOp, GeOp, SelectOp>(op))
    return broadcastRowAxis(op, axes);
  if (auto matmul = dyn_cast<MatmulOp>(op))
    return matmulRowAxis(matmul, axes);
  int64_t d = only();
  if (auto slice = dyn_cast<SliceOp>(op)) {
    if (!keepsWhole(slice.getStarts(), slice.getStops(), slice.getSteps(), d, tensorType(slice.getX()).getDimSize(d)))
      return failure();
    return d;
  }
  if (auto scatter = dyn_cast<SliceScatterOp>(op)) {
    int64_t size = tensorType(scatter.getSrc()).getDimSize(d);
    if (tensorType(scatter.getResult()).getDimSize(d) != size ||
        !keepsWhole(scatter.getStarts(), scatter.getStops(), scatter.getSteps(), d, size))
      return failure();
    return d;
  }
  if (auto reshape = dyn_cast<ReshapeOp>(op)) {
    // Rows leading before and after: each row's elements stay together.
    if (d != 0 || tensorType(reshape.getResult()).getRank() == 0 ||
        tensorType(reshape.getResult()).getDimSize(0) != rows)
      return failure();
    return 0;
  }
  if (auto broadcast = dyn_cast<BroadcastToOp>(op)) {
    int64_t at = tensorType(broadcast.getResult()).getRank() - tensorType(broadcast.getX()).getRank() + d;
    if (tensorType(broadcast.getResult()).getDimSize(at) != rows)
      return failure();
    return at;
  }
  if (auto transpose = dyn_cast<TransposeOp>(op)) {
    int64_t rank = tensorType(transpose.getX()).getRank();
    for (auto [i, p] : llvm::enumerate(transpose.getPerm()))
      if ((p + rank) % rank == d)
        return int64_t(i);
    return failure();
  }
  auto reduceAxis = [&](ArrayRef<int64_t> reduced, bool keepdims) -> FailureOr<int64_t> {
    SmallVector<int64_t> sorted = normalizedAxes(reduced, tensorType(op->getOperand(0)).getRank());
    if (llvm::is_contained(sorted, d))
      return failure();
    return keepdims ? d : d - llvm::count_if(sorted, [&](int64_t a) { return a < d; });
  };
  if (auto r = dyn_cast<ReduceSumOp>(op))
    return reduceAxis(r.getAxes(), r.getKeepdims());
  if (auto r = dyn_cast<ReduceMeanOp>(op))
    return reduceAxis(r.getAxes(), r.getKeepdims());
  if (auto r = dyn_cast<ReduceMaxOp>(op))
    return reduceAxis(r.getAxes(), r.getKeepdims());
  auto alongOther = [&](int64_t axis) -> FailureOr<int64_t> {
    int64_t rank = tensorType(op->getOperand(0)).getRank();
    if ((axis + rank) % rank == d)
      return failure();
    return d;
  };
  if (auto s = dyn_cast<SoftmaxOp>(op))
    return alongOther(s.getAxis());
  if (auto s = dyn_cast<LogSoftmaxOp>(op))
    return alongOther(s.getAxis());
  if (auto concat = dyn_cast<ConcatOp>(op)) {
    for (Value v : concat.getInputs())
      if (rowAxis(axes, v) != d)
        return failure();
    return alongOther(concat.getAxis());
  }
  return failure();
}

/// The rows' axis of every value in `scan`'s body, or why the rows meet.
/// Rows are the leading axis of each carry and the second of each scanned
/// input (the first is time); consts are the same for every row.
FailureOr<RowAxes> analyze(ScanOp scan, int64_t rows, std::string &whyNot) {
  RowAxes axes;
  Block &body = scan.getBody().front();
  unsigned carries = scan.getInits().size(), xs = scan.getXs().size();
  for (BlockArgument arg : body.getArguments().take_front(carries + xs))
    axes[arg] = 0;
  for (Operation &op : body.without_terminator()) {
    FailureOr<int64_t> axis = resultRowAxis(&op, axes, rows);
    if (failed(axis)) {
      whyNot = "its body's '" + op.getName().getStringRef().str() + "' does not keep the rows apart";
      return failure();
    }
    if (*axis != kSameForEveryRow)
      axes[op.getResult(0)] = *axis;
  }
  for (Value v : body.getTerminator()->getOperands())
    if (rowAxis(axes, v) != 0) {
      whyNot = "it yields a value that does not hold the rows first";
      return failure();
    }
  return axes;
}

/// `stops` with `end` at `axis` (a window's bounds on a block's rows).
SmallVector<int64_t> endsAt(ArrayRef<int64_t> stops, int64_t axis, int64_t end) {
  SmallVector<int64_t> out(stops);
  out[axis] = end;
  return out;
}

/// `type` with `size` along `axis`.
RankedTensorType withSize(Type type, int64_t axis, int64_t size) {
  auto t = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(t.getShape());
  shape[axis] = size;
  return t.clone(shape);
}

struct SplitScanRowsPass : kiln::impl::SplitScanRowsBase<SplitScanRowsPass> {
  using SplitScanRowsBase::SplitScanRowsBase;

  /// Blocks for `rows`: as many as threads, at most, each of at least
  /// minRows rows, dividing the rows evenly (static shapes); 1: no split.
  int64_t blocksFor(int64_t rows) const {
    for (int64_t blocks = std::min<int64_t>(threads, rows / std::max<int64_t>(minRows, 1)); blocks >= 2; --blocks)
      if (rows % blocks == 0)
        return blocks;
    return 1;
  }

  /// The bytes of the shared (loop-invariant) operands of the body's
  /// products: each block reads all of them at every step. Split by
  /// columns inside each step (the scan kept whole), a thread reads only
  /// its share, which can stay in its L2 from step to step; split by rows,
  /// every thread streams all of them, but the step's elementwise work (the
  /// gates, and the backward scan's much longer chain) runs on every
  /// thread, on rows whose products the same thread computed, with no fork
  /// and join per step. Measured on a 2 MiB-L2 Xeon, two threads, rows
  /// against columns, both compiled in one process and calls alternating:
  /// the GRU and LSTM at H = 256 (0.75 and 1 MiB of W_hh) 1.05-1.21x
  /// forward; at H = 512 (3 and 4 MiB) forward 1.01-1.04x, forward +
  /// backward 1.05-1.15x (the scans themselves 1.26-1.32x: the backward
  /// scan's elementwise chain had run on one thread). An earlier machine
  /// gave 0.95-0.99x forward at H = 512; bigger weights are not measured.
  /// (Each value once: the backward body reads W_hh^T in two products, the
  /// step recomputed and the state's cotangent.)
  static int64_t sharedWeightBytes(ScanOp scan, const RowAxes &axes) {
    llvm::SetVector<Value> shared;
    scan.getBody().front().walk([&](MatmulOp op) {
      for (Value v : {op.getA(), op.getB()})
        if (rowAxis(axes, v) == kSameForEveryRow && tensorType(v).hasStaticShape())
          shared.insert(v);
    });
    int64_t bytes = 0;
    for (Value v : shared)
      bytes += kiln::bytesOf(tensorType(v));
    return bytes;
  }
  static constexpr int64_t maxSharedBytes = 4 << 20;

  void runOnOperation() override {
    SmallVector<ScanOp> scans;
    // Outermost scans only: an inner one (a checkpointed segment) runs
    // within its parent's step.
    getOperation().walk<WalkOrder::PreOrder>([&](ScanOp scan) {
      scans.push_back(scan);
      return WalkResult::skip();
    });
    for (ScanOp scan : scans)
      splitRows(scan);
  }

  void splitRows(ScanOp scan) {
    if (threads < 2)
      return;
    Location loc = scan.getLoc();
    // The rows: the carries' leading axis, the scanned inputs' second.
    std::optional<int64_t> rows;
    bool shaped = true;
    for (Value init : scan.getInits()) {
      auto t = tensorType(init);
      shaped &= t.hasStaticShape() && t.getRank() >= 1 && (!rows || *rows == t.getDimSize(0));
      if (shaped)
        rows = t.getDimSize(0);
    }
    for (Value x : scan.getXs()) {
      auto t = tensorType(x);
      shaped &= t.hasStaticShape() && t.getRank() >= 2 && (!rows || *rows == t.getDimSize(1));
      if (shaped)
        rows = t.getDimSize(1);
    }
    if (!shaped || !rows)
      return;
    std::string whyNot;
    FailureOr<RowAxes> axes = analyze(scan, *rows, whyNot);
    if (failed(axes)) {
      kiln::explain(explain, loc, "scan over " + std::to_string(scan.getLength()) + " steps stays whole: " + whyNot);
      return;
    }
    int64_t blocks = blocksFor(*rows);
    double flops = kiln::scanStepFlops(scan) * double(scan.getLength());
    int64_t shared = sharedWeightBytes(scan, *axes);
    std::string whole = "scan over " + std::to_string(scan.getLength()) + " steps stays whole: ";
    if (blocks < 2 || flops < double(parallelMinFlops) || shared > maxSharedBytes) {
      kiln::explain(explain, loc,
                    whole + (blocks < 2 ? std::to_string(*rows) + " rows do not make " + std::to_string(threads) +
                                              "-thread blocks of at least " + std::to_string(minRows)
                             : shared > maxSharedBytes
                                 ? "every block would read all " + std::to_string(shared >> 10) +
                                       " KiB of its weights at every step (more than the 4 MiB up to which a split "
                                       "was measured faster)"
                                 : "too little work for threads"));
      return;
    }
    int64_t blockRows = *rows / blocks;
    unsigned carries = scan.getInits().size();

    // The loop over blocks, its results the scan's used results.
    OpBuilder b(scan);
    SmallVector<unsigned> used;
    SmallVector<Value> destinations;
    for (OpResult r : scan->getResults())
      if (!r.use_empty()) {
        used.push_back(r.getResultNumber());
        auto t = tensorType(r);
        destinations.push_back(b.create<tensor::EmptyOp>(loc, t.getShape(), t.getElementType()));
      }
    if (used.empty())
      return;
    Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
    Value count = b.create<arith::ConstantIndexOp>(loc, blocks);
    Value one = b.create<arith::ConstantIndexOp>(loc, 1);
    auto loop = b.create<scf::ForOp>(loc, zero, count, one, destinations);
    std::string what = "recurrence of " + std::to_string(scan.getLength()) + " steps, " + std::to_string(*rows) +
                       " rows in " + std::to_string(blocks) + " blocks";
    loop->setAttr(kiln::kParallelAttr, b.getUnitAttr());
    loop->setAttr(kiln::kKernelAttr, b.getStringAttr(what));
    loop->setAttr(kiln::kKernelFlopsAttr, b.getI64IntegerAttr(int64_t(flops)));
    kiln::explain(explain, loc, what + " (" + std::to_string(blockRows) + " rows each) on the thread pool");

    b.setInsertionPointToStart(loop.getBody());
    Value first = b.create<arith::MulIOp>(loc, loop.getInductionVar(),
                                          b.create<arith::ConstantIndexOp>(loc, blockRows));
    // The block's rows of a tensor whose rows are along `axis`.
    auto window = [&](RankedTensorType type, int64_t axis, SmallVectorImpl<OpFoldResult> &offsets,
                      SmallVectorImpl<OpFoldResult> &sizes, SmallVectorImpl<OpFoldResult> &strides) {
      for (int64_t d = 0; d < type.getRank(); ++d) {
        offsets.push_back(d == axis ? OpFoldResult(first) : b.getIndexAttr(0));
        sizes.push_back(b.getIndexAttr(d == axis ? blockRows : type.getDimSize(d)));
        strides.push_back(b.getIndexAttr(1));
      }
    };
    IRMapping mapping;
    SmallVector<Value> sliced(scan.getInits());
    sliced.append(scan.getXs().begin(), scan.getXs().end());
    for (auto [i, v] : llvm::enumerate(sliced)) {
      int64_t axis = i < carries ? 0 : 1;
      SmallVector<OpFoldResult> offsets, sizes, strides;
      window(tensorType(v), axis, offsets, sizes, strides);
      mapping.map(v, b.create<tensor::ExtractSliceOp>(loc, withSize(v.getType(), axis, blockRows), v, offsets,
                                                       sizes, strides));
    }
    // The scan on the block: the same ops, each row-holding value's type
    // with the block's rows.
    auto block = cast<ScanOp>(b.clone(*scan, mapping));
    Block &original = scan.getBody().front(), &copy = block.getBody().front();
    for (auto [from, to] : llvm::zip(original.getArguments(), copy.getArguments()))
      if (int64_t axis = rowAxis(*axes, from); axis != kSameForEveryRow)
        to.setType(withSize(to.getType(), axis, blockRows));
    for (auto [from, to] : llvm::zip(original.without_terminator(), copy.without_terminator())) {
      for (auto [r, s] : llvm::zip(from.getResults(), to.getResults()))
        if (int64_t axis = rowAxis(*axes, r); axis != kSameForEveryRow)
          s.setType(withSize(s.getType(), axis, blockRows));
      // A window over all rows ends at the block's last row (its stop
      // was at or past the rows' end: the same window, stated plainly).
      // (A window of a shared value, a weight's slice, stays as it is.)
      if (auto slice = dyn_cast<SliceOp>(to))
        if (int64_t axis = rowAxis(*axes, cast<SliceOp>(from).getX()); axis != kSameForEveryRow)
          slice.setStops(endsAt(slice.getStops(), axis, blockRows));
      if (auto scatter = dyn_cast<SliceScatterOp>(to))
        if (int64_t axis = rowAxis(*axes, cast<SliceScatterOp>(from).getSrc()); axis != kSameForEveryRow)
          scatter.setStops(endsAt(scatter.getStops(), axis, blockRows));
    }
    for (OpResult r : block->getResults())
      r.setType(withSize(r.getType(), r.getResultNumber() < carries ? 0 : 1, blockRows));

    SmallVector<Value> yielded;
    for (auto [k, n] : llvm::enumerate(used)) {
      Value into = loop.getRegionIterArgs()[k];
      SmallVector<OpFoldResult> offsets, sizes, strides;
      window(tensorType(into), n < carries ? 0 : 1, offsets, sizes, strides);
      yielded.push_back(b.create<tensor::InsertSliceOp>(loc, block->getResult(n), into, offsets, sizes, strides));
    }
    b.create<scf::YieldOp>(loc, yielded);
    for (auto [k, n] : llvm::enumerate(used))
      scan->getResult(n).replaceAllUsesWith(loop.getResult(k));
    scan->erase();
    split++;
  }
};

} // namespace
