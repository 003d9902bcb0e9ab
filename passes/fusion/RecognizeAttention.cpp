//===- RecognizeAttention.cpp - softmax between matmuls as nn.attention ---===//
//
// A graph written before nn.attention existed (the char LM; models imported
// later) spells attention out:
//
//   s = matmul(q [* c], k [* c], transpose_b)  or  matmul(q, transpose(k))
//   s = s [* c or / c]
//   s = select(mask, s, fill)  or  s + bias             (optional)
//   s = s [* c or / c]
//   o = matmul(softmax(s, -1), v)
//
// This pass rewrites such a composite into one nn.attention, so that it
// gets flash attention's O(L) memory and its backward pass. It rewrites
// only where the result is the same within f32 rounding:
//   - a select whose mask is a causal mask built from two iotas (iota axis
//     0 >= iota axis 1 on a square [L, L], so no row is fully masked) and
//     whose fill is -inf or at most -1e9 (its exponential is 0 next to any
//     score below 1e9 in magnitude) becomes `causal`; so does an added
//     select(that mask, 0, fill);
//   - a select with any other mask and fill -inf becomes the boolean mask
//     (a fully masked row: NaN in the composite, zeros in nn.attention,
//     which is the only difference); with a finite fill at most -1e9 it
//     becomes the bias select(mask, 0, fill), which keeps the composite's
//     uniform weights on a fully masked row;
//   - an added float tensor becomes the bias (times a scale applied after
//     it); the scales before and after, and on q or k, multiply into
//     `scale`, which must be positive where a mask or bias follows it;
//   - q, k and v have the same leading dimensions (nn.attention does not
//     broadcast batches), the scores have no other user. The probabilities
//     may have others (the attention weights the char LM shows): they keep
//     the composite for those, and where those are dead (a training step
//     that returns the loss alone) dead-code elimination removes it.
// Anything else is left alone; with `explain`, each rewrite (and the form
// it matched) and each softmax between matmuls left alone is reported with
// the reason.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "ir/ConstantValues.h"
#include "ir/Dialect.h"
#include "ir/NNBuilder.h"
#include "passes/fusion/SourceOps.h"

#include "llvm/ADT/StringExtras.h"

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

/// `x` as inner * factor where it is x' * c, c * x' or x' / c with c a
/// constant scalar (any splat) and x' of x's own type.
struct Scaled {
  Value inner;
  double factor;
  Location loc;
};
std::optional<Scaled> peelScale(Value x) {
  auto sameType = [&](Value other) { return other.getType() == x.getType(); };
  if (auto mul = x.getDefiningOp<MulOp>()) {
    if (std::optional<double> c = splatValue(mul.getRhs()); c && sameType(mul.getLhs()))
      return Scaled{mul.getLhs(), *c, mul.getLoc()};
    if (std::optional<double> c = splatValue(mul.getLhs()); c && sameType(mul.getRhs()))
      return Scaled{mul.getRhs(), *c, mul.getLoc()};
  }
  if (auto div = x.getDefiningOp<DivOp>())
    if (std::optional<double> c = splatValue(div.getRhs()); c && *c != 0 && sameType(div.getLhs()))
      return Scaled{div.getLhs(), 1 / *c, div.getLoc()};
  return std::nullopt;
}

/// True if `perm` swaps the last two dimensions and keeps the others.
bool swapsLastTwo(ArrayRef<int64_t> perm) {
  int64_t rank = int64_t(perm.size());
  if (rank < 2)
    return false;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t want = i == rank - 2 ? rank - 1 : i == rank - 1 ? rank - 2 : i;
    if (perm[i] != want && perm[i] != want - rank)
      return false;
  }
  return true;
}

/// A masked value far enough below any score to vanish next to it: -inf,
/// or at most -1e9 (a score would need |s| >= 1e9 to matter).
bool vanishes(double fill) { return fill <= -1e9; }

