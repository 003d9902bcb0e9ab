//===- TileMatmul.cpp - matmuls as vectorized register tiles -------------===//
#include "passes/Passes.h"
#include "ir/ConstantValues.h"
#include "passes/fusion/SourceOps.h"
#include "passes/tiling/VectorizeSupport.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_TILEMATMUL
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kParallelAttr;

namespace {


/// A matmul-like contraction kiln can tile: static shapes, all loops parallel
/// but the last (the reduction), projected-permutation maps, a multiply-add
/// body.
bool isTileableMatmul(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumDpsInputs() != 2 || !op.hasPureTensorSemantics())
    return false;
  // An empty dimension (M, N or K of 0) leaves nothing to tile: the plain
  // loops run zero times and the zero fill stays (the tile sizing divided
  // by it).
  if (llvm::is_contained(op.getStaticLoopRanges(), 0))
    return false;
  auto iterators = op.getIteratorTypesArray();
  if (iterators.size() < 3 || !linalg::isReductionIterator(iterators.back()))
    return false;
  for (auto it : ArrayRef(iterators).drop_back())
    if (!linalg::isParallelIterator(it))
      return false;
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation())
      return false;
  if (!linalg::isaContractionOpInterface(op))
    return false;
  // A matrix product: A does not vary along N, B not along M, the result
  // not along K. (sum(x * y) over the last axis is a contraction too, but a
  // row reduction: as "M x N" register tiles over K it ran at 0.5 GFLOP/s;
  // kiln-tile-rows takes it.)
  unsigned loops = op.getNumLoops();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[0].isFunctionOfDim(loops - 2) || maps[1].isFunctionOfDim(loops - 3) ||
      maps[2].isFunctionOfDim(loops - 1))
    return false;
  for (int64_t size : op.getStaticLoopRanges())
    if (ShapedType::isDynamic(size))
      return false;
  return true;
}

/// The elementwise op that consumes a matmul's result and nothing else does
/// (bias, activation, residual add, scaling, fused into one generic by
/// kiln-fuse-elementwise): it becomes the matmul's epilogue, applied to each
/// register tile while it is still in registers.
linalg::GenericOp epilogueOf(linalg::GenericOp matmul, std::string &whyNot) {
  Value result = matmul->getResult(0);
  if (!result.hasOneUse()) {
    whyNot = result.use_empty() ? "its result is unused"
                                : "its result has " + std::to_string(std::distance(result.use_begin(), result.use_end())) +
                                      " users";
    return nullptr;
  }
  auto consumer = dyn_cast<linalg::GenericOp>(*result.getUsers().begin());
  if (!consumer || !consumer.hasPureTensorSemantics() || consumer.getNumDpsInits() != 1 ||
      consumer.getNumReductionLoops() != 0 || consumer.getNumLoops() + 1 != matmul.getNumLoops()) {
    whyNot = "its consumer is not elementwise over its result";
    return nullptr;
  }
  for (OpOperand &use : result.getUses()) {
    if (consumer.isDpsInit(&use) || !consumer.getMatchingIndexingMap(&use).isIdentity()) {
      whyNot = "its consumer does not read it element by element";
      return nullptr;
    }
  }
  if (!consumer.getIndexingMapsArray().back().isIdentity()) {
    whyNot = "its consumer writes a permuted result";
    return nullptr;
  }
  // An update the function writes in place into its own input (a training
  // step's w - lr * dw, kiln-update-in-place) stays one elementwise op over
  // the whole tensor. Other returned results take the epilogue (a model's
  // last x W^T + b: apart, a second pass over the result, 16 MiB for a
  // 2048 x 2048 output).
  if (kiln::returnsInPlaceUpdate(consumer)) {
    whyNot = "its consumer's result is an update written in place into an input";
    return nullptr;
  }
  for (AffineMap map : consumer.getIndexingMapsArray())
    if (!map.isProjectedPermutation()) {
      whyNot = "its consumer reads through a non-permutation map";
      return nullptr;
    }
  if (auto why = kiln::whyNotVectorizable(consumer)) {
    whyNot = "its consumer cannot be vectorized: " + *why;
    return nullptr;
  }
  // Only arithmetic in the body (no tensor.extract, no linalg.index).
  for (Operation &op : consumer.getRegion().front().without_terminator())
    if (op.getNumRegions() != 0 || isa<linalg::IndexOp, tensor::ExtractOp>(op)) {
      whyNot = "its consumer indexes or gathers";
      return nullptr;
    }
  // Two or more transcendentals per element (GELU's derivative: an erf and
  // an exp) stay a kernel of their own: on the 16 accumulator registers of
  // a tile their polynomials spill. The LM's 2048x512x128 input gradient
  // took 5.6 ms with that epilogue against 2.7 ms plus 1.2 ms apart; one
  // (the forward's GELU) still pays as an epilogue (2.1 ms against 3.7 +
  // 1.2).
  int transcendentals = 0;
  for (Operation &op : consumer.getRegion().front().without_terminator())
    transcendentals += isa<math::ErfOp, math::ExpOp, math::TanhOp, math::LogOp>(op);
  if (transcendentals >= 2) {
    whyNot = "its consumer computes transcendentals";
    return nullptr;
  }
  return consumer;
}

/// An elementwise op reading a matmul's result through an expand_shape (a
/// batch folded into M by nn.matmul's canonical form, then reshaped back):
/// collapsing its loops to the matmul's shape lets it read the result
/// directly, so it can become the epilogue. Its other operands are collapsed
/// with it (views) and its result expanded back.
bool isCollapsibleEpilogueRead(OpOperand *operand) {
  auto consumer = dyn_cast<linalg::GenericOp>(operand->getOwner());
  auto expand = operand->get().getDefiningOp<tensor::ExpandShapeOp>();
  if (!consumer || !expand || consumer.getNumReductionLoops() != 0 || !expand->hasOneUse())
    return false;
  auto matmul = expand.getSrc().getDefiningOp<linalg::GenericOp>();
  return matmul && matmul->hasOneUse() && isTileableMatmul(matmul);
}

/// Gives `op` new inputs and indexing maps, in place.
void setInputsAndMaps(RewriterBase &rewriter, linalg::GenericOp op, ValueRange inputs, ArrayRef<AffineMap> maps) {
  rewriter.modifyOpInPlace(op, [&] {
    op.getInputsMutable().assign(inputs);
    op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
  });
}

