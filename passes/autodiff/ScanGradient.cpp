//===- ScanGradient.cpp - backpropagation through time for nn.scan -------===//
//
// The gradient of a scan is a scan the other way round. Its rule needs
// reverse mode itself (for the body), so it lives beside reverseMode rather
// than with the per-op rules in ir/Gradients.cpp:
//
//   1. a recording scan in the forward scan's place: the same body, also
//      yielding the carries each step received (stacked [T, ...]: the saved
//      carries) and the results of its step-varying products (the saved
//      products), so the forward runs once;
//   2. the backward scan, over the steps in the opposite order, carrying
//      the carries' cotangents; its body recomputes the step's other ops
//      from its saved carry, row and products, then runs reverse mode over that step with the
//      carried cotangents and the row of each step output's cotangent as
//      seeds; it yields the saved carry's cotangent as the next carry and
//      the row's cotangent as a step output;
//   3. the consts' cotangents: a term that is a product over the batch
//      (`A_t^T G_t`, a weight's gradient) or a sum over it (a bias's) is
//      computed once after the loop over all steps (A and G stacked: most
//      often they already are, as the saved carries and the rows'
//      cotangents), one matmul with K = T x batch instead of T with K =
//      batch; any other term is accumulated in a carry of the backward scan.
//
// The results: the inits' cotangents (the last carries), the scanned
// inputs' (the stacked step outputs) and the consts'.
//
// With checkpoint_every = k, the scan is first rewritten into a scan over
// segments of k steps whose body is a scan of the original body (plus a
// scan of the T mod k steps left over), and the rule above is applied to
// those: the segment scan's recording saves only each segment's incoming
// carry, and its backward body, in recomputing a segment, meets the inner
// scan and applies the rule to it, saving that segment's k carries while
// it runs backwards through them.
//
//===----------------------------------------------------------------------===//
#include "passes/autodiff/Autodiff.h"
#include "ir/Dialect.h"
#include "ir/NNBuilder.h"
#include "ir/ShapeRules.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace kiln {

namespace {

bool isFloatTensor(Type t) {
  auto tensor = dyn_cast<RankedTensorType>(t);
  return tensor && isa<FloatType>(tensor.getElementType());
}

RankedTensorType stacked(Type row, int64_t length) {
  auto t = cast<RankedTensorType>(row);
  SmallVector<int64_t> shape{length};
  shape.append(t.getShape().begin(), t.getShape().end());
  return RankedTensorType::get(shape, t.getElementType());
}

RankedTensorType rowOf(Type stackedType) {
  auto t = cast<RankedTensorType>(stackedType);
  return RankedTensorType::get(t.getShape().drop_front(), t.getElementType());
}

/// The scan's body cloned into `into` (at its end) with its arguments
/// replaced by `args`; the cloned yield's values (the yield itself is not
/// cloned).
SmallVector<Value> cloneBody(nn::ScanOp scan, Block &into, ValueRange args, IRMapping *mapping = nullptr) {
  Block &body = scan.getBody().front();
  IRMapping local;
  IRMapping &map = mapping ? *mapping : local;
  map.map(body.getArguments(), args);
  OpBuilder b(scan.getContext()); // `into` may not be in a region yet
  b.setInsertionPointToEnd(&into);
  for (Operation &op : body.without_terminator())
    b.clone(op, map);
  SmallVector<Value> yielded;
  for (Value v : body.getTerminator()->getOperands())
    yielded.push_back(map.lookupOrDefault(v));
  return yielded;
}

/// The body's products whose operands change from step to step (read a
/// carry or a scanned row, directly or not). The recording scan saves
/// their results and the backward body reads them instead of computing
/// them again: a GRU's or LSTM's `h W_hh^T` is its step's big product, and
/// recomputed it made the backward scan about 2.3x the forward's time
/// (GRU, H = 512). Only matmuls: what follows them is elementwise and
/// cheap to recompute, and saving it would cost memory for little time.
SmallVector<nn::MatmulOp> stepVaryingProducts(nn::ScanOp scan) {
  Block &body = scan.getBody().front();
  llvm::DenseSet<Value> varying;
  for (unsigned i = 0, e = scan.getInits().size() + scan.getXs().size(); i < e; ++i)
    varying.insert(body.getArgument(i));
  SmallVector<nn::MatmulOp> products;
  for (Operation &op : body.without_terminator()) {
    if (llvm::none_of(op.getOperands(), [&](Value v) { return varying.contains(v); }))
      continue;
    varying.insert(op.getResults().begin(), op.getResults().end());
    if (auto product = dyn_cast<nn::MatmulOp>(op))
      products.push_back(product);
  }
  return products;
}

} // namespace

