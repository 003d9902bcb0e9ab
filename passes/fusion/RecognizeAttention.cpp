//===- RecognizeAttention.cpp - softmax between matmuls as nn.attention ---===//
//
// A graph written before nn.attention existed (the char LM; models imported
// later) spells attention out:
//
//   s = matmul(q, k, transpose_b) [* c or / c]
//   s = select(mask, s, big negative)            (optional)
//   o = matmul(softmax(s, -1), v)
//
// This pass rewrites such a composite into one nn.attention, so that it
// gets flash attention's O(L) memory and its backward pass. It rewrites
// only where the result is provably the same within f32 rounding:
//   - the mask, if any, is a causal mask built from two iotas
//     (iota axis 0 >= iota axis 1 on a square [L, L]), so no row is fully
//     masked (where the composite gives NaN or uniform weights and
//     nn.attention gives zeros);
//   - the masked value is -inf or at most -1e9 (its exponential is 0 next to
//     any score below 1e9 in magnitude);
//   - the scale is a scalar constant; q, k and v have the same leading
//     dimensions (nn.attention does not broadcast batches);
//   - the scores have no other user. The probabilities may have others
//     (the attention weights the char LM shows): they keep the composite
//     for those, and where those are dead (a training step that returns
//     the loss alone) dead-code elimination removes it.
// Anything else is left alone; with `explain`, each rewrite and each
// softmax between matmuls left alone is reported with the reason.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "ir/ConstantValues.h"
#include "ir/Dialect.h"
#include "passes/fusion/SourceOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cmath>
#include <limits>

namespace kiln {
#define GEN_PASS_DEF_RECOGNIZEATTENTION
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::nn;

namespace {

/// The value of a float constant whose elements are all equal (any shape),
/// if `v` is one.
std::optional<double> splatValue(Value v) {
  auto constant = v.getDefiningOp<ConstantOp>();
  if (!constant || !isa<FloatType>(constant.getType().getElementType()))
    return std::nullopt;
  FailureOr<std::vector<double>> values = constantValues(constant.getValue());
  if (failed(values) || values->empty() ||
      llvm::any_of(*values, [&](double x) { return x != values->front(); }))
    return std::nullopt;
  return values->front();
}

/// An iota along `axis`, of a square [L, L] shape.
bool isSquareIota(Value v, int64_t axis) {
  auto iota = v.getDefiningOp<IotaOp>();
  if (!iota || iota.getAxisAttr().getInt() != axis)
    return false;
  auto type = iota.getType();
  return type.getRank() == 2 && type.getDimSize(0) == type.getDimSize(1);
}

/// True if `mask` is keys j <= query i on a square [L, L]: ge(iota 0, iota 1)
/// or le(iota 1, iota 0) (Graph::causal_mask).
bool isCausalMask(Value mask) {
  if (auto ge = mask.getDefiningOp<GeOp>())
    return isSquareIota(ge.getLhs(), 0) && isSquareIota(ge.getRhs(), 1);
  if (auto le = mask.getDefiningOp<LeOp>())
    return isSquareIota(le.getLhs(), 1) && isSquareIota(le.getRhs(), 0);
  return false;
}

/// The matmul that multiplies the softmax's probabilities by v, if any.
/// (Other users, such as the attention weights shown by the char LM, keep
/// the probabilities computed for themselves.)
MatmulOp productOf(SoftmaxOp softmax) {
  for (Operation *user : softmax->getUsers())
    if (auto matmul = dyn_cast<MatmulOp>(user))
      if (matmul.getA() == softmax.getResult() && !matmul.getTransposeA() && !matmul.getTransposeB())
        return matmul;
  return nullptr;
}

struct Match {
  Value q, k, v;
  bool causal = false;
  double scale = 1;
  SmallVector<Location> locs; // of the ops replaced
};

/// Matches the composite ending in `output` (the product of the softmax
/// and v); on failure, `why` says why not.
std::optional<Match> match(SoftmaxOp softmax, std::string &why) {
  Match m;
  int64_t rank = softmax.getType().getRank();
  int64_t axis = softmax.getAxisAttr().getInt();
  if (rank < 2 || (axis != -1 && axis != rank - 1))
    return why = "the softmax is not over the last axis", std::nullopt;
  MatmulOp output = productOf(softmax);
  if (!output)
    return why = "the probabilities are not the left operand of a plain matmul", std::nullopt;
  m.v = output.getB();
  Value x = softmax.getX();
  m.locs = {output.getLoc(), softmax.getLoc()};
  auto single = [&](Value value, const char *what) {
    if (value.hasOneUse())
      return true;
    why = std::string(what) + " are used elsewhere";
    return false;
  };
  if (auto select = x.getDefiningOp<SelectOp>()) {
    if (!single(x, "the masked scores"))
      return std::nullopt;
    std::optional<double> fill = splatValue(select.getB());
    if (!fill || !(*fill <= -1e9))
      return why = "masked scores are not set to -inf or at most -1e9", std::nullopt;
    if (!isCausalMask(select.getCond()))
      return why = "the mask is not a causal mask from iotas: a row could be fully masked, where the composite "
                   "gives NaN or uniform weights and nn.attention zeros",
             std::nullopt;
    m.causal = true;
    m.locs.push_back(select.getLoc());
    x = select.getA();
  }
  if (auto mul = x.getDefiningOp<MulOp>()) {
    std::optional<double> c = splatValue(mul.getRhs());
    Value other = mul.getLhs();
    if (!c) {
      c = splatValue(mul.getLhs());
      other = mul.getRhs();
    }
    if (!c || cast<RankedTensorType>(x.getType()) != cast<RankedTensorType>(other.getType()))
      return why = "the scores are scaled by something other than a scalar constant", std::nullopt;
    if (!single(x, "the scaled scores"))
      return std::nullopt;
    m.scale = *c;
    m.locs.push_back(mul.getLoc());
    x = other;
  } else if (auto div = x.getDefiningOp<DivOp>()) {
    std::optional<double> c = splatValue(div.getRhs());
    if (!c || *c == 0 || cast<RankedTensorType>(x.getType()) != cast<RankedTensorType>(div.getLhs().getType()))
      return why = "the scores are divided by something other than a nonzero scalar constant", std::nullopt;
    if (!single(x, "the scaled scores"))
      return std::nullopt;
    m.scale = 1 / *c;
    m.locs.push_back(div.getLoc());
    x = div.getLhs();
  }
  auto scores = x.getDefiningOp<MatmulOp>();
  if (!scores || scores.getTransposeA() || !scores.getTransposeB())
    return why = "the scores are not matmul(q, k) with k transposed", std::nullopt;
  if (!single(x, "the scores"))
    return std::nullopt;
  m.q = scores.getA();
  m.k = scores.getB();
  m.locs.push_back(scores.getLoc());
  auto type = [](Value v) { return cast<RankedTensorType>(v.getType()); };
  if (type(m.q).getRank() != rank || type(m.k).getRank() != rank || type(m.v).getRank() != rank ||
      type(m.q).getShape().drop_back(2) != type(m.k).getShape().drop_back(2) ||
      type(m.q).getShape().drop_back(2) != type(m.v).getShape().drop_back(2))
    return why = "q, k and v do not have the same leading dimensions (nn.attention does not broadcast them)",
           std::nullopt;
  if (m.causal && type(m.q).getDimSize(rank - 2) != type(m.k).getDimSize(rank - 2))
    return why = "a causal mask with Lq != Lk", std::nullopt;
  return m;
}

struct RecognizeAttentionPass : kiln::impl::RecognizeAttentionBase<RecognizeAttentionPass> {
  using RecognizeAttentionBase::RecognizeAttentionBase;