/// A batch operand broadcast through a unit dimension (`[1, M, K]` against
/// a batch of 4: map results that are the constant 0) reads the same matrix
/// for every batch: the unit dims are sliced away and the map drops them, so
/// the matmul's maps become projected permutations and take the tiled path.
void dropBroadcastUnitDims(RewriterBase &rewriter, linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics())
    return;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<Value> inputs = op.getDpsInputs();
  bool changed = false;
  for (unsigned i = 0; i < 2; ++i) {
    auto type = dyn_cast<RankedTensorType>(inputs[i].getType());
    if (!type || !type.hasStaticShape())
      return;
    SmallVector<AffineExpr> kept;
    SmallVector<int64_t> keptShape;
    for (auto [d, e] : llvm::enumerate(maps[i].getResults())) {
      auto c = dyn_cast<AffineConstantExpr>(e);
      if (c && c.getValue() == 0 && type.getDimSize(d) == 1)
        continue;
      kept.push_back(e);
      keptShape.push_back(type.getDimSize(d));
    }
    if (kept.size() == maps[i].getNumResults())
      continue;
    // A rank-reducing slice of the whole tensor: the same data, unit dims gone.
    Location loc = op.getLoc();
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0)), strides(rank, rewriter.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim : type.getShape())
      sizes.push_back(rewriter.getIndexAttr(dim));
    rewriter.setInsertionPoint(op);
    inputs[i] = rewriter.create<tensor::ExtractSliceOp>(
        loc, RankedTensorType::get(keptShape, type.getElementType()), inputs[i], offsets, sizes, strides);
    maps[i] = AffineMap::get(maps[i].getNumDims(), 0, kept, op.getContext());
    changed = true;
  }
  if (changed)
    setInputsAndMaps(rewriter, op, inputs, maps);
}

/// The outermost scf.for around `op` that `v` is invariant in (defined
/// outside of it), or null: where a copy of `v` made for `op` is made once
/// (a recurrent weight read at every step of a scan).
scf::ForOp outermostLoopInvariantIn(Value v, Operation *op) {
  scf::ForOp outermost;
  for (Operation *p = op->getParentOp(); p && p->getNumRegions() > 0; p = p->getParentOp()) {
    if (!v.getParentRegion()->isProperAncestor(&p->getRegion(0)))
      break;
    if (auto loop = dyn_cast<scf::ForOp>(p))
      outermost = loop;
  }
  return outermost;
}

/// Operands stored against the register tile's grain, transposed once into
/// a temporary (N x K or M x K moves against M x N x K multiply-adds) that
/// the matmul then reads:
///  - B stored as [N, K] (transpose_b): a tile reads a row of 32 columns
///    of B at each k, which would be 32 strided scalars 4*K bytes apart
///    (29 GFLOP/s for the input gradient g W^T where the packed path runs
///    at 66+ on the same machine); as [K, N] it takes the packed path.
///  - A stored as [K, M] (transpose_a: the weight gradient x^T g) with a
///    long K: a tile reads 8 neighbouring scalars per k, one cache line,
///    but the lines of successive k are 4*M bytes apart, so for M a
///    multiple of 1024 / 4 they fall into a few L1 sets and evict each
///    other over a long K (256x1024x2048: 77 GFLOP/s, against 209 for the
///    same product with A as [M, K], 2 threads). Below kTransposeAMinK
///    (the attention's blocks, K = 64) the strided reads stay in L1 and the
///    copy measured slower.
constexpr int64_t kTransposeAMinK = 256;

void readInTileGrain(RewriterBase &rewriter, linalg::GenericOp op, bool explain) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<Value> inputs = op.getDpsInputs();
  unsigned k = op.getNumLoops() - 1;
  int64_t kSize = op.getStaticLoopRanges().back();
  AffineExpr kExpr = getAffineDimExpr(k, op.getContext());
  bool changed = false;
  for (unsigned i : {0u, 1u}) {
    AffineMap map = maps[i];
    unsigned rank = map.getNumResults();
    auto type = dyn_cast<RankedTensorType>(inputs[i].getType());
    if (rank < 2 || !type || !type.hasStaticShape())
      continue;
    // B wants k second to last ([K, N]); A wants it last ([M, K]).
    bool against = i == 1 ? map.getResult(rank - 1) == kExpr && !map.getResult(rank - 2).isFunctionOfDim(k)
                          : map.getResult(rank - 2) == kExpr && !map.getResult(rank - 1).isFunctionOfDim(k) &&
                                kSize >= kTransposeAMinK;
    if (!against)
      continue;
    SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    std::swap(perm[rank - 2], perm[rank - 1]);
    SmallVector<int64_t> shape(type.getShape());
    std::swap(shape[rank - 2], shape[rank - 1]);
    Location loc = op.getLoc();
    // Before the outermost loop the operand is invariant in (transposed
    // inside the loop, the GRU's backward copied W_hh's panels at every
    // step). Where B's panels are then packed (packB), they are packed from
    // this transpose's source and the transpose itself dies.
    scf::ForOp outermost = outermostLoopInvariantIn(inputs[i], op);
    rewriter.setInsertionPoint(outermost ? outermost.getOperation() : op.getOperation());
    Value empty = rewriter.create<tensor::EmptyOp>(loc, shape, type.getElementType());
    inputs[i] = rewriter.create<linalg::TransposeOp>(loc, inputs[i], empty, perm).getResult()[0];
    SmallVector<AffineExpr> exprs(map.getResults());
    std::swap(exprs[rank - 2], exprs[rank - 1]);
    maps[i] = AffineMap::get(map.getNumDims(), 0, exprs, op.getContext());
    kiln::explain(explain, loc,
                  i == 1 ? "matmul operand B transposed once into the register tile's grain (it was stored N x K)"
                         : "matmul operand A transposed once into the register tile's grain (it was stored K x M, K = " +
                               std::to_string(kSize) + ")");
    changed = true;
  }
  if (changed)
    setInputsAndMaps(rewriter, op, inputs, maps);
}

/// Marks a B panel packed at run time by transposing a slice of the
/// source of B's transpose (packB), so that isPacked knows it.
constexpr llvm::StringLiteral kPanelAttr = "kiln.b_panel";

/// W's bytes from which B = W^T's run-time panels are transposed from W
/// directly (a 1 MiB L2, as kPanelBytes assumes).
constexpr int64_t kFoldTransposeBytes = 1024 * 1024;

int64_t bytesOf(Value v) { return kiln::bytesOf(cast<ShapedType>(v.getType())); }

