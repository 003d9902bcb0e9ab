//===- ShapeRules.cpp - result-type rules of the nn ops ------------------===//
#include "ir/ShapeRules.h"
#include "ir/Conv2dGeometry.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln::nn {

std::string shapeString(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto rt = dyn_cast<RankedTensorType>(t)) {
    for (int64_t d : rt.getShape())
      os << d << "x";
    os << rt.getElementType();
  } else {
    os << t;
  }
  return s;
}

static std::string listString(ArrayRef<int64_t> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1)
      return failure();
    out[rank - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

FailureOr<RankedTensorType> inferBroadcast(MaybeLoc loc, StringRef op,
                                           RankedTensorType lhs,
                                           RankedTensorType rhs) {
  if (lhs.getElementType() != rhs.getElementType())
    return emitOptionalError(loc, "'", op, "': operands have different element types: lhs is ",
                             lhs.getElementType(), ", rhs is ", rhs.getElementType());
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (failed(shape))
    return emitOptionalError(loc, "'", op, "': shapes ", shapeString(lhs), " and ",
                             shapeString(rhs), " do not broadcast (NumPy rules)");
  return RankedTensorType::get(*shape, lhs.getElementType());
}

FailureOr<RankedTensorType> inferMatmul(MaybeLoc loc, RankedTensorType a,
                                        RankedTensorType b, bool transposeA,
                                        bool transposeB) {
  if (a.getRank() < 2 || b.getRank() < 2)
    return emitOptionalError(loc, "'nn.matmul': operands need rank >= 2, got a: ",
                             shapeString(a), ", b: ", shapeString(b));
  if (a.getElementType() != b.getElementType())
    return emitOptionalError(loc, "'nn.matmul': operands have different element types: a is ",
                             a.getElementType(), ", b is ", b.getElementType());
  ArrayRef<int64_t> as = a.getShape(), bs = b.getShape();
  int64_t ra = as.size(), rb = bs.size();
  int64_t m = transposeA ? as[ra - 1] : as[ra - 2];
  int64_t ka = transposeA ? as[ra - 2] : as[ra - 1];
  int64_t kb = transposeB ? bs[rb - 1] : bs[rb - 2];
  int64_t n = transposeB ? bs[rb - 2] : bs[rb - 1];
  if (ka != kb)
    return emitOptionalError(loc, "'nn.matmul': contraction sizes differ: a ", shapeString(a),
                             transposeA ? " (transposed)" : "", " has K = ", ka, ", b ",
                             shapeString(b), transposeB ? " (transposed)" : "", " has K = ", kb);
  auto batch = broadcastShapes(as.drop_back(2), bs.drop_back(2));
  if (failed(batch))
    return emitOptionalError(loc, "'nn.matmul': batch dimensions ", listString(as.drop_back(2)),
                             " and ", listString(bs.drop_back(2)), " do not broadcast");
  SmallVector<int64_t> shape = *batch;
  shape.push_back(m);
  shape.push_back(n);
  return RankedTensorType::get(shape, a.getElementType());
}

FailureOr<SmallVector<int64_t>> normalizeAxes(MaybeLoc loc, StringRef op,
                                              ArrayRef<int64_t> axes, int64_t rank) {
  if (axes.empty())
    return emitOptionalError(loc, "'", op, "': axes must not be empty");
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    int64_t n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank)
      return emitOptionalError(loc, "'", op, "': axis ", a, " is out of range for rank ", rank);
    if (llvm::is_contained(out, n))
      return emitOptionalError(loc, "'", op, "': axis ", a, " appears more than once in ",
                               listString(axes));
    out.push_back(n);
  }
  llvm::sort(out);
  return out;
}

SmallVector<int64_t> normalizedAxes(ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t a : axes)
    out.push_back(a < 0 ? a + rank : a);
  llvm::sort(out);
  return out;
}