  void runOnOperation() override {
    SmallVector<SoftmaxOp> softmaxes;
    getOperation().walk([&](SoftmaxOp op) { softmaxes.push_back(op); });
    for (SoftmaxOp softmax : softmaxes) {
      // Only a softmax between two matmuls is an attention to report on.
      bool betweenMatmuls = llvm::any_of(softmax->getUsers(), [](Operation *u) { return isa<MatmulOp>(u); });
      if (!betweenMatmuls)
        continue;
      std::string why;
      std::optional<Match> m = match(softmax, why);
      if (!m) {
        kiln::explain(explain, softmax.getLoc(), "softmax between matmuls not rewritten to nn.attention: " + why);
        continue;
      }
      MatmulOp output = productOf(softmax);
      bool weightsKept = !softmax->hasOneUse();
      OpBuilder b(output);
      Location loc = FusedLoc::get(&getContext(), m->locs);
      int64_t d = cast<RankedTensorType>(m->q.getType()).getShape().back();
      double defaultScale = d > 0 ? 1 / std::sqrt(double(d)) : 1.0;
      // The constant's own value (an f32 1/sqrt(D) is not the default,
      // which is computed in double).
      FloatAttr scale = m->scale == defaultScale ? FloatAttr() : b.getF64FloatAttr(m->scale);
      auto attention = b.create<AttentionOp>(loc, m->q, m->k, m->v, Value(), Value(),
                                             m->causal ? b.getUnitAttr() : UnitAttr(), scale);
      kiln::explain(explain, loc,
                    std::string("rewrote softmax between matmuls to nn.attention") + (m->causal ? " (causal)" : "") +
                        (weightsKept ? " (its weights are still computed for their other users)" : "") + ": " +
                        kiln::describeSourceOps(loc));
      output.getResult().replaceAllUsesWith(attention.getResult());
      // The composite is dead now; erase it, users first.
      SmallVector<Operation *> dead = {output};
      for (size_t i = 0; i < dead.size(); ++i)
        for (Value operand : dead[i]->getOperands())
          if (Operation *def = operand.getDefiningOp(); def && isMemoryEffectFree(def) &&
                                                       llvm::all_of(def->getUsers(), [&](Operation *u) {
                                                         return llvm::is_contained(dead, u);
                                                       }) &&
                                                       !llvm::is_contained(dead, def))
            dead.push_back(def);
      for (Operation *op : dead)
        op->dropAllUses(), op->erase();
    }
  }
};

} // namespace