/// The [N, K] source when B ([K, N]) is its 2-D transpose (a weight used as
/// W^T: nn.transpose, or transpose_b read in the tile's grain), else null.
Value transposeSource(Value b) {
  auto transpose = b.getDefiningOp<linalg::TransposeOp>();
  if (!transpose || transpose->hasAttr(kPanelAttr) || transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
    return nullptr;
  auto type = dyn_cast<RankedTensorType>(transpose.getInput().getType());
  return type && type.hasStaticShape() ? transpose.getInput() : nullptr;
}

/// B already comes from a packed panel (kiln-tile-matmul's column blocks,
/// packed at run time or, for constant weights, at compile time).
bool isPacked(linalg::GenericOp op) {
  Value b = op.getDpsInputs()[1];
  while (auto slice = b.getDefiningOp<tensor::ExtractSliceOp>())
    b = slice.getSource();
  if (b.getDefiningOp<linalg::CopyOp>())
    return true; // a panel packed at run time
  if (Operation *panel = b.getDefiningOp<linalg::TransposeOp>(); panel && panel->hasAttr(kPanelAttr))
    return true; // a panel packed at run time from B's transpose's source
  if (b.getDefiningOp<linalg::TransposeOp>() && cast<ShapedType>(b.getType()).getRank() == 3)
    return true; // panels packed once before a loop B is invariant in
  // A constant packed at compile time ([panels, K, width]; B itself is 2-D).
  return b.getDefiningOp<arith::ConstantOp>() && cast<ShapedType>(b.getType()).getRank() == 3;
}

/// Register tile rows x columns for an m x n output: half the vector
/// registers are accumulators (16 of AVX-512's 32 zmm, 8 of 16 otherwise);
/// up to 8 rows (4 with 16 registers), the columns filling the rest.
std::pair<int64_t, int64_t> registerTile(int64_t vectorBits, int64_t m, int64_t n) {
  int64_t lanes = std::max<int64_t>(vectorBits / 32, 1);
  int64_t accumulators = vectorBits >= 512 ? 16 : 8;
  int64_t rows = std::min<int64_t>(m, vectorBits >= 512 ? 8 : 4);
  int64_t columns = lanes * std::max<int64_t>(accumulators / rows, 1);
  return {rows, std::min<int64_t>(columns, n)};
}

/// B as a compile-time constant, packed: panel p holds B[0:K, p*w : p*w+w]
/// contiguously (the last one zero-padded), so the loop over panels reads
/// slices and nothing is copied at run time. Null unless B is a dense
/// float constant and `nLoop` walks the panels (from 0 in steps of w).
Value packedConstant(RewriterBase &rewriter, Value b, scf::ForOp nLoop, int64_t n, int64_t k, int64_t w) {
  auto constant = b.getDefiningOp<arith::ConstantOp>();
  auto elements = constant ? dyn_cast<ElementsAttr>(constant.getValue()) : nullptr;
  auto type = dyn_cast<RankedTensorType>(b.getType());
  if (!elements || !type || type.getRank() != 2 || !(type.getElementType().isF32() || type.getElementType().isF64()) ||
      getConstantIntValue(nLoop.getLowerBound()) != 0 || getConstantIntValue(nLoop.getStep()) != w)
    return nullptr;
  // Dense values or a blob (a constant from the C++ Graph), read once.
  auto source = kiln::nn::constantValues(elements);
  if (failed(source))
    return nullptr;
  int64_t panels = (n + w - 1) / w;
  auto elem = cast<FloatType>(type.getElementType());
  SmallVector<APFloat> values(panels * k * w, APFloat::getZero(elem.getFloatSemantics()));
  bool single = elem.isF32();
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double v = (*source)[r * n + c];
      values[((c / w) * k + r) * w + c % w] = single ? APFloat(float(v)) : APFloat(v);
    }
  auto packedType = RankedTensorType::get({panels, k, w}, elem);
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(constant);
  return rewriter.create<arith::ConstantOp>(constant.getLoc(), DenseElementsAttr::get(packedType, values));
}

/// B's panels packed into [n / w, K, w] (as packedConstant lays them out
/// at compile time) before `before`: one copy of B that every column tile
/// then slices. B = W^T (a weight stored [N, K]) is packed from W in one
/// pass ([N, K] -> [panels, w, K] -> [panels, K, w]) instead of transposing
/// W and then packing the transpose (two passes over 4 MiB for the LSTM's
/// W_hh at H = 512; the transpose dies unless used elsewhere). Null unless
/// w divides n and `nLoop` walks the panels (from 0 in steps of w).
Value packedPanels(RewriterBase &rewriter, Value b, Operation *before, scf::ForOp nLoop, int64_t n, int64_t k,
                   int64_t w) {
  auto type = dyn_cast<RankedTensorType>(b.getType());
  if (!type || type.getRank() != 2 || !type.hasStaticShape() || n % w != 0 ||
      getConstantIntValue(nLoop.getLowerBound()) != 0 || getConstantIntValue(nLoop.getStep()) != w)
    return nullptr;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(before);
  Location loc = b.getLoc();
  Type elem = type.getElementType();
  int64_t panels = n / w;
  if (Value source = transposeSource(b)) {
    Value expanded = rewriter.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get({panels, w, k}, elem), source,
                                                            ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    Value empty = rewriter.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{panels, k, w}, elem);
    return rewriter.create<linalg::TransposeOp>(loc, expanded, empty, ArrayRef<int64_t>{0, 2, 1}).getResult()[0];
  }
  Value expanded = rewriter.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get({k, panels, w}, elem), b,
                                                          ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  Value empty = rewriter.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{panels, k, w}, elem);
  return rewriter.create<linalg::TransposeOp>(loc, expanded, empty, ArrayRef<int64_t>{1, 0, 2}).getResult()[0];
}

/// B invariant in a loop around `nLoop` (a recurrent weight read at every
/// step of a scan): its panels packed once, before the outermost such loop,
/// so that no step copies them again. Null when no loop encloses `nLoop`
/// that B is invariant in, or the panels cannot be packed ahead.
Value packedBeforeLoops(RewriterBase &rewriter, Value b, scf::ForOp nLoop, int64_t n, int64_t k, int64_t w) {
  scf::ForOp outermost = outermostLoopInvariantIn(b, nLoop);
  return outermost ? packedPanels(rewriter, b, outermost, nLoop, n, k, w) : nullptr;
}

/// B's bytes up to which a matmul with several column tiles packs B whole
/// before its loops and walks the rows outside (half of a 1 MiB L2).
constexpr int64_t kWholeBBytes = 512 * 1024;

/// B ([K, N]) of the 2-D matmul `op` spans several column tiles of
/// `columns` and fits in kWholeBBytes, or, where A is at least half of the
/// target's L2 (`l2Bytes`), in half of that L2: with column blocks such an A
/// streams from memory once per block (2 MiB, 8 times, for the 2048x1024x256
/// input projection of an LSTM at H = 256), with B whole once. Measured on a
/// 2 MiB-L2 Xeon, in one process, calls alternating: B whole up to 1 MiB made
/// the LSTM's 2048x1024x256 projection 1.19x faster on one thread and 1.07x on
/// two, the GRU's 2048x768x256 1.16x; for a small A (the MLP's 64 rows, its
/// 784 KiB first weight) it made the training step 3-6% slower, hence the
/// bound on A.
bool fitsWhole(linalg::GenericOp op, int64_t n, int64_t columns, int64_t l2Bytes) {
  int64_t b = bytesOf(op.getDpsInputs()[1]);
  bool fits = b <= kWholeBBytes || (b <= l2Bytes / 2 && bytesOf(op.getDpsInputs()[0]) >= l2Bytes / 2);
  return n > columns && n % columns == 0 && fits;
}

/// The bytes of a K block's B panel (K block x one register tile's
/// columns): within the 32-48 KiB L1 of current x86 cores, beside the rows
/// of A a register tile reads.
constexpr int64_t kKBlockPanelBytes = 32 * 1024;

/// The bytes of A's slice for one K block (M x the block) up to which a
/// long-K matmul takes K blocks: each column tile reads it again, so it
/// must stay in L2 (half of a 1 MiB L2, like the column blocks' panels).
constexpr int64_t kKBlockMaxASliceBytes = 512 * 1024;