FailureOr<RankedTensorType> inferReduce(MaybeLoc loc, StringRef op, RankedTensorType x,
                                        ArrayRef<int64_t> axes, bool keepdims) {
  auto norm = normalizeAxes(loc, op, axes, x.getRank());
  if (failed(norm))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < x.getRank(); ++i) {
    bool reduced = llvm::is_contained(*norm, i);
    if (!reduced)
      shape.push_back(x.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  return RankedTensorType::get(shape, x.getElementType());
}

FailureOr<RankedTensorType> inferTranspose(MaybeLoc loc, RankedTensorType x,
                                           ArrayRef<int64_t> perm) {
  int64_t rank = x.getRank();
  if ((int64_t)perm.size() != rank)
    return emitOptionalError(loc, "'nn.transpose': perm ", listString(perm), " has ",
                             perm.size(), " entries but the operand ", shapeString(x),
                             " has rank ", rank);
  SmallVector<int64_t> shape;
  SmallVector<bool> seen(rank, false);
  for (int64_t p : perm) {
    int64_t n = p < 0 ? p + rank : p;
    if (n < 0 || n >= rank || seen[n])
      return emitOptionalError(loc, "'nn.transpose': perm ", listString(perm),
                               " is not a permutation of 0..", rank - 1);
    seen[n] = true;
    shape.push_back(x.getDimSize(n));
  }
  return RankedTensorType::get(shape, x.getElementType());
}

FailureOr<RankedTensorType> inferLoss(MaybeLoc loc, StringRef op, RankedTensorType prediction,
                                      RankedTensorType label) {
  if (prediction != label)
    return emitOptionalError(loc, "'", op, "': prediction ", shapeString(prediction),
                             " and label ", shapeString(label),
                             " must have the same shape and element type");
  return RankedTensorType::get({}, prediction.getElementType());
}

LogicalResult verifyBroadcastTo(MaybeLoc loc, RankedTensorType from, RankedTensorType to) {
  if (from.getElementType() != to.getElementType())
    return emitOptionalError(loc, "'nn.broadcast_to': element type changes from ",
                             from.getElementType(), " to ", to.getElementType());
  auto shape = broadcastShapes(from.getShape(), to.getShape());
  if (from.getRank() > to.getRank() || failed(shape) || ArrayRef<int64_t>(*shape) != to.getShape())
    return emitOptionalError(loc, "'nn.broadcast_to': ", shapeString(from),
                             " does not broadcast to ", shapeString(to));
  return success();
}

LogicalResult verifyReshape(MaybeLoc loc, RankedTensorType from, RankedTensorType to) {
  if (from.getElementType() != to.getElementType())
    return emitOptionalError(loc, "'nn.reshape': element type changes from ",
                             from.getElementType(), " to ", to.getElementType());
  if (from.getNumElements() != to.getNumElements())
    return emitOptionalError(loc, "'nn.reshape': ", shapeString(from), " has ",
                             from.getNumElements(), " elements but ", shapeString(to), " has ",
                             to.getNumElements());
  return success();
}

FailureOr<RankedTensorType> inferCompare(MaybeLoc loc, StringRef op, RankedTensorType lhs,
                                         RankedTensorType rhs) {
  auto type = inferBroadcast(loc, op, lhs, rhs);
  if (failed(type))
    return failure();
  return RankedTensorType::get(type->getShape(), IntegerType::get(lhs.getContext(), 1));
}

FailureOr<RankedTensorType> inferSelect(MaybeLoc loc, RankedTensorType cond, RankedTensorType a,
                                        RankedTensorType b) {
  if (a.getElementType() != b.getElementType())
    return emitOptionalError(loc, "'nn.select': the two choices have different element types: ",
                             a.getElementType(), " and ", b.getElementType());
  auto ab = broadcastShapes(a.getShape(), b.getShape());
  FailureOr<SmallVector<int64_t>> all = failure();
  if (succeeded(ab))
    all = broadcastShapes(cond.getShape(), *ab);
  if (failed(all))
    return emitOptionalError(loc, "'nn.select': shapes ", shapeString(cond), ", ", shapeString(a),
                             " and ", shapeString(b), " do not broadcast (NumPy rules)");
  return RankedTensorType::get(*all, a.getElementType());
}

FailureOr<RankedTensorType> inferGather(MaybeLoc loc, RankedTensorType table,
                                        RankedTensorType indices) {
  if (table.getRank() < 1)
    return emitOptionalError(loc, "'nn.gather': the table needs rank >= 1, got ",
                             shapeString(table));
  SmallVector<int64_t> shape(indices.getShape());
  llvm::append_range(shape, table.getShape().drop_front());
  return RankedTensorType::get(shape, table.getElementType());
}

FailureOr<RankedTensorType> inferConcat(MaybeLoc loc, ArrayRef<RankedTensorType> inputs,
                                        int64_t axis) {
  if (inputs.empty())
    return emitOptionalError(loc, "'nn.concat': needs at least one input");
  RankedTensorType first = inputs.front();
  auto norm = normalizeAxes(loc, "nn.concat", {axis}, first.getRank());
  if (failed(norm))
    return failure();
  int64_t a = norm->front();
  SmallVector<int64_t> shape(first.getShape());
  shape[a] = 0;
  for (auto [i, t] : llvm::enumerate(inputs)) {
    bool same = t.getRank() == first.getRank() && t.getElementType() == first.getElementType();
    for (int64_t d = 0; same && d < t.getRank(); ++d)
      same = d == a || t.getDimSize(d) == first.getDimSize(d);
    if (!same)
      return emitOptionalError(loc, "'nn.concat': input #", i, " is ", shapeString(t),
                               " but input #0 is ", shapeString(first),
                               "; they may differ only along axis ", axis);
    shape[a] += t.getDimSize(a);
  }
  return RankedTensorType::get(shape, first.getElementType());
}

SliceAxis sliceAxis(int64_t dim, int64_t start, int64_t stop, int64_t step) {
  // Python's slice.indices(dim).
  auto clamp = [&](int64_t v, bool isStart) {
    if (v < 0)
      v = std::max<int64_t>(v + dim, step < 0 ? -1 : 0);
    else if (v >= dim)
      v = step < 0 ? dim - 1 : dim;
    (void)isStart;
    return v;
  };
  int64_t first = clamp(start, true), last = clamp(stop, false);
  // 1 + (span - 1) / |step|: no overflow for any step (INT64_MAX once gave
  // a count of -1, INT64_MIN has no positive negation).
  uint64_t stride = step > 0 ? uint64_t(step) : uint64_t(0) - uint64_t(step);
  int64_t count = 0;
  if (step > 0 && last > first)
    count = int64_t(1 + uint64_t(last - first - 1) / stride);
  else if (step < 0 && first > last)
    count = int64_t(1 + uint64_t(first - last - 1) / stride);
  return {first, count};
}

FailureOr<RankedTensorType> inferSlice(MaybeLoc loc, RankedTensorType x, ArrayRef<int64_t> starts,
                                       ArrayRef<int64_t> stops, ArrayRef<int64_t> steps) {
  int64_t rank = x.getRank();
  if ((int64_t)starts.size() != rank || (int64_t)stops.size() != rank ||
      (int64_t)steps.size() != rank)
    return emitOptionalError(loc, "'nn.slice': needs one start, stop and step per axis of ",
                             shapeString(x), " (", rank, "), got ", starts.size(), ", ",
                             stops.size(), " and ", steps.size());
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (steps[d] == 0)
      return emitOptionalError(loc, "'nn.slice': the step of axis ", d, " is 0");
    shape.push_back(sliceAxis(x.getDimSize(d), starts[d], stops[d], steps[d]).count);
  }
  return RankedTensorType::get(shape, x.getElementType());
}

