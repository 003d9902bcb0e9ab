//===- ScanToLoop.cpp - nn.scan to an scf.for over its steps -------------===//
//
//   %c, %ys = nn.scan inits(%c0) over(%xs) consts(%w) { body }
//
// becomes
//
//   %c, %ys = scf.for %i = 0 to T iter_args(%c = alloc_tensor copy(%c0), %ys = alloc_tensor [T, ...]) {
//     %t = reverse ? T - 1 - %i : %i
//     %x = tensor.extract_slice %xs[%t, 0, ...] [1, ...]   (the leading axis dropped)
//     body, its arguments replaced by %c, %x, %w
//     scf.yield linalg.copy %c_next into %c, tensor.insert_slice %y into %ys[%t, 0, ...]
//   }
//
// The body's nn ops are moved into the loop, before the conversion that
// lowers every nn op (they are lowered where they land), so the IR is the
// same size for every T.
// Bufferization keeps the stacked outputs in place (insert_slice into the
// loop's own iter_arg) and hoists the step's temporaries out of the loop.
//
//===----------------------------------------------------------------------===//
#include "passes/lowering/ScanToLoop.h"
#include "passes/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kiln::nn;

namespace {

/// Offsets [t, 0, ...], sizes [1, dims...], strides 1 for row t of a
/// tensor of `type`.
void rowOf(OpBuilder &b, RankedTensorType type, Value t, SmallVectorImpl<OpFoldResult> &offsets,
           SmallVectorImpl<OpFoldResult> &sizes, SmallVectorImpl<OpFoldResult> &strides) {
  offsets.push_back(t);
  sizes.push_back(b.getIndexAttr(1));
  strides.push_back(b.getIndexAttr(1));
  for (int64_t d : type.getShape().drop_front()) {
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(b.getIndexAttr(d));
    strides.push_back(b.getIndexAttr(1));
  }
}

/// A stacked output whose one use inserts it into a tensor of an enclosing
/// loop (kiln-split-scan-rows' block of rows into the whole result) is
/// built in that window of it: the loop starts from the slice the insert
/// writes back, which bufferization keeps in place, instead of a buffer of
/// its own copied there afterwards. Null otherwise.
Value stackedInPlace(Value stacked, ScanOp op) {
  if (!stacked.hasOneUse())
    return nullptr;
  auto insert = dyn_cast<tensor::InsertSliceOp>(*stacked.getUsers().begin());
  auto into = insert ? dyn_cast<BlockArgument>(insert.getDest()) : nullptr;
  if (!into || insert.getSource() != stacked || !into.getOwner()->getParentOp()->isProperAncestor(op) ||
      insert.getSourceType() != stacked.getType())
    return nullptr;
  // The offsets must be ready before the loop (the block's first row is).
  for (Value v : insert.getOffsets())
    if (!v.getParentRegion()->isAncestor(op->getParentRegion()) ||
        (v.getDefiningOp() && v.getDefiningOp()->getBlock() == op->getBlock() &&
         !v.getDefiningOp()->isBeforeInBlock(op)))
      return nullptr;
  OpBuilder b(op);
  return b.create<tensor::ExtractSliceOp>(op.getLoc(), insert.getSourceType(), into, insert.getMixedOffsets(),
                                          insert.getMixedSizes(), insert.getMixedStrides());
}

/// The first dimension of a value's tensor type (its rows), or 0.
int64_t rowsOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.getRank() > 0 ? t.getDimSize(0) : 0;
}