/// The bytes A's rows may span for a K block to read A's slice in place:
/// beyond, the slice's rows (K floats apart, 8 KiB at K = 2048) touch a
/// page each, more pages than the TLB holds, at every column tile, so the
/// slice is first copied contiguous (M x the block; on the calling thread,
/// before the column tiles go to the pool). Measured in one process, calls
/// alternating: the LSTM layer's 512x2048x2048 weight gradients (rows
/// spanning 4 MiB) 1.10-1.16x faster with the copy on one and two threads;
/// the LM's 128x512x2048 (1 MiB) 0.92-0.98x, so it reads in place.
constexpr int64_t kKBlockAInPlaceSpanBytes = 1024 * 1024;

/// A's bytes up to which a matmul whose B is packed ahead takes no column
/// blocks (half of a 1 MiB L2, like the column blocks' panels).
constexpr int64_t kSmallABytes = 512 * 1024;

/// B of `op` is packed ahead of its column loop: a dense constant (at
/// compile time) or invariant in a loop around `op` (before that loop).
bool packedAhead(linalg::GenericOp op) {
  Value b = op.getDpsInputs()[1];
  return b.getDefiningOp<arith::ConstantOp>() || outermostLoopInvariantIn(b, op);
}

/// At the start of the column-tile loop `nLoop`, copies B[0:K, n0:n0+w]
/// into a contiguous K x w panel and makes `tile` read its B rows from it,
/// or reads them from panels packed before: a constant's at compile time, a
/// loop-invariant B's before the loop, or, with `packWholeBefore`, a B that
/// fits in half of L2 packed whole before that op. Where B = W^T and W is
/// kFoldTransposeBytes or more, the panel is transposed from W's rows.
void packB(RewriterBase &rewriter, scf::ForOp nLoop, Operation *tile, int64_t n, int64_t k,
           int64_t columns, Operation *packWholeBefore = nullptr) {
  auto bSlice = tile->getOperand(1).getDefiningOp<tensor::ExtractSliceOp>();
  if (!bSlice || !bSlice->hasOneUse())
    return;
  Location loc = bSlice.getLoc();
  Value b = bSlice.getSource();
  if (!b.getParentRegion()->isProperAncestor(&nLoop.getRegion()))
    return; // B must be defined outside the loops
  rewriter.setInsertionPointToStart(nLoop.getBody());
  Value iv = nLoop.getInductionVar();
  OpFoldResult width = rewriter.getIndexAttr(columns);
  if (n % columns != 0) {
    AffineExpr d0 = rewriter.getAffineDimExpr(0);
    width = affine::makeComposedFoldedAffineMin(
        rewriter, loc,
        AffineMap::get(1, 0, {rewriter.getAffineConstantExpr(columns), n - d0}, rewriter.getContext()),
        {iv});
  }
  Value panel;
  Value packed = packedConstant(rewriter, b, nLoop, n, k, columns);
  if (!packed)
    packed = packedBeforeLoops(rewriter, b, nLoop, n, k, columns);
  if (!packed && packWholeBefore)
    packed = packedPanels(rewriter, b, packWholeBefore, nLoop, n, k, columns);
  if (packed) {
    // Constant weights were packed at compile time, a loop-invariant B
    // once before the loop: the panel is a slice of the packed tensor,
    // [iv / columns, 0:K, 0:width].
    AffineExpr d0 = rewriter.getAffineDimExpr(0);
    OpFoldResult index = affine::makeComposedFoldedAffineApply(rewriter, loc, d0.floorDiv(columns), {iv});
    SmallVector<OpFoldResult> offsets{index, rewriter.getIndexAttr(0), rewriter.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes{rewriter.getIndexAttr(1), rewriter.getIndexAttr(k), width};
    SmallVector<OpFoldResult> strides(3, rewriter.getIndexAttr(1));
    auto type = tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
        2, cast<RankedTensorType>(packed.getType()), offsets, sizes, strides);
    panel = rewriter.create<tensor::ExtractSliceOp>(loc, cast<RankedTensorType>(type), packed, offsets, sizes,
                                                    strides);
  } else if (Value transposed = transposeSource(b); transposed && bytesOf(transposed) >= kFoldTransposeBytes) {
    // B = W^T with W bigger than L2: the panel is transposed from W's
    // rows [n0, n0 + width) (one pass, inside the kernel, on its threads)
    // rather than W transposed whole first (through memory: the LSTM's
    // 4 MiB W_ih at 5 GB/s) and the panel copied from that. A W that
    // fits stays transposed whole (in cache, in vectorized blocks) and
    // copied: the panels' strided reads measured slower there (the MLP
    // step's 64x256x256 input gradient 0.163 ms against 0.141).
    SmallVector<OpFoldResult> rowOffsets{iv, rewriter.getIndexAttr(0)};
    SmallVector<OpFoldResult> rowSizes{width, rewriter.getIndexAttr(k)};
    SmallVector<OpFoldResult> ones(2, rewriter.getIndexAttr(1));
    Value source = rewriter.create<tensor::ExtractSliceOp>(loc, transposed, rowOffsets, rowSizes, ones);
    Type elem = cast<RankedTensorType>(b.getType()).getElementType();
    Value empty = rewriter.create<tensor::EmptyOp>(loc, SmallVector<OpFoldResult>{rewriter.getIndexAttr(k), width},
                                                   elem);
    auto transpose = rewriter.create<linalg::TransposeOp>(loc, source, empty, ArrayRef<int64_t>{1, 0});
    transpose->setAttr(kPanelAttr, rewriter.getUnitAttr());
    panel = transpose.getResult()[0];
  } else {
    SmallVector<OpFoldResult> panelOffsets{rewriter.getIndexAttr(0), iv};
    SmallVector<OpFoldResult> panelSizes{rewriter.getIndexAttr(k), width};
    SmallVector<OpFoldResult> ones(2, rewriter.getIndexAttr(1));
    Value source = rewriter.create<tensor::ExtractSliceOp>(loc, b, panelOffsets, panelSizes, ones);
    Type elem = cast<RankedTensorType>(b.getType()).getElementType();
    Value empty = rewriter.create<tensor::EmptyOp>(loc, panelSizes, elem);
    panel = rewriter.create<linalg::CopyOp>(loc, source, empty).getResult(0);
  }
  rewriter.setInsertionPoint(bSlice);
  SmallVector<OpFoldResult> offsets{bSlice.getMixedOffsets()[0], rewriter.getIndexAttr(0)};
  rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(bSlice, bSlice.getType(), panel, offsets,
                                                      bSlice.getMixedSizes(), bSlice.getMixedStrides());
}

/// An elementwise op of static shape and at most `maxElements` elements
/// that the vectorizer handles: a register tile's epilogue.
bool isTileSizedElementwise(linalg::GenericOp op, int64_t maxElements) {
  if (!op.hasPureTensorSemantics() || op.getNumReductionLoops() != 0 || kiln::whyNotVectorizable(op))
    return false;
  int64_t elements = 1;
  for (int64_t size : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(size))
      return false;
    elements *= size;
  }
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation())
      return false;
  for (Operation &inner : op.getRegion().front().without_terminator())
    if (inner.getNumRegions() != 0 || isa<linalg::IndexOp, tensor::ExtractOp>(inner))
      return false;
  return elements <= maxElements;
}