LogicalResult verifyBatchNorm(MaybeLoc loc, RankedTensorType x, RankedTensorType gamma, RankedTensorType beta,
                              RankedTensorType mean, RankedTensorType variance) {
  if (x.getRank() < 2)
    return emitOptionalError(loc, "'nn.batch_norm': x is ", shapeString(x),
                             " but must have rank 2 or more (the channels on axis 1)");
  auto expected = RankedTensorType::get({x.getDimSize(1)}, x.getElementType());
  for (auto [name, t] : {std::pair{"gamma", gamma}, std::pair{"beta", beta}, std::pair{"mean", mean},
                         std::pair{"variance", variance}})
    if (t != expected)
      return emitOptionalError(loc, "'nn.batch_norm': ", name, " is ", shapeString(t), " but must be ",
                               shapeString(expected), " (one per channel of x ", shapeString(x), ")");
  return success();
}

LogicalResult verifyLayerNorm(MaybeLoc loc, RankedTensorType x, RankedTensorType gamma,
                              RankedTensorType beta, ArrayRef<int64_t> axes) {
  auto norm = normalizeAxes(loc, "nn.layer_norm", axes, x.getRank());
  if (failed(norm))
    return failure();
  int64_t k = norm->size();
  for (int64_t i = 0; i < k; ++i)
    if ((*norm)[i] != x.getRank() - k + i)
      return emitOptionalError(loc, "'nn.layer_norm': axes ", listString(axes),
                               " must be the trailing axes of ", shapeString(x));
  auto expected = RankedTensorType::get(x.getShape().take_back(k), x.getElementType());
  for (auto [name, t] : {std::pair{"gamma", gamma}, std::pair{"beta", beta}})
    if (t && t != expected)
      return emitOptionalError(loc, "'nn.layer_norm': ", name, " is ", shapeString(t),
                               " but must be ", shapeString(expected));
  return success();
}