/// `op` as its loop, in place.
void lowerScan(ScanOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  size_t carries = op.getInits().size();
  int64_t length = op.getLength();
  // The carries start as copies of the inits: the loop updates them in
  // place, and an init may be the caller's input (read-only) or a value
  // still used after the scan. Each loop's carries and stacked outputs are
  // allocations of their own (bufferization.alloc_tensor, which CSE never
  // merges as it would two equal tensor.empty ops of two scans).
  SmallVector<Value> iterArgs;
  for (Value init : op.getInits())
    iterArgs.push_back(b.create<bufferization::AllocTensorOp>(loc, cast<RankedTensorType>(init.getType()),
                                                              ValueRange{}, init));
  for (unsigned r = carries; r < op.getNumResults(); ++r) {
    if (Value into = stackedInPlace(op.getResult(r), op)) {
      iterArgs.push_back(into);
      continue;
    }
    iterArgs.push_back(b.create<bufferization::AllocTensorOp>(loc, cast<RankedTensorType>(op.getResult(r).getType()),
                                                              ValueRange{}));
  }
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value steps = b.create<arith::ConstantIndexOp>(loc, length);
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  auto loop = b.create<scf::ForOp>(loc, zero, steps, one, iterArgs);
  // The loop is the recurrence's kernel (unless a loop around it is, as a
  // block of rows of kiln-split-scan-rows): named, with its flops, so that
  // the profile rates it in GFLOP/s rather than after its first product.
  std::string batch = op.getInits().empty() ? "" : ", " + std::to_string(rowsOf(op.getInits()[0])) + " rows";
  loop->setAttr(kiln::kKernelAttr, b.getStringAttr("recurrence of " + std::to_string(length) + " steps" + batch));
  loop->setAttr(kiln::kKernelFlopsAttr, b.getI64IntegerAttr(int64_t(kiln::scanStepFlops(op) * double(length))));
  Block *loopBody = loop.getBody(); // empty: scf.for's builder leaves the yield to us
  b.setInsertionPointToEnd(loopBody);
  Value t = loop.getInductionVar();
  if (op.getReverse())
    t = b.create<arith::SubIOp>(loc, b.create<arith::ConstantIndexOp>(loc, length - 1), t);
  // The body's arguments: the carries, each scanned input's row t, the consts.
  Block &scanBody = op.getBody().front();
  SmallVector<Value> arguments(loop.getRegionIterArgs().take_front(carries));
  for (Value x : op.getXs()) {
    auto type = cast<RankedTensorType>(x.getType());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    rowOf(b, type, t, offsets, sizes, strides);
    auto sliceType = RankedTensorType::get(type.getShape().drop_front(), type.getElementType());
    arguments.push_back(b.create<tensor::ExtractSliceOp>(loc, sliceType, x, offsets, sizes, strides));
  }
  arguments.append(op.getConsts().begin(), op.getConsts().end());
  for (auto [arg, value] : llvm::zip(scanBody.getArguments(), arguments))
    arg.replaceAllUsesWith(value);
  loopBody->getOperations().splice(loopBody->end(), scanBody.getOperations());
  auto yield = cast<YieldOp>(loopBody->back());
  b.setInsertionPointToEnd(loopBody);
  // Each step output goes to row t of its stack; then each next carry is
  // copied into the loop's own carry (destination passing), so that
  // bufferization keeps one buffer per carry for the whole loop instead of
  // a new one per step. The copies come last: a step output may be an
  // incoming carry, which they overwrite.
  SmallVector<Value> rows;
  for (auto [k, y] : llvm::enumerate(yield.getValues().drop_front(carries))) {
    Value stacked = loop.getRegionIterArgs()[carries + k];
    auto type = cast<RankedTensorType>(stacked.getType());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    rowOf(b, type, t, offsets, sizes, strides);
    rows.push_back(b.create<tensor::InsertSliceOp>(loc, y, stacked, offsets, sizes, strides));
  }
  SmallVector<Value> next;
  for (auto [c, value] : llvm::enumerate(yield.getValues().take_front(carries)))
    next.push_back(b.create<linalg::CopyOp>(loc, value, loop.getRegionIterArgs()[c]).getResult(0));
  next.append(rows.begin(), rows.end());
  b.create<scf::YieldOp>(loc, next);
  yield->erase();
  op->replaceAllUsesWith(loop.getResults());
  op->erase();
}

} // namespace

LogicalResult kiln::lowerScans(Operation *root) {
  // Outer scans first: an inner scan's body moves with its parent's.
  SmallVector<ScanOp> scans;
  root->walk<WalkOrder::PreOrder>([&](ScanOp op) { scans.push_back(op); });
  // Ops with run-time index checks report their first failure from the
  // function's end, which a value made inside a loop cannot reach yet.
  for (ScanOp op : scans) {
    WalkResult checked = op.getBody().walk([&](Operation *inner) {
      if (!isa<GatherOp, CrossEntropyOp>(inner))
        return WalkResult::advance();
      inner->emitError() << "'" << inner->getName() << "' inside nn.scan is not supported yet (its run-time "
                         << "index check cannot report from inside the loop): compute it before or after the scan";
      return WalkResult::interrupt();
    });
    if (checked.wasInterrupted())
      return failure();
  }
  for (ScanOp op : scans)
    lowerScan(op);
  return success();
}

double kiln::scanStepFlops(Operation *op) {
  auto scan = cast<ScanOp>(op);
  double flops = 0;
  for (Operation &bodyOp : scan.getBody().front().without_terminator()) {
    if (bodyOp.getNumResults() != 1)
      continue;
    auto type = dyn_cast<RankedTensorType>(bodyOp.getResult(0).getType());
    if (!type || !type.hasStaticShape())
      continue;
    double elements = double(type.getNumElements());
    if (auto matmul = dyn_cast<MatmulOp>(bodyOp)) {
      auto a = cast<RankedTensorType>(matmul.getA().getType());
      elements *= 2.0 * double(a.getDimSize(matmul.getTransposeA() ? a.getRank() - 2 : a.getRank() - 1));
    }
    flops += elements;
  }
  return flops;
}