/// Tile-and-fuse control: of `matmul`'s producers, fuse its zero fill (the
/// init of its result) and nothing else.
scf::SCFTileAndFuseOptions::ControlFnTy fuseOnlyTheFillOf(linalg::GenericOp matmul) {
  Operation *fill = matmul.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
  return [fill](tensor::ExtractSliceOp, OpResult producer, bool) {
    return std::make_tuple(fill && producer.getOwner() == fill, false);
  };
}

/// What tile-and-fuse made of a root op: its loops (outermost first) and
/// the tiled matmul among the ops it fused (null if none).
struct FusedTiles {
  SmallVector<LoopLikeOpInterface> loops;
  linalg::GenericOp matmul;
};

/// Tiles `root` as `options` say and fuses the producers it names into the
/// tiles; the root's uses take the tiled results.
FailureOr<FusedTiles> tileAndFuse(RewriterBase &rewriter, Operation *root, const scf::SCFTileAndFuseOptions &options) {
  auto fused = scf::tileConsumerAndFuseProducersUsingSCF(rewriter, cast<TilingInterface>(root), options);
  if (failed(fused))
    return failure();
  for (auto [original, replacement] : fused->replacements)
    rewriter.replaceAllUsesWith(original, replacement);
  FusedTiles out;
  out.loops.assign(fused->loops.begin(), fused->loops.end());
  for (Operation *t : fused->tiledAndFusedOps)
    if (auto g = dyn_cast<linalg::GenericOp>(t); g && linalg::isaContractionOpInterface(g))
      out.matmul = g;
  return out;
}

struct TileMatmulPass : kiln::impl::TileMatmulBase<TileMatmulPass> {
  using TileMatmulBase::TileMatmulBase;

  std::pair<int64_t, int64_t> tileFor(int64_t m, int64_t n) const {
    auto [rows, columns] = registerTile(vectorBits, m, n);
    return {tileM > 0 ? std::min<int64_t>(tileM, m) : rows,
            tileN > 0 ? std::min<int64_t>(tileN, n) : columns};
  }

  LogicalResult canonicalize(func::FuncOp f) { return kiln::canonicalizeWith(f, RewritePatternSet(&getContext())); }

