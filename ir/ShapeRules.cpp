//===- ShapeRules.cpp - result-type rules of the nn ops ------------------===//
#include "ir/ShapeRules.h"

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

} // namespace kiln::nn