namespace {

/// Backpropagation through time saving every carry (the rule above); with
/// `hoist`, the weights' gradients as products over all steps after the
/// loop (below).
LogicalResult plainScanVjp(OpBuilder &b, nn::ScanOp scan, ArrayRef<Value> resultGrads,
                           SmallVectorImpl<Value> &operandGrads, bool hoist = true) {
  Location loc = scan.getLoc();
  MLIRContext *ctx = b.getContext();
  const unsigned carries = scan.getInits().size(), xs = scan.getXs().size(), consts = scan.getConsts().size();
  const unsigned outputs = scan.getNumStepOutputs();
  const int64_t length = scan.getLength();
  for (Value init : scan.getInits())
    if (!isFloatTensor(init.getType()))
      return scan.emitError() << "cannot differentiate through 'nn.scan' with a carry of type " << init.getType()
                              << " (only float carries have gradients)";

  // 1. The recording scan: the forward again, each step's incoming carries
  // stacked as extra step outputs, then the step-varying products' results
  // (not for a checkpointed scan's segments: saving every step's product
  // is what checkpointing avoids).
  SmallVector<nn::MatmulOp> savedProducts;
  if (hoist)
    savedProducts = stepVaryingProducts(scan);
  SmallVector<Type> recordTypes(scan.getResultTypes());
  for (Value init : scan.getInits())
    recordTypes.push_back(stacked(init.getType(), length));
  for (nn::MatmulOp product : savedProducts)
    recordTypes.push_back(stacked(product.getType(), length));
  // It takes the forward scan's place (its first results are the same), so
  // the forward runs once; the original, now unused, is cleaned up.
  OpBuilder at(scan);
  auto record = at.create<nn::ScanOp>(loc, recordTypes, scan.getInits(), scan.getXs(), scan.getConsts(),
                                      scan.getReverseAttr(), IntegerAttr());
  {
    Block *block = new Block();
    record.getBody().push_back(block);
    for (Type t : scan.getBody().front().getArgumentTypes())
      block->addArgument(t, loc);
    IRMapping map;
    SmallVector<Value> yielded = cloneBody(scan, *block, block->getArguments(), &map);
    for (unsigned i = 0; i < carries; ++i)
      yielded.push_back(block->getArgument(i));
    for (nn::MatmulOp product : savedProducts)
      yielded.push_back(map.lookup(product.getResult()));
    OpBuilder yb(ctx);
    yb.setInsertionPointToEnd(block);
    yb.create<nn::YieldOp>(loc, yielded);
  }
  scan->replaceAllUsesWith(record.getResults().take_front(scan.getNumResults()));
  auto savedCarry = [&](unsigned i) { return record.getResult(carries + outputs + i); };
  auto savedProduct = [&](unsigned p) { return record.getResult(carries + outputs + carries + p); };

  // 2. The backward scan's operands.
  nn::NNBuilder nb(b, loc);
  SmallVector<Value> inits;
  for (unsigned i = 0; i < carries; ++i)
    inits.push_back(resultGrads[i] ? resultGrads[i] : nb.zerosLike(scan.getInits()[i]));
  SmallVector<unsigned> trainedConsts; // float consts get an accumulator
  for (unsigned j = 0; j < consts; ++j)
    if (isFloatTensor(scan.getConsts()[j].getType())) {
      trainedConsts.push_back(j);
      inits.push_back(nb.zerosLike(scan.getConsts()[j]));
    }
  SmallVector<Value> scanned;
  for (unsigned i = 0; i < carries; ++i)
    scanned.push_back(savedCarry(i));
  for (Value x : scan.getXs())
    scanned.push_back(x);
  SmallVector<unsigned> seededOutputs; // step outputs with a cotangent
  for (unsigned k = 0; k < outputs; ++k)
    if (Value g = resultGrads[carries + k]) {
      seededOutputs.push_back(k);
      scanned.push_back(g);
    }
  SmallVector<unsigned> floatXs;
  for (unsigned j = 0; j < xs; ++j)
    if (isFloatTensor(scan.getXs()[j].getType()))
      floatXs.push_back(j);

  // Its body: the step recomputed, then reverse mode over it.
  Block *block = new Block();
  SmallVector<Type> argTypes;
  for (Value v : inits)
    argTypes.push_back(v.getType());
  for (Value v : scanned)
    argTypes.push_back(rowOf(v.getType()));
  for (Value v : scan.getConsts())
    argTypes.push_back(v.getType());
  for (Type t : argTypes)
    block->addArgument(t, loc);
  unsigned accumulators = trainedConsts.size();
  auto carryGrad = [&](unsigned i) { return block->getArgument(i); };
  auto accumulator = [&](unsigned a) { return block->getArgument(carries + a); };
  unsigned rowsAt = carries + accumulators;
  auto savedRow = [&](unsigned i) { return block->getArgument(rowsAt + i); };
  auto xRow = [&](unsigned j) { return block->getArgument(rowsAt + carries + j); };
  auto outputGradRow = [&](unsigned s) { return block->getArgument(rowsAt + carries + xs + s); };
  auto constArg = [&](unsigned j) { return block->getArgument(rowsAt + carries + xs + seededOutputs.size() + j); };

  SmallVector<Value> stepArgs;
  for (unsigned i = 0; i < carries; ++i)
    stepArgs.push_back(savedRow(i));
  for (unsigned j = 0; j < xs; ++j)
    stepArgs.push_back(xRow(j));
  for (unsigned j = 0; j < consts; ++j)
    stepArgs.push_back(constArg(j));
  IRMapping recomputed;
  SmallVector<Value> stepYield = cloneBody(scan, *block, stepArgs, &recomputed);
  SmallVector<Value> recomputedProducts; // the step's products, read from the saved ones below
  for (nn::MatmulOp product : savedProducts)
    recomputedProducts.push_back(recomputed.lookup(product.getResult()));
  SmallVector<Value> seededValues, seeds;
  for (unsigned i = 0; i < carries; ++i) {
    seededValues.push_back(stepYield[i]);
    seeds.push_back(carryGrad(i));
  }
  for (auto [s, k] : llvm::enumerate(seededOutputs)) {
    seededValues.push_back(stepYield[carries + k]);
    seeds.push_back(outputGradRow(s));
  }
  SmallVector<Value> wrt;
  for (unsigned i = 0; i < carries; ++i)
    wrt.push_back(savedRow(i));
  for (unsigned j : floatXs)
    wrt.push_back(xRow(j));
  for (unsigned j : trainedConsts)
    wrt.push_back(constArg(j));
  OpBuilder inner(ctx); // the block joins its scan below
  inner.setInsertionPointToEnd(block);
  FailureOr<SmallVector<Value>> grads = reverseMode(inner, *block, seededValues, seeds, wrt);
  if (failed(grads)) {
    delete block; // the error is reported; the forward scan gets its uses back
    for (unsigned r = 0; r < scan.getNumResults(); ++r)
      record.getResult(r).replaceAllUsesWith(scan.getResult(r));
    record->erase();
    return failure();
  }
  // Each const's cotangent is a sum of terms. Those that are a product
  // over the batch (`A_t^T G_t`, a weight's gradient) or a sum over it (a
  // bias's) are not accumulated step by step: A_t and G_t are stacked as
  // step outputs (or read from the saved carries and the scanned inputs
  // they already are) and one matmul over all steps (K = T x batch) or one
  // sum runs after the loop. The other terms are accumulated in the loop.
  // (Not for a checkpointed scan's segments: stacking their values would
  // hold every step's again, which checkpointing is there to avoid.)
  nn::NNBuilder ib(inner, loc);
  // Where the stack of a step-varying value is: a saved carry, a scanned
  // input, a scanned input's cotangent (all already stacked) or a step
  // output of the backward scan added for it (stacked once).
  struct Stack {
    enum Kind { SavedCarry, SavedProduct, Input, InputCotangent, StepOutput } kind;
    unsigned index;
  };
  SmallVector<Value> stepOutputs; // after the xs' cotangents
  DenseMap<Value, unsigned> stepOutputOf;
  auto stackOf = [&](Value v) -> Stack {
    for (unsigned i = 0; i < carries; ++i)
      if (v == savedRow(i))
        return {Stack::SavedCarry, i};
    for (unsigned p = 0; p < recomputedProducts.size(); ++p)
      if (v == recomputedProducts[p])
        return {Stack::SavedProduct, p};
    for (unsigned j = 0; j < xs; ++j)
      if (v == xRow(j))
        return {Stack::Input, j};
    for (unsigned f = 0; f < floatXs.size(); ++f)
      if (v == (*grads)[carries + f])
        return {Stack::InputCotangent, f};
    auto [it, inserted] = stepOutputOf.try_emplace(v, stepOutputs.size());
    if (inserted)
      stepOutputs.push_back(v);
    return {Stack::StepOutput, it->second};
  };
  auto stepVarying = [&](Value v) {
    for (unsigned j = 0; j < consts; ++j)
      if (v == constArg(j))
        return false;
    return true;
  };
  struct HoistedTerm {
    unsigned accumulator = 0;
    Stack a{}, g{};                  // A and G of a product; G of a sum
    bool product = false;
    SmallVector<int64_t> sumAxes;    // a sum's axes in G
  };
  SmallVector<HoistedTerm> hoisted;
  SmallVector<Value> kept;  // the carried accumulators' inits
  SmallVector<Value> carriedYield;
  SmallVector<int> slotOf(accumulators, -1); // an accumulator's index among the carries, or -1
  for (unsigned i = 0; i < carries; ++i) {
    kept.push_back(inits[i]);
    carriedYield.push_back((*grads)[i]);
  }
  for (unsigned a = 0; a < accumulators; ++a) {
    Value cotangent = (*grads)[carries + floatXs.size() + a];
    // The terms: the leaves of the tree of same-typed adds reverse mode
    // built by accumulating.
    // (An add used elsewhere too is a leaf.)
    SmallVector<Value> terms, pending{cotangent};
    while (!pending.empty()) {
      Value v = pending.pop_back_val();
      auto add = v.getDefiningOp<nn::AddOp>();
      bool onlyHere = v == cotangent ? v.use_empty() : v.hasOneUse();
      if (add && onlyHere && add.getLhs().getType() == v.getType() && add.getRhs().getType() == v.getType()) {
        pending.append({add.getLhs(), add.getRhs()});
        continue;
      }
      terms.push_back(v);
    }
    Value residual;
    if (!hoist)
      terms.assign({cotangent});
    for (Value term : terms) {
      auto product = term.getDefiningOp<nn::MatmulOp>();
      if (hoist && product && product.getTransposeA() && !product.getTransposeB() &&
          product.getA().getType().getRank() == 2 && product.getB().getType().getRank() == 2 &&
          stepVarying(product.getA()) && stepVarying(product.getB())) {
        HoistedTerm h;
        h.accumulator = a;
        h.product = true;
        h.a = stackOf(product.getA());
        h.g = stackOf(product.getB());
        hoisted.push_back(h);
        continue;
      }
      Value summed = term;
      if (auto reshape = term.getDefiningOp<nn::ReshapeOp>())
        summed = reshape.getX();
      if (auto sum = summed.getDefiningOp<nn::ReduceSumOp>(); hoist && sum && stepVarying(sum.getX())) {
        HoistedTerm h;
        h.accumulator = a;
        h.g = stackOf(sum.getX());
        h.sumAxes = nn::normalizedAxes(sum.getAxes(), sum.getX().getType().getRank());
        hoisted.push_back(h);
        continue;
      }
      residual = residual ? ib.add(residual, term) : term;
    }
    if (residual) {
      slotOf[a] = int(kept.size());
      kept.push_back(inits[carries + a]);
      carriedYield.push_back(ib.add(accumulator(a), residual));
    }
  }
  // The step's products read from the recording's: a row argument each
  // (after the output cotangents' rows), the recomputed product erased.
  // (Reverse mode's rule for a product reads its operands, not its result.)
  for (unsigned p = 0; p < recomputedProducts.size(); ++p) {
    Value row = block->insertArgument(rowsAt + carries + xs + seededOutputs.size() + p,
                                      recomputedProducts[p].getType(), loc);
    recomputedProducts[p].replaceAllUsesWith(row);
    recomputedProducts[p].getDefiningOp()->erase();
    recomputedProducts[p] = row;
    scanned.push_back(savedProduct(p));
  }
  // Accumulators no term is left for are not carried.
  for (unsigned a = accumulators; a-- > 0;)
    if (slotOf[a] < 0)
      block->eraseArgument(carries + a);
  SmallVector<Value> yield(carriedYield);
  for (unsigned f = 0; f < floatXs.size(); ++f)
    yield.push_back((*grads)[carries + f]);
  yield.append(stepOutputs);
  inner.create<nn::YieldOp>(loc, yield);

  SmallVector<Type> resultTypes;
  for (Value v : kept)
    resultTypes.push_back(v.getType());
  for (unsigned j : floatXs)
    resultTypes.push_back(scan.getXs()[j].getType());
  for (Value v : stepOutputs)
    resultTypes.push_back(stacked(v.getType(), length));
  auto backward = b.create<nn::ScanOp>(loc, resultTypes, kept, scanned, scan.getConsts(),
                                       scan.getReverse() ? UnitAttr() : UnitAttr::get(ctx), IntegerAttr());
  backward.getBody().push_back(block);
  const unsigned keptCarries = kept.size(), stepOutputsAt = keptCarries + floatXs.size();

  // The hoisted terms, over all steps at once.
  auto stack = [&](Stack s) -> Value {
    switch (s.kind) {
    case Stack::SavedCarry: return savedCarry(s.index);
    case Stack::SavedProduct: return savedProduct(s.index);
    case Stack::Input: return scan.getXs()[s.index];
    case Stack::InputCotangent: return backward.getResult(keptCarries + s.index);
    case Stack::StepOutput: return backward.getResult(stepOutputsAt + s.index);
    }
    return Value();
  };
  auto flattened = [&](Value stacked) { // [T, B, N] -> [T B, N]
    ArrayRef<int64_t> shape = nn::NNBuilder::typeOf(stacked).getShape();
    return nb.reshape(stacked, {shape[0] * shape[1], shape[2]});
  };
  SmallVector<Value> constGrads(accumulators);
  for (unsigned a = 0; a < accumulators; ++a)
    if (slotOf[a] >= 0)
      constGrads[a] = backward.getResult(slotOf[a]);
  for (const HoistedTerm &h : hoisted) {
    Value whole;
    if (h.product) {
      whole = nb.matmul(flattened(stack(h.a)), flattened(stack(h.g)), /*transposeA=*/true, false);
    } else {
      SmallVector<int64_t> axes{0};
      for (int64_t axis : h.sumAxes)
        axes.push_back(axis + 1);
      whole = nb.reshape(nb.reduceSum(stack(h.g), axes, false),
                         nn::NNBuilder::typeOf(scan.getConsts()[trainedConsts[h.accumulator]]).getShape());
    }
    Value &g = constGrads[h.accumulator];
    g = g ? nb.add(g, whole) : whole;
  }

  // The operands' cotangents: inits, xs, consts (null for integer ones).
  operandGrads.clear();
  for (unsigned i = 0; i < carries; ++i)
    operandGrads.push_back(backward.getResult(i));
  for (unsigned j = 0, f = 0; j < xs; ++j)
    operandGrads.push_back(f < floatXs.size() && floatXs[f] == j ? backward.getResult(keptCarries + f++) : Value());
  for (unsigned j = 0, a = 0; j < consts; ++j)
    operandGrads.push_back(a < accumulators && trainedConsts[a] == j ? constGrads[a++] : Value());
  return success();
}

/// Rows [start, start + count) of `x` along its leading axis (`x` itself
/// when that is all of it).
Value rows(nn::NNBuilder &nb, Value x, int64_t start, int64_t count) {
  ArrayRef<int64_t> shape = nn::NNBuilder::typeOf(x).getShape();
  if (start == 0 && count == shape[0])
    return x;
  SmallVector<int64_t> starts(shape.size(), 0), stops(shape), steps(shape.size(), 1);
  starts[0] = start;
  stops[0] = start + count;
  return nb.slice(x, starts, stops, steps);
}

/// `x` [m * k, ...] as [m, k, ...], or back with `k` = 0.
Value splitLeading(nn::NNBuilder &nb, Value x, int64_t m, int64_t k) {
  ArrayRef<int64_t> shape = nn::NNBuilder::typeOf(x).getShape();
  SmallVector<int64_t> to;
  if (k == 0)
    to.push_back(shape[0] * shape[1]);
  else
    to.append({m, k});
  to.append(shape.begin() + (k == 0 ? 2 : 1), shape.end());
  return nb.reshape(x, to);
}

Value concatRows(OpBuilder &b, Location loc, Value first, Value second) {
  auto a = cast<RankedTensorType>(first.getType());
  SmallVector<int64_t> shape(a.getShape());
  shape[0] += cast<RankedTensorType>(second.getType()).getDimSize(0);
  return b.create<nn::ConcatOp>(loc, RankedTensorType::get(shape, a.getElementType()), ValueRange{first, second},
                                b.getI64IntegerAttr(0));
}

/// A scan like `scan` (its body cloned, no checkpointing) over `xs` from
/// `inits`, built at `b`; its step outputs stacked over `length` steps.
nn::ScanOp scanLike(OpBuilder &b, nn::ScanOp scan, ValueRange inits, ValueRange xs, ValueRange consts,
                    int64_t length) {
  SmallVector<Type> types;
  for (Value v : inits)
    types.push_back(v.getType());
  for (Value v : scan.getBody().front().getTerminator()->getOperands().drop_front(inits.size()))
    types.push_back(stacked(v.getType(), length));
  auto copy = b.create<nn::ScanOp>(scan.getLoc(), types, inits, xs, consts, scan.getReverseAttr(), IntegerAttr());
  IRMapping map;
  scan.getBody().cloneInto(&copy.getBody(), map);
  return copy;
}

/// checkpoint_every = k: the scan rewritten into `m` = T / k segments of k
/// steps (a scan whose body is a scan of the original body) and a scan of
/// the r = T mod k steps left, then the plain rule applied to both, the
/// cotangents chained between them by hand.
LogicalResult checkpointedScanVjp(OpBuilder &b, nn::ScanOp scan, int64_t k, ArrayRef<Value> resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  Location loc = scan.getLoc();
  const unsigned carries = scan.getInits().size(), xs = scan.getXs().size(), consts = scan.getConsts().size();
  const unsigned outputs = scan.getNumStepOutputs();
  const int64_t length = scan.getLength(), m = length / k, r = length % k;
  // Steps run forwards: segments on rows [0, m k), the rest after them;
  // reversed: the rest on rows [0, r), run last.
  const bool reverse = scan.getReverse();
  const int64_t segmentsAt = reverse ? r : 0, restAt = reverse ? 0 : m * k;

  OpBuilder at(scan);
  nn::NNBuilder fb(at, loc);
  SmallVector<Value> segmentXs, restXs;
  for (Value x : scan.getXs()) {
    segmentXs.push_back(splitLeading(fb, rows(fb, x, segmentsAt, m * k), m, k));
    if (r > 0)
      restXs.push_back(rows(fb, x, restAt, r));
  }
  // The segment scan: its body runs the original scan over one segment.
  SmallVector<Type> segmentTypes;
  for (Value v : scan.getInits())
    segmentTypes.push_back(v.getType());
  for (Value v : scan.getBody().front().getTerminator()->getOperands().drop_front(carries))
    segmentTypes.push_back(stacked(stacked(v.getType(), k), m));
  auto segments = at.create<nn::ScanOp>(loc, segmentTypes, scan.getInits(), segmentXs, scan.getConsts(),
                                        scan.getReverseAttr(), IntegerAttr());
  {
    Block *block = new Block();
    segments.getBody().push_back(block);
    for (Value v : scan.getInits())
      block->addArgument(v.getType(), loc);
    for (Value v : segmentXs)
      block->addArgument(rowOf(v.getType()), loc);
    for (Value v : scan.getConsts())
      block->addArgument(v.getType(), loc);
    OpBuilder in(scan.getContext());
    in.setInsertionPointToEnd(block);
    ValueRange args = block->getArguments();
    nn::ScanOp inner = scanLike(in, scan, args.take_front(carries), args.slice(carries, xs),
                                args.take_back(consts), k);
    in.create<nn::YieldOp>(loc, inner.getResults());
  }
  SmallVector<Value> finalCarries(segments.getResults().take_front(carries));
  nn::ScanOp rest;
  if (r > 0) {
    rest = scanLike(at, scan, finalCarries, restXs, scan.getConsts(), r);
    finalCarries.assign(rest.getResults().begin(), rest.getResults().begin() + carries);
  }
  SmallVector<Value> replacements(finalCarries);
  for (unsigned o = 0; o < outputs; ++o) {
    Value out = splitLeading(fb, segments.getResult(carries + o), m, 0);
    if (r > 0)
      out = reverse ? concatRows(at, loc, rest.getResult(carries + o), out)
                    : concatRows(at, loc, out, rest.getResult(carries + o));
    replacements.push_back(out);
  }
  scan->replaceAllUsesWith(replacements);

  // The cotangents, from the last scan run back to the first.
  nn::NNBuilder nb(b, loc);
  SmallVector<Value> segmentGrads(resultGrads.take_front(carries)), restGrads;
  for (unsigned o = 0; o < outputs; ++o) {
    Value g = resultGrads[carries + o];
    segmentGrads.push_back(g ? splitLeading(nb, rows(nb, g, segmentsAt, m * k), m, k) : Value());
    if (r > 0)
      restGrads.push_back(g ? rows(nb, g, restAt, r) : Value());
  }
  SmallVector<Value> restOperandGrads;
  if (r > 0) {
    SmallVector<Value> restResultGrads(resultGrads.take_front(carries));
    restResultGrads.append(restGrads);
    if (failed(plainScanVjp(b, rest, restResultGrads, restOperandGrads)))
      return failure();
    for (unsigned i = 0; i < carries; ++i)
      segmentGrads[i] = restOperandGrads[i];
  }
  SmallVector<Value> segmentOperandGrads;
  if (failed(plainScanVjp(b, segments, segmentGrads, segmentOperandGrads, /*hoist=*/false)))
    return failure();
  operandGrads.assign(segmentOperandGrads.begin(), segmentOperandGrads.begin() + carries);
  for (unsigned j = 0; j < xs; ++j) {
    Value g = segmentOperandGrads[carries + j];
    if (g) {
      g = splitLeading(nb, g, m, 0);
      if (r > 0)
        g = reverse ? concatRows(b, loc, restOperandGrads[carries + j], g)
                    : concatRows(b, loc, g, restOperandGrads[carries + j]);
    }
    operandGrads.push_back(g);
  }
  for (unsigned j = 0; j < consts; ++j) {
    Value g = segmentOperandGrads[carries + xs + j];
    if (g && r > 0)
      g = nb.add(g, restOperandGrads[carries + xs + j]);
    operandGrads.push_back(g);
  }
  return success();
}

} // namespace

LogicalResult scanVjp(OpBuilder &b, nn::ScanOp scan, ArrayRef<Value> resultGrads,
                      SmallVectorImpl<Value> &operandGrads) {
  std::optional<int64_t> every = scan.getCheckpointEvery();
  int64_t k = every ? std::min(*every, scan.getLength()) : 1;
  if (k > 1)
    return checkpointedScanVjp(b, scan, k, resultGrads, operandGrads);
  return plainScanVjp(b, scan, resultGrads, operandGrads);
}

} // namespace kiln