  /// K blocks for a long-K matmul (the weight gradients x^T g, K = the
  /// T x B rows of a batch): its register tiles each ran over all of K,
  /// so every row tile streamed its column's whole B panel (K x 32, 256
  /// KiB at K = 2048) from L2. Instead, for each K block (a loop, not on
  /// the pool), for each column tile (on the pool), one panel of the block
  /// (kKBlockPanelBytes, within L1) is packed and every row tile reads it
  /// in turn, accumulating into the column's strip of the result. A's
  /// slice for the block (kKBlockMaxASliceBytes, within L2) serves every
  /// column tile before the next block's is read, so A streams from
  /// memory once in all. (With the column tiles outside the K blocks, each
  /// column tile streamed all of A: 4 MiB per tile for the LSTM's weight
  /// gradients at H = 512. K blocks outside were 1.03-1.04x faster alone,
  /// there and at the LM's 128x512x2048; in the LSTM layer's backward
  /// 1.05-1.10x on one thread, 1.03x on two.) Each accumulator still sums
  /// K in order, so the bits are the same.
  void blockK(func::FuncOp f, IRRewriter &rewriter) {
    MLIRContext *ctx = &getContext();
    SmallVector<linalg::GenericOp> targets;
    f.walk([&](linalg::GenericOp op) {
      if (isTileableMatmul(op) && op.getNumLoops() == 3 && !isPacked(op))
        targets.push_back(op);
    });
    auto dims = [&](unsigned i, unsigned j) {
      return AffineMap::get(3, 0, {rewriter.getAffineDimExpr(i), rewriter.getAffineDimExpr(j)}, ctx);
    };
    for (linalg::GenericOp op : targets) {
      SmallVector<int64_t> r = op.getStaticLoopRanges();
      const int64_t m = r[0], n = r[1], k = r[2];
      auto [rows, columns] = tileFor(m, n);
      Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1], init = op.getDpsInits()[0];
      auto bType = cast<RankedTensorType>(b.getType());
      int64_t elementBytes = bType.getElementTypeBitWidth() / 8;
      int64_t kc = kKBlockPanelBytes / (columns * elementBytes);
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      std::string whyNot;
      if (kc < 16 || k < 4 * kc || k % kc != 0 || m <= rows || n < 2 * columns || n % columns != 0 ||
          maps[0] != dims(0, 2) || maps[1] != dims(2, 1) || !init.getDefiningOp<linalg::FillOp>() ||
          m * kc * elementBytes > kKBlockMaxASliceBytes || epilogueOf(op, whyNot))
        continue;
      // A B packed ahead (a constant's panels at compile time, a
      // loop-invariant B's once before the loop) would be copied again for
      // every call or step inside K blocks.
      if (packedAhead(op))
        continue;
      std::string shape = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
      kiln::explain(explain, op.getLoc(),
                    "matmul " + shape + " in K blocks of " + std::to_string(kc) + ", each over the column tiles (" +
                        std::to_string(kc) + " x " + std::to_string(columns) + " B panels)");
      Location loc = op.getLoc();
      rewriter.setInsertionPoint(op);
      auto index = [&](int64_t v) { return rewriter.create<arith::ConstantIndexOp>(loc, v); };
      auto ones = SmallVector<OpFoldResult>(2, rewriter.getIndexAttr(1));
      auto sizes = [&](int64_t r0, int64_t r1) {
        return SmallVector<OpFoldResult>{rewriter.getIndexAttr(r0), rewriter.getIndexAttr(r1)};
      };
      auto blockLoop = rewriter.create<scf::ForOp>(
          loc, index(0), index(k), index(kc), ValueRange{init},
          [&](OpBuilder &kb, Location bl, Value k0, ValueRange acc) {
            Value aBlock = kb.create<tensor::ExtractSliceOp>(
                bl, a, SmallVector<OpFoldResult>{kb.getIndexAttr(0), k0}, sizes(m, kc), ones);
            if (m * k * elementBytes > kKBlockAInPlaceSpanBytes) {
              // A's rows far apart: the block copied contiguous, once for
              // all the column tiles.
              Value contiguous = kb.create<tensor::EmptyOp>(bl, sizes(m, kc), bType.getElementType());
              aBlock = kb.create<linalg::CopyOp>(bl, aBlock, contiguous).getResult(0);
            }
            auto columnLoop = kb.create<scf::ForOp>(
                bl, index(0), index(n), index(columns), ValueRange{acc[0]},
                [&](OpBuilder &cb, Location l, Value n0, ValueRange result) {
                  SmallVector<OpFoldResult> stripAt{cb.getIndexAttr(0), n0};
                  Value strip = cb.create<tensor::ExtractSliceOp>(l, result[0], stripAt, sizes(m, columns), ones);
                  Value bBlock = cb.create<tensor::ExtractSliceOp>(l, b, SmallVector<OpFoldResult>{k0, n0},
                                                                   sizes(kc, columns), ones);
                  Value empty = cb.create<tensor::EmptyOp>(l, sizes(kc, columns), bType.getElementType());
                  Value panel = cb.create<linalg::CopyOp>(l, bBlock, empty).getResult(0);
                  IRMapping map;
                  map.map(a, aBlock);
                  map.map(b, panel);
                  map.map(init, strip);
                  Value updated = cb.clone(*op, map)->getResult(0);
                  cb.create<scf::YieldOp>(
                      l, cb.create<tensor::InsertSliceOp>(l, updated, result[0], stripAt, sizes(m, columns), ones)
                             .getResult());
                });
            if (2.0 * m * n * kc >= double(parallelMinFlops))
              columnLoop->setAttr(kParallelAttr, rewriter.getUnitAttr());
            kb.create<scf::YieldOp>(bl, columnLoop.getResult(0));
          });
      // The K loop is the kernel; its products run in calls to the pool,
      // which the profile cannot count through: it states them.
      blockLoop->setAttr(kiln::kKernelAttr, rewriter.getStringAttr("matmul " + shape));
      blockLoop->setAttr(kiln::kKernelFlopsAttr, rewriter.getI64IntegerAttr(2 * m * n * k));
      rewriter.replaceOp(op, blockLoop.getResults());
      kBlocked++;
    }
  }

  /// Column blocks for a big plain matmul: B is packed once per block of
  /// several register-tile columns (a K x block panel that stays in L2), and
  /// inside a block each row tile of A (in L1) serves every column tile,
  /// so A streams from memory once per block, not once per column tile.
  /// 0: no blocking (small, or the panel of two column tiles would not fit).
  int64_t columnBlock(int64_t n, int64_t k, int64_t columns) const {
    constexpr int64_t kPanelBytes = 512 * 1024; // half of a 1 MiB L2
    int64_t fit = kPanelBytes / (4 * k) / columns * columns;
    int64_t block = std::min<int64_t>(fit, 4 * columns);
    return block >= 2 * columns && n >= 2 * block ? block : 0;
  }

  void blockColumns(func::FuncOp f, IRRewriter &rewriter) {
    MLIRContext *ctx = &getContext();
    SmallVector<linalg::GenericOp> targets;
    f.walk([&](linalg::GenericOp op) {
      std::string whyNot;
      if (isTileableMatmul(op) && op.getNumLoops() == 3 && !isPacked(op))
        targets.push_back(op);
    });
    for (linalg::GenericOp op : targets) {
      SmallVector<int64_t> r = op.getStaticLoopRanges();
      auto [rows, columns] = tileFor(r[0], r[1]);
      AffineMap bMap = op.getIndexingMapsArray()[1];
      if (r[0] <= rows || r[2] < 16 || tileN > 0 ||
          bMap != AffineMap::get(3, 0, {rewriter.getAffineDimExpr(2), rewriter.getAffineDimExpr(1)}, ctx))
        continue;
      int64_t block = columnBlock(r[1], r[2], columns);
      if (block == 0)
        continue;
      // A B that fits in half of L2 is packed whole instead, the rows
      // outside (tileToRegisters): column blocks read A once per block (the
      // LM's 2048x512x128 products 8.8 -> 7.5 ms on one thread, 5.5 -> 4.4
      // on two, both compiled in one process, calls alternating).
      if (fitsWhole(op, r[1], columns, l2Bytes))
        continue;
      // A small A (a recurrence's step product, M = the batch) stays in
      // L2 across the column tiles, and with B's panels packed ahead (a
      // constant's at compile time, a loop-invariant B's before the loop)
      // each panel read by every row tile in turn beat column blocks:
      // 1.02-1.18x at 32..256 x 768..2048 x 256..512 (in-process A/B, one
      // thread), where for 2048 rows column blocks were 1.06-1.15x faster.
      if (r[0] * r[2] * 4 <= kSmallABytes && packedAhead(op))
        continue;
      kiln::explain(explain, op.getLoc(),
                    "matmul " + std::to_string(r[0]) + "x" + std::to_string(r[1]) + "x" + std::to_string(r[2]) +
                        " in column blocks of " + std::to_string(block) + ", B packed once per block (K x " +
                        std::to_string(block) + ")" +
                        (2.0 * r[0] * r[1] * r[2] >= double(parallelMinFlops) ? ", blocks on the thread pool" : ""));
      scf::ForOp blockLoop;
      Operation *blockMatmul = nullptr;
      std::string whyNot;
      if (linalg::GenericOp epilogue = epilogueOf(op, whyNot)) {
        // With an epilogue (a bias, an activation): the epilogue tiled in
        // column blocks and the matmul (and its fill) fused into each, so
        // that register tiling finds the pair inside the block as usual.
        scf::SCFTilingOptions tiling;
        tiling.setTileSizes({rewriter.getIndexAttr(0), rewriter.getIndexAttr(block)});
        scf::SCFTileAndFuseOptions options;
        options.setTilingOptions(tiling);
        Operation *fill = op.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
        options.setFusionControlFn([&](tensor::ExtractSliceOp, OpResult producer, bool) {
          return std::make_tuple(producer.getOwner() == op.getOperation() || producer.getOwner() == fill, false);
        });
        rewriter.setInsertionPoint(epilogue);
        auto fused = tileAndFuse(rewriter, epilogue, options);
        if (failed(fused) || fused->loops.size() != 1 || !fused->matmul)
          continue;
        blockLoop = cast<scf::ForOp>(fused->loops[0].getOperation());
        // The block loop is the kernel: its location names the matmul and
        // the epilogue (the profile's source ops).
        blockLoop->setLoc(rewriter.getFusedLoc({op.getLoc(), epilogue.getLoc()}));
        blockMatmul = fused->matmul;
      } else {
        // The zero fill of the result fused into each block (then into
        // each register tile): the accumulators start at zero in registers
        // instead of the whole result being zeroed in memory and read back.
        scf::SCFTileAndFuseOptions options;
        options.setTilingOptions(scf::SCFTilingOptions().setTileSizes(
            {rewriter.getIndexAttr(0), rewriter.getIndexAttr(block), rewriter.getIndexAttr(0)}));
        options.setFusionControlFn(fuseOnlyTheFillOf(op));
        rewriter.setInsertionPoint(op);
        auto fused = tileAndFuse(rewriter, op, options);
        if (failed(fused) || fused->loops.size() != 1 || !fused->matmul)
          continue;
        blockLoop = cast<scf::ForOp>(fused->loops[0].getOperation());
        blockMatmul = fused->matmul;
      }
      blockLoop->setAttr(kiln::kKernelAttr, rewriter.getStringAttr("matmul " + std::to_string(r[0]) + "x" +
                                                                  std::to_string(r[1]) + "x" + std::to_string(r[2])));
      if (2.0 * r[0] * r[1] * r[2] >= double(parallelMinFlops))
        blockLoop->setAttr(kParallelAttr, rewriter.getUnitAttr());
      packB(rewriter, blockLoop, blockMatmul, r[1], r[2], block);
      scf::ForOp partial;
      if (succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, blockLoop, partial)) && partial)
        partial->removeAttr(kiln::kKernelAttr); // the edge of the same kernel
      blocked++;
    }
  }

  /// One matmul to register tiles: with its epilogue (the consumer tiled,
  /// the matmul fused in) or alone (batch 1, M and N register tiles, K 1);
  /// B packed per column tile where that pays; the partial tiles peeled.
  void tileToRegisters(linalg::GenericOp op, IRRewriter &rewriter) {
    MLIRContext *ctx = &getContext();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    size_t n = ranges.size();
    bool inColumnBlock = isPacked(op); // (op is replaced below)
    // Batch loops 1, M and N register tiles, K 1 (the loop inside).
    auto [rows, columns] = tileFor(ranges[n - 3], ranges[n - 2]);
    SmallVector<OpFoldResult> sizes;
    for (size_t i = 0; i < n; ++i) {
      int64_t t = i == n - 3 ? rows : i == n - 2 ? columns : 1;
      sizes.push_back(rewriter.getIndexAttr(t));
    }
    // A plain 2-D matmul with several row tiles packs B: the column loop
    // goes outside, and each B panel (K x columns) is copied once into a
    // contiguous buffer that every row tile then reads row by row (B's
    // own rows may be 4 KiB apart, which thrashes L1 sets).
    AffineMap bMap = op.getIndexingMapsArray()[1];
    bool pack = n == 3 && ranges[0] > rows && ranges[2] >= 16 && !isPacked(op) &&
                bMap == AffineMap::get(3, 0, {rewriter.getAffineDimExpr(2), rewriter.getAffineDimExpr(1)}, ctx);
    // A B of several column tiles that fits in half of L2 (N = 128 by K =
    // 512: the LM's second FFN product and its input gradient) is packed
    // whole before the loops, and the rows go outside: each register-tile
    // row of A is read from memory once, for every column tile in turn,
    // where with the columns outside A (2048 x 512, 4 MiB) streamed from L3
    // once per column tile, and on two threads both cores at once.
    bool wholeB = pack && fitsWhole(op, ranges[1], columns, l2Bytes);
    double flops = 2;
    for (int64_t r : ranges)
      flops *= double(r);
    SmallVector<LoopLikeOpInterface> outputLoops; // batch..., then M and N (or N and M)
    Operation *tile = nullptr;                    // the matmul's tile
    rewriter.setInsertionPoint(op);
    Location loc = op.getLoc();
    std::string shape;
    for (int64_t r : ranges)
      shape += (shape.empty() ? "" : "x") + std::to_string(r);
    std::string kernel = "matmul kernel " + shape + " (batch.., M, N, K) in " + std::to_string(rows) + "x" +
                         std::to_string(columns) + " register tiles" +
                         (wholeB ? ", B packed whole before the row loop" : pack ? ", B packed per column tile" : "") +
                         (flops >= double(parallelMinFlops) ? ", tiles on the thread pool" : "");
    // The output tiles (batch 1, M and N register tiles, column tiles
    // outside when B is packed), each over all of K.
    scf::SCFTileAndFuseOptions outputTiles;
    {
      scf::SCFTilingOptions tiling;
      tiling.setTileSizes(ArrayRef(sizes).drop_back());
      if (pack && !wholeB)
        tiling.setInterchange({1, 0});
      outputTiles.setTilingOptions(tiling);
    }
    std::string whyNot;
    if (linalg::GenericOp epilogue = epilogueOf(op, whyNot)) {
      kiln::explain(explain, loc, kernel + "; epilogue in registers: " +
                                      kiln::describeSourceOps(epilogue.getLoc()));
      // What the tiling makes of the two computes both (the profile's
      // kernel names the matmul as well as its epilogue).
      kiln::absorbLocation(epilogue, loc);
      // Tile the epilogue and fuse the matmul (and its zero fill) into
      // it: each iteration computes one register tile of the product over
      // all of K, then applies the epilogue to it.
      scf::SCFTileAndFuseOptions options = outputTiles;
      Operation *fill = op.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
      options.setFusionControlFn([&](tensor::ExtractSliceOp, OpResult producer, bool) {
        return std::make_tuple(producer.getOwner() == op.getOperation() || producer.getOwner() == fill, false);
      });
      auto fused = tileAndFuse(rewriter, epilogue, options);
      if (failed(fused))
        return;
      // (The matmul, its fill and the slices of them that fusion left
      // behind are dead now; canonicalization below removes them.)
      outputLoops = fused->loops;
      tile = fused->matmul;
      epilogues++;
    } else {
      // (A column block's consumer is its block loop: no epilogue to say.)
      kiln::explain(explain, loc, isPacked(op) ? "column block: " + kernel : kernel + "; no epilogue: " + whyNot);
      if (!op.getDpsInits()[0].getDefiningOp<linalg::FillOp>()) {
        // Accumulating into a result computed before (a flash attention's
        // P V into its running sum): each tile over K steps of 1, reading
        // the result's tile first.
        scf::SCFTilingOptions options;
        options.setTileSizes(sizes);
        if (pack && !wholeB)
          options.setInterchange({1, 0, 2});
        auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
        if (failed(tiled))
          return; // leave it on the scalar path
        rewriter.replaceOp(op, tiled->replacements);
        outputLoops.assign(tiled->loops.begin(), tiled->loops.end());
        if (!outputLoops.empty())
          outputLoops.pop_back(); // the k loop
        tile = tiled->tiledOps.back();
      } else {
        // The output tiles, each over all of K (vectorizeTiles splits the
        // k loop off), with the result's zero fill fused in: each tile
        // starts from zero in registers, never reading the zeroed result
        // back.
        scf::SCFTileAndFuseOptions options = outputTiles;
        options.setFusionControlFn(fuseOnlyTheFillOf(op));
        auto fused = tileAndFuse(rewriter, op, options);
        if (failed(fused))
          return; // leave it on the scalar path
        outputLoops = fused->loops;
        tile = fused->matmul;
      }
    }
    // The outermost loop is the kernel: it names it for the profile (a
    // column block's is named on its block loop). A loop of one iteration
    // (N within one tile) is folded away later: the name goes on the first
    // loop that stays.
    if (!inColumnBlock) {
      auto stays = [](LoopLikeOpInterface l) {
        auto f = dyn_cast<scf::ForOp>(l.getOperation());
        if (!f)
          return true;
        auto lb = getConstantIntValue(f.getLowerBound()), ub = getConstantIntValue(f.getUpperBound()),
             step = getConstantIntValue(f.getStep());
        return !lb || !ub || !step || *ub - *lb > *step;
      };
      auto named = llvm::find_if(outputLoops, stays);
      if (named != outputLoops.end())
        (*named)->setAttr(kiln::kKernelAttr, rewriter.getStringAttr("matmul " + shape));
    }
    // The output-tile loops are independent (never the k loop): mark
    // them for kiln-parallelize-loops when the matmul is worth threads.
    if (flops >= double(parallelMinFlops))
      for (LoopLikeOpInterface l : outputLoops)
        l->setAttr(kParallelAttr, rewriter.getUnitAttr());
    if (wholeB && outputLoops.size() == 2 && tile)
      packB(rewriter, cast<scf::ForOp>(outputLoops[1].getOperation()), tile, ranges[1], ranges[2], columns,
            /*packWholeBefore=*/outputLoops[0].getOperation());
    else if (pack && outputLoops.size() == 2 && tile)
      packB(rewriter, cast<scf::ForOp>(outputLoops[0].getOperation()), tile, ranges[1], ranges[2], columns);
    // Peel the partial tiles of the N then the M loop: every tile gets a
    // static shape, so it vectorizes without masks.
    SmallVector<scf::ForOp> loops;
    for (LoopLikeOpInterface l : outputLoops)
      if (auto f = dyn_cast<scf::ForOp>(l.getOperation()))
        loops.push_back(f);
    if (loops.size() >= 2) {
      // The inner of the two tile loops first: peeling the outer one then
      // copies both of its parts.
      scf::ForOp outer = loops[loops.size() - 2], inner = loops[loops.size() - 1];
      scf::ForOp partial;
      (void)scf::peelForLoopAndSimplifyBounds(rewriter, inner, partial);
      if (succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, outer, partial)) && partial)
        partial->removeAttr(kiln::kKernelAttr); // the edge of the same kernel
    }
  }

  /// Tiles fused into an epilogue (or with their zero fill) still span all of K: each gets its k
  /// loop (one step per iteration). Then every register tile, its zero fill
  /// and its epilogue are vectorized at their static shapes.
  void vectorizeTiles(func::FuncOp f, IRRewriter &rewriter) {
    // A register tile is a tileable matmul of at most one register tile of
    // outputs (canonicalization re-creates the ops, so they are recognised
    // by shape).
    int64_t lanes = std::max<int64_t>(vectorBits / 32, 1);
    int64_t maxRows = tileM > 0 ? tileM : 8;
    int64_t maxOutputs = std::max<int64_t>(16 * lanes, maxRows * (tileN > 0 ? tileN : 16 * lanes));
    auto isRegisterTile = [&](linalg::GenericOp op) {
      if (!isTileableMatmul(op))
        return false;
      SmallVector<int64_t> r = op.getStaticLoopRanges();
      size_t n = r.size();
      bool fits = r[n - 3] <= maxRows && r[n - 3] * r[n - 2] <= maxOutputs;
      for (size_t i = 0; i + 3 < n; ++i)
        fits &= r[i] == 1;
      return fits;
    };
    // A tile fused into its epilogue or with its zero fill still spans
    // all of K: split off the k loop (one step each), as the accumulating
    // path's tiling does.
    SmallVector<linalg::GenericOp> fullK;
    f.walk([&](linalg::GenericOp op) {
      if (isRegisterTile(op) && op.getStaticLoopRanges().back() > 1)
        fullK.push_back(op);
    });
    // (A set: one elementwise op may read the tiles of two matmuls.)
    llvm::SetVector<Operation *> epilogueTiles;
    for (linalg::GenericOp op : fullK) {
      SmallVector<OpFoldResult> sizes(op.getNumLoops(), rewriter.getIndexAttr(0));
      sizes.back() = rewriter.getIndexAttr(1);
      scf::SCFTilingOptions options;
      options.setTileSizes(sizes);
      rewriter.setInsertionPoint(op);
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled))
        continue;
      rewriter.replaceOp(op, tiled->replacements);
      // Its zero fill and its epilogue are register-tile sized too. (A
      // tile without an epilogue may have users of its own: only an
      // elementwise op the vectorizer handles, of at most a tile's size.)
      for (Value v : tiled->replacements)
        for (Operation *user : v.getUsers())
          if (auto g = dyn_cast<linalg::GenericOp>(user); g && isTileSizedElementwise(g, maxOutputs))
            epilogueTiles.insert(user);
      for (LoopLikeOpInterface l : tiled->loops)
        if (auto loop = dyn_cast<scf::ForOp>(l.getOperation()))
          for (Value init : loop.getInitArgs())
            if (auto fill = init.getDefiningOp<linalg::FillOp>())
              epilogueTiles.insert(fill);
    }
    // Vectorize every register tile (one k step), its fill and epilogue.
    SmallVector<Operation *> tiles;
    f.walk([&](linalg::GenericOp op) {
      if (isRegisterTile(op) && op.getStaticLoopRanges().back() == 1)
        tiles.push_back(op);
    });
    for (Operation *op : epilogueTiles)
      if (!llvm::is_contained(tiles, op))
        tiles.push_back(op);
    for (Operation *op : tiles) {
      rewriter.setInsertionPoint(op);
      (void)linalg::vectorize(rewriter, op); // an op it cannot vectorize stays scalar
    }
  }

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    IRRewriter rewriter(&getContext());
    // 0. Elementwise consumers of reshaped matmul results collapsed to the
    // matmul's shape, where they can be its epilogue.
    {
      RewritePatternSet patterns(&getContext());
      linalg::populateFoldReshapeOpsByCollapsingPatterns(patterns, isCollapsibleEpilogueRead);
      if (failed(applyPatternsAndFoldGreedily(f, std::move(patterns))))
        return signalPassFailure();
    }
    // 1. Broadcast batches read without their unit dimensions.
    SmallVector<linalg::GenericOp> generics;
    f.walk([&](linalg::GenericOp op) { generics.push_back(op); });
    for (linalg::GenericOp op : generics)
      if (op.getNumLoops() >= 4 && linalg::isReductionIterator(op.getIteratorTypesArray().back()))
        dropBroadcastUnitDims(rewriter, op);
    // 1b. B stored against the tile's grain ([N, K]), and A ([K, M]) with a
    // long K, transposed once.
    for (linalg::GenericOp op : generics)
      if (isTileableMatmul(op))
        readInTileGrain(rewriter, op, explain);
    // 2. Long-K matmuls in K blocks; big plain matmuls in column blocks,
    // one packed B panel each.
    blockK(f, rewriter);
    blockColumns(f, rewriter);
    if (failed(canonicalize(f)))
      return signalPassFailure();
    // 3. Every matmul (and each column block) to register tiles.
    SmallVector<linalg::GenericOp> targets;
    f.walk([&](linalg::GenericOp op) {
      if (isTileableMatmul(op))
        targets.push_back(op);
    });
    for (linalg::GenericOp op : targets)
      tileToRegisters(op, rewriter);
    // 4. The peeled bounds folded into static slice and tile shapes.
    if (failed(canonicalize(f)))
      return signalPassFailure();
    // 5. k loops for fused tiles; vectors for every tile and epilogue.
    vectorizeTiles(f, rewriter);
  }
};

} // namespace