struct Match {
  Value q, k, v;
  bool causal = false;
  Value mask;                // a boolean mask operand (the fill was -inf)
  Value bias;                // an additive bias operand, times biasFactor
  double biasFactor = 1;     //   (a scale applied after the bias)
  Value maskForBias;         // a bias to build: select(maskForBias, 0, fillForBias)
  double fillForBias = 0;
  double scale = 1;
  SmallVector<std::string> form; // what was matched, for --explain-fusion
  SmallVector<Location> locs;    // of the ops replaced
};

/// Matches the composite feeding `softmax` whose product with v is
/// `output`; on failure, `why` says why not. The forms:
///   s = matmul(q [* c], k [* c], transpose_b)   or  matmul(q, transpose(k))
///   s = s [* c | / c]
///   s = select(mask, s, fill) | s + bias | bias + s      (optional)
///   s = s [* c | / c]                                     (scale after the mask)
///   o = matmul(softmax(s, -1), v)
std::optional<Match> match(SoftmaxOp softmax, MatmulOp output, std::string &why) {
  Match m;
  int64_t rank = softmax.getType().getRank();
  int64_t axis = softmax.getAxisAttr().getInt();
  if (rank < 2 || (axis != -1 && axis != rank - 1))
    return why = "the softmax is not over the last axis", std::nullopt;
  m.v = output.getB();
  Value x = softmax.getX();
  m.locs = {output.getLoc(), softmax.getLoc()};
  auto single = [&](Value value, const char *what) {
    if (value.hasOneUse())
      return true;
    why = std::string(what) + " are used elsewhere";
    return false;
  };
  // A scale outside the mask or bias multiplies what they add.
  double outer = 1;
  if (std::optional<Scaled> s = peelScale(x)) {
    if (!single(x, "the scaled scores"))
      return std::nullopt;
    outer = s->factor, x = s->inner;
    m.locs.push_back(s->loc);
  }
  auto isScores = [](Value value) {
    if (std::optional<Scaled> s = peelScale(value))
      value = s->inner;
    return bool(value.getDefiningOp<MatmulOp>());
  };
  Operation *masking = x.getDefiningOp();
  if (isa_and_nonnull<SelectOp, AddOp>(masking) && outer <= 0)
    return why = "the masked scores are scaled by a constant that is not positive", std::nullopt;
  if (auto select = dyn_cast_or_null<SelectOp>(masking)) {
    if (!single(x, "the masked scores"))
      return std::nullopt;
    std::optional<double> fill = splatValue(select.getB());
    if (!fill || !vanishes(*fill * outer))
      return why = "masked scores are not set to -inf or at most -1e9", std::nullopt;
    if (select.getA().getType() != x.getType())
      return why = "the mask broadcasts the scores to a larger shape", std::nullopt;
    if (isCausalMask(select.getCond())) {
      m.causal = true;
      m.form.push_back("causal");
    } else if (std::isinf(*fill)) {
      // A fully masked row: NaN from the composite, zeros from nn.attention.
      m.mask = select.getCond();
      m.form.push_back("boolean mask");
    } else {
      // A fully masked row averages v in the composite (every score is the
      // fill): a bias of 0 or the fill keeps that, where a boolean mask
      // would give zeros.
      m.maskForBias = select.getCond();
      m.fillForBias = *fill * outer;
      m.form.push_back("mask with a finite fill, as a bias");
    }
    m.locs.push_back(select.getLoc());
    x = select.getA();
  } else if (auto add = dyn_cast_or_null<AddOp>(masking)) {
    Value scores = add.getLhs(), bias = add.getRhs();
    if (!isScores(scores))
      std::swap(scores, bias);
    if (!isScores(scores))
      return why = "neither side of the add is the scores", std::nullopt;
    if (!single(x, "the biased scores"))
      return std::nullopt;
    if (scores.getType() != x.getType())
      return why = "the bias broadcasts the scores to a larger shape", std::nullopt;
    auto biasSelect = bias.getDefiningOp<SelectOp>();
    std::optional<double> zero = biasSelect ? splatValue(biasSelect.getA()) : std::nullopt;
    std::optional<double> fill = biasSelect ? splatValue(biasSelect.getB()) : std::nullopt;
    if (biasSelect && zero == 0.0 && fill && vanishes(*fill) && isCausalMask(biasSelect.getCond())) {
      // s + (causal ? 0 : -1e9): the causal attribute, no bias to read.
      m.causal = true;
      m.form.push_back("causal (as an additive mask)");
      if (bias.hasOneUse())
        m.locs.push_back(biasSelect.getLoc());
    } else {
      m.bias = bias;
      m.biasFactor = outer;
      m.form.push_back("additive bias");
    }
    m.locs.push_back(add.getLoc());
    x = scores;
  }
  m.scale = outer;
  if (std::optional<Scaled> s = peelScale(x)) {
    if (!single(x, "the scaled scores"))
      return std::nullopt;
    m.scale *= s->factor, x = s->inner;
    m.locs.push_back(s->loc);
  }
  auto scores = x.getDefiningOp<MatmulOp>();
  if (!scores || scores.getTransposeA())
    return why = "the scores are not matmul(q, k) with k transposed", std::nullopt;
  if (!single(x, "the scores"))
    return std::nullopt;
  m.q = scores.getA();
  m.k = scores.getB();
  m.locs.push_back(scores.getLoc());
  if (!scores.getTransposeB()) {
    auto transpose = m.k.getDefiningOp<TransposeOp>();
    if (!transpose || !swapsLastTwo(transpose.getPerm()))
      return why = "the scores are not matmul(q, k) with k transposed", std::nullopt;
    m.k = transpose.getX();
    m.form.push_back("k transposed by nn.transpose");
  }
  // A scale on q or k (q * c before the product) scales the scores.
  for (auto [operand, what] : {std::pair{&m.q, "q"}, std::pair{&m.k, "k"}})
    if (std::optional<Scaled> s = peelScale(*operand); s && operand->hasOneUse()) {
      m.scale *= s->factor, *operand = s->inner;
      m.locs.push_back(s->loc);
      m.form.push_back(std::string("scale on ") + what);
    }
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
      std::string why = "the probabilities are not the left operand of a plain matmul";
      MatmulOp output = productOf(softmax);
      std::optional<Match> m = output ? match(softmax, output, why) : std::nullopt;
      if (!m) {
        kiln::explain(explain, softmax.getLoc(), "softmax between matmuls not rewritten to nn.attention: " + why);
        continue;
      }
      bool weightsKept = !softmax->hasOneUse();
      OpBuilder b(output);
      Location loc = FusedLoc::get(&getContext(), m->locs);
      kiln::nn::NNBuilder nb(b, loc);
      Type element = cast<RankedTensorType>(m->q.getType()).getElementType();
      Value bias = m->bias;
      if (m->maskForBias)
        bias = nb.select(m->maskForBias, nb.scalar(0, element), nb.scalar(m->fillForBias, element));
      else if (bias && m->biasFactor != 1)
        bias = nb.mul(bias, nb.scalar(m->biasFactor, element));
      int64_t d = cast<RankedTensorType>(m->q.getType()).getShape().back();
      double defaultScale = d > 0 ? 1 / std::sqrt(double(d)) : 1.0;
      // The constant's own value (an f32 1/sqrt(D) is not the default,
      // which is computed in double).
      FloatAttr scale = m->scale == defaultScale ? FloatAttr() : b.getF64FloatAttr(m->scale);
      auto attention = b.create<AttentionOp>(loc, m->q, m->k, m->v, m->mask, bias,
                                             m->causal ? b.getUnitAttr() : UnitAttr(), scale);
      if (weightsKept)
        m->form.push_back("its weights are still computed for their other users");
      kiln::explain(explain, loc,
                    "rewrote softmax between matmuls to nn.attention" +
                        (m->form.empty() ? std::string() : " (" + llvm::join(m->form, ", ") + ")") + ": " +
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