FailureOr<RankedTensorType> inferCrossEntropy(MaybeLoc loc, RankedTensorType logits,
                                              RankedTensorType labels) {
  if (logits.getRank() < 1 || labels.getShape() != logits.getShape().drop_back())
    return emitOptionalError(loc, "'nn.cross_entropy': labels ", shapeString(labels),
                             " must have the shape of logits ", shapeString(logits),
                             " without its last (class) axis");
  return RankedTensorType::get({}, logits.getElementType());
}

} // namespace kiln::nn

namespace kiln::nn {

FailureOr<RankedTensorType> inferAttention(MaybeLoc loc, RankedTensorType q, RankedTensorType k,
                                           RankedTensorType v, RankedTensorType mask,
                                           RankedTensorType bias) {
  auto error = [&](auto &&...parts) { return emitOptionalError(loc, "'nn.attention': ", parts...); };
  if (q.getRank() < 2 || k.getRank() != q.getRank() || v.getRank() != q.getRank())
    return error("q, k and v need one rank >= 2 ([..., L, D]), got q ", shapeString(q), ", k ",
                 shapeString(k), ", v ", shapeString(v));
  Type element = q.getElementType();
  for (auto [name, t] : {std::pair{"k", k}, std::pair{"v", v}, std::pair{"bias", bias}})
    if (t && t.getElementType() != element)
      return error(name, " has element type ", t.getElementType(), " but q has ", element);
  int64_t rank = q.getRank();
  ArrayRef<int64_t> batch = q.getShape().drop_back(2);
  for (auto [name, t] : {std::pair{"k", k}, std::pair{"v", v}})
    if (t.getShape().drop_back(2) != batch)
      return error(name, " ", shapeString(t), " has leading dimensions ",
                   listString(t.getShape().drop_back(2)), " but q ", shapeString(q), " has ",
                   listString(batch));
  int64_t lq = q.getDimSize(rank - 2), d = q.getDimSize(rank - 1);
  int64_t lk = k.getDimSize(rank - 2);
  if (k.getDimSize(rank - 1) != d)
    return error("k ", shapeString(k), " has D = ", k.getDimSize(rank - 1), " but q ",
                 shapeString(q), " has D = ", d);
  if (v.getDimSize(rank - 2) != lk)
    return error("v ", shapeString(v), " has ", v.getDimSize(rank - 2), " keys but k ",
                 shapeString(k), " has ", lk);
  SmallVector<int64_t> scores(batch);
  scores.append({lq, lk});
  for (auto [name, t] : {std::pair{"mask", mask}, std::pair{"bias", bias}}) {
    if (!t)
      continue;
    auto joined = broadcastShapes(t.getShape(), scores);
    if (t.getRank() > rank || failed(joined) || ArrayRef<int64_t>(*joined) != ArrayRef<int64_t>(scores))
      return error(name, " ", shapeString(t), " does not broadcast to the scores' shape ",
                   listString(scores), " ([..., Lq, Lk])");
  }
  SmallVector<int64_t> shape(batch);
  shape.append({lq, v.getDimSize(rank - 1)});
  return RankedTensorType::get(shape, element);
}


//===--- convolution ------------------------------------------------------===//

namespace {
/// The attribute checks the three conv2d ops share.
LogicalResult checkConv2dAttrs(MaybeLoc loc, StringRef op, ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
                               ArrayRef<int64_t> dilations, int64_t groups) {
  auto error = [&](auto &&...parts) { return emitOptionalError(loc, "'", op, "': ", parts...); };
  if (strides.size() != 2 || llvm::any_of(strides, [](int64_t s) { return s < 1; }))
    return error("strides must be 2 values of at least 1 ([sh, sw]), got ", listString(strides));
  if (dilations.size() != 2 || llvm::any_of(dilations, [](int64_t d) { return d < 1; }))
    return error("dilations must be 2 values of at least 1 ([dh, dw]), got ", listString(dilations));
  if (padding.size() != 4 || llvm::any_of(padding, [](int64_t p) { return p < 0; }))
    return error("padding must be 4 values of at least 0 ([top, left, bottom, right]), got ", listString(padding));
  // Sizes stay far from int64 overflow (ModelLimits bounds tensor sizes).
  if (llvm::any_of(llvm::concat<const int64_t>(strides, dilations, padding), [](int64_t v) { return v > (1 << 24); }))
    return error("strides, dilations and padding must be at most 16777216");
  if (groups < 1)
    return error("groups must be at least 1, got ", groups);
  return success();
}

LogicalResult checkRank4(MaybeLoc loc, StringRef op, StringRef name, RankedTensorType t, StringRef layout) {
  if (t.getRank() != 4)
    return emitOptionalError(loc, "'", op, "': ", name, " must be rank 4 (", layout, "), got ", shapeString(t));
  return success();
}

/// The output [Ho, Wo] of a window of [kh, kw] over [h, w], or an error.
FailureOr<std::pair<int64_t, int64_t>> conv2dOutput(MaybeLoc loc, StringRef op, const Conv2dGeometry &g, int64_t h,
                                                    int64_t w, int64_t kh, int64_t kw) {
  int64_t ho = g.outputHeight(h, kh), wo = g.outputWidth(w, kw);
  if (ho < 1 || wo < 1)
    return emitOptionalError(loc, "'", op, "': the dilated kernel ", listString({g.dilationH * (kh - 1) + 1,
                                                                              g.dilationW * (kw - 1) + 1}),
                             " does not fit the padded input ",
                             listString({h + g.padTop + g.padBottom, w + g.padLeft + g.padRight}));
  return std::make_pair(ho, wo);
}
} // namespace

FailureOr<RankedTensorType> inferConv2d(MaybeLoc loc, RankedTensorType x, RankedTensorType w,
                                        ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
                                        ArrayRef<int64_t> dilations, int64_t groups) {
  const char *op = "nn.conv2d";
  if (failed(checkConv2dAttrs(loc, op, strides, padding, dilations, groups)) ||
      failed(checkRank4(loc, op, "x", x, "[N, C, H, W]")) || failed(checkRank4(loc, op, "w", w, "[O, C / groups, KH, KW]")))
    return failure();
  if (x.getElementType() != w.getElementType())
    return emitOptionalError(loc, "'nn.conv2d': w has element type ", w.getElementType(), " but x has ",
                             x.getElementType());
  int64_t c = x.getDimSize(1), o = w.getDimSize(0);
  if (c % groups != 0 || o % groups != 0)
    return emitOptionalError(loc, "'nn.conv2d': groups = ", groups, " must divide the input channels (", c,
                             ") and the output channels (", o, ")");
  if (w.getDimSize(1) != c / groups)
    return emitOptionalError(loc, "'nn.conv2d': w ", shapeString(w), " must have C / groups = ", c / groups,
                             " input channels (x ", shapeString(x), ", groups ", groups, "), got ", w.getDimSize(1));
  Conv2dGeometry g = Conv2dGeometry::of(strides, padding, dilations, groups);
  auto out = conv2dOutput(loc, op, g, x.getDimSize(2), x.getDimSize(3), w.getDimSize(2), w.getDimSize(3));
  if (failed(out))
    return failure();
  return RankedTensorType::get({x.getDimSize(0), o, out->first, out->second}, x.getElementType());
}

FailureOr<RankedTensorType> inferConv2dBackwardInput(MaybeLoc loc, RankedTensorType grad, RankedTensorType w,
                                                     ArrayRef<int64_t> inputSize, ArrayRef<int64_t> strides,
                                                     ArrayRef<int64_t> padding, ArrayRef<int64_t> dilations,
                                                     int64_t groups) {
  const char *op = "nn.conv2d_backward_input";
  if (failed(checkConv2dAttrs(loc, op, strides, padding, dilations, groups)) ||
      failed(checkRank4(loc, op, "grad", grad, "[N, O, Ho, Wo]")) ||
      failed(checkRank4(loc, op, "w", w, "[O, C / groups, KH, KW]")))
    return failure();
  if (inputSize.size() != 2 || llvm::any_of(inputSize, [](int64_t d) { return d < 0; }))
    return emitOptionalError(loc, "'", op, "': input_size must be [H, W], got ", listString(inputSize));
  if (grad.getDimSize(1) != w.getDimSize(0) || w.getDimSize(0) % groups != 0)
    return emitOptionalError(loc, "'", op, "': grad ", shapeString(grad), " and w ", shapeString(w),
                             " disagree on the output channels (groups ", groups, ")");
  Conv2dGeometry g = Conv2dGeometry::of(strides, padding, dilations, groups);
  auto out = conv2dOutput(loc, op, g, inputSize[0], inputSize[1], w.getDimSize(2), w.getDimSize(3));
  if (failed(out))
    return failure();
  if (out->first != grad.getDimSize(2) || out->second != grad.getDimSize(3))
    return emitOptionalError(loc, "'", op, "': an input of ", listString(inputSize), " gives outputs of ",
                             listString({out->first, out->second}), " but grad is ", shapeString(grad));
  return RankedTensorType::get({grad.getDimSize(0), w.getDimSize(1) * groups, inputSize[0], inputSize[1]},
                               grad.getElementType());
}

FailureOr<RankedTensorType> inferConv2dBackwardWeight(MaybeLoc loc, RankedTensorType x, RankedTensorType grad,
                                                      ArrayRef<int64_t> kernelSize, ArrayRef<int64_t> strides,
                                                      ArrayRef<int64_t> padding, ArrayRef<int64_t> dilations,
                                                      int64_t groups) {
  const char *op = "nn.conv2d_backward_weight";
  if (failed(checkConv2dAttrs(loc, op, strides, padding, dilations, groups)) ||
      failed(checkRank4(loc, op, "x", x, "[N, C, H, W]")) || failed(checkRank4(loc, op, "grad", grad, "[N, O, Ho, Wo]")))
    return failure();
  if (kernelSize.size() != 2 || llvm::any_of(kernelSize, [](int64_t d) { return d < 1; }))
    return emitOptionalError(loc, "'", op, "': kernel_size must be [KH, KW] of at least 1, got ",
                             listString(kernelSize));
  int64_t c = x.getDimSize(1), o = grad.getDimSize(1);
  if (x.getDimSize(0) != grad.getDimSize(0) || c % groups != 0 || o % groups != 0)
    return emitOptionalError(loc, "'", op, "': x ", shapeString(x), " and grad ", shapeString(grad),
                             " disagree on the batch, or groups = ", groups, " does not divide the channels");
  Conv2dGeometry g = Conv2dGeometry::of(strides, padding, dilations, groups);
  auto out = conv2dOutput(loc, op, g, x.getDimSize(2), x.getDimSize(3), kernelSize[0], kernelSize[1]);
  if (failed(out))
    return failure();
  if (out->first != grad.getDimSize(2) || out->second != grad.getDimSize(3))
    return emitOptionalError(loc, "'", op, "': x ", shapeString(x), " gives outputs of ",
                             listString({out->first, out->second}), " but grad is ", shapeString(grad));
  return RankedTensorType::get({o, c / groups, kernelSize[0], kernelSize[1]}, x.getElementType());
}


FailureOr<RankedTensorType> inferPool2d(MaybeLoc loc, StringRef op, RankedTensorType x, ArrayRef<int64_t> kernel,
                                        ArrayRef<int64_t> strides, ArrayRef<int64_t> padding) {
  if (failed(checkConv2dAttrs(loc, op, strides, padding, {1, 1}, 1)) ||
      failed(checkRank4(loc, op, "x", x, "[N, C, H, W]")))
    return failure();
  if (kernel.size() != 2 || llvm::any_of(kernel, [](int64_t k) { return k < 1 || k > (1 << 24); }))
    return emitOptionalError(loc, "'", op, "': kernel must be 2 values of at least 1 ([KH, KW]), got ",
                             listString(kernel));
  if (padding[0] >= kernel[0] || padding[2] >= kernel[0] || padding[1] >= kernel[1] || padding[3] >= kernel[1])
    return emitOptionalError(loc, "'", op, "': each pad must be below the kernel ", listString(kernel),
                             " on its axis (a window of padding alone has no element), got padding ",
                             listString(padding));
  Conv2dGeometry g = Conv2dGeometry::of(strides, padding, {1, 1}, 1);
  auto out = conv2dOutput(loc, op, g, x.getDimSize(2), x.getDimSize(3), kernel[0], kernel[1]);
  if (failed(out))
    return failure();
  return RankedTensorType::get({x.getDimSize(0), x.getDimSize(1), out->first, out->second}, x.getElementType());
}

} // namespace kiln::nn
