//===- Interpreter.cpp - the reference interpreter of the nn dialect -----===//
//
// Deliberately naive: multi-indices and strides, no cleverness. Each op's
// semantics is one short case, found by the op's name.
//
//===----------------------------------------------------------------------===//
#include "ir/reference/Interpreter.h"
#include "ir/ConstantValues.h"
#include "ir/Conv2dGeometry.h"
#include "ir/Dialect.h"
#include "ir/DropoutHash.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace kiln::nn {
namespace {

using Index = std::vector<int64_t>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t count(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<int64_t> shapeOf(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  return {t.getShape().begin(), t.getShape().end()};
}

/// Row-major linear index -> multi-index.
Index unflatten(int64_t linear, const std::vector<int64_t> &shape) {
  Index idx(shape.size());
  for (int64_t i = int64_t(shape.size()) - 1; i >= 0; --i) {
    idx[i] = shape[i] ? linear % shape[i] : 0;
    linear = shape[i] ? linear / shape[i] : 0;
  }
  return idx;
}

int64_t flatten(const Index &idx, const std::vector<int64_t> &shape) {
  int64_t linear = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    linear = linear * shape[i] + idx[i];
  return linear;
}

/// The element of `t` that output index `out` reads under NumPy broadcasting.
double broadcastRead(const RefTensor &t, const Index &out) {
  Index idx(t.shape.size());
  size_t offset = out.size() - t.shape.size();
  for (size_t i = 0; i < t.shape.size(); ++i)
    idx[i] = t.shape[i] == 1 ? 0 : out[offset + i];
  return t.data[flatten(idx, t.shape)];
}

RefTensor map1(const RefTensor &x, double (*f)(double)) {
  RefTensor r{x.shape, x.data};
  for (double &v : r.data)
    v = f(v);
  return r;
}

template <typename F>
RefTensor map2(const RefTensor &a, const RefTensor &b, const std::vector<int64_t> &shape, F f) {
  RefTensor r{shape, std::vector<double>(count(shape))};
  for (int64_t i = 0; i < int64_t(r.data.size()); ++i) {
    Index idx = unflatten(i, shape);
    r.data[i] = f(broadcastRead(a, idx), broadcastRead(b, idx));
  }
  return r;
}

double nanMax(double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b); }
double nanMin(double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b); }

std::vector<int64_t> normalizedAxes(ArrayRef<int64_t> axes, int64_t rank) {
  std::vector<int64_t> out;
  for (int64_t a : axes)
    out.push_back(a < 0 ? a + rank : a);
  return out;
}

/// Reduces x over `axes` with `combine`, starting at `init`; the result has
/// `outShape` (with or without kept dims: same element order either way).
template <typename F>
RefTensor reduce(const RefTensor &x, const std::vector<int64_t> &axes,
                 const std::vector<int64_t> &outShape, double init, F combine) {
  std::vector<int64_t> keptShape;
  for (size_t i = 0; i < x.shape.size(); ++i)
    keptShape.push_back(llvm::is_contained(axes, int64_t(i)) ? 1 : x.shape[i]);
  RefTensor r{outShape, std::vector<double>(count(outShape), init)};
  for (int64_t i = 0; i < int64_t(x.data.size()); ++i) {
    Index idx = unflatten(i, x.shape);
    for (int64_t a : axes)
      idx[a] = 0;
    double &acc = r.data[flatten(idx, keptShape)];
    acc = combine(acc, x.data[i]);
  }
  return r;
}

RefTensor matmul(const RefTensor &a, const RefTensor &b, bool ta, bool tb,
                 const std::vector<int64_t> &outShape) {
  size_t ra = a.shape.size(), rb = b.shape.size(), ro = outShape.size();
  int64_t m = outShape[ro - 2], n = outShape[ro - 1];
  int64_t k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  RefTensor r{outShape, std::vector<double>(count(outShape))};
  for (int64_t i = 0; i < int64_t(r.data.size()); ++i) {
    Index out = unflatten(i, outShape);
    int64_t row = out[ro - 2], col = out[ro - 1];
    // Batch indices of each operand, broadcast from the back.
    Index ia(ra), ib(rb);
    for (size_t d = 0; d + 2 < ra; ++d)
      ia[d] = a.shape[d] == 1 ? 0 : out[ro - ra + d];
    for (size_t d = 0; d + 2 < rb; ++d)
      ib[d] = b.shape[d] == 1 ? 0 : out[ro - rb + d];
    double sum = 0;
    for (int64_t p = 0; p < k; ++p) {
      ia[ra - 2] = ta ? p : row;
      ia[ra - 1] = ta ? row : p;
      ib[rb - 2] = tb ? col : p;
      ib[rb - 1] = tb ? p : col;
      sum += a.data[flatten(ia, a.shape)] * b.data[flatten(ib, b.shape)];
    }
    r.data[i] = sum;
  }
  (void)m;
  (void)n;
  return r;
}

/// What nn.attention and nn.attention_backward attend with.
struct Attention {
  const RefTensor &q, &k, &v;
  const RefTensor *mask, *bias;
  bool causal;
  double scale;
  int64_t rank() const { return int64_t(q.shape.size()); }
  int64_t lq() const { return q.shape[rank() - 2]; }
  int64_t d() const { return q.shape[rank() - 1]; }
  int64_t lk() const { return k.shape[rank() - 2]; }
  int64_t dv() const { return v.shape[rank() - 1]; }
  int64_t batches() const { return count(std::vector<int64_t>(q.shape.begin(), q.shape.end() - 2)); }

  /// The probabilities of query i of batch b over the keys: the softmax of
  /// the scores of the keys that take part (mask, causal, not -inf), 0 for
  /// the others; all 0 when none takes part.
  void probabilities(int64_t b, int64_t i, std::vector<double> &p) const {
    std::vector<int64_t> scoreShape(q.shape.begin(), q.shape.end() - 1);
    scoreShape.push_back(lk());
    p.assign(lk(), 0.0);
    std::vector<bool> takesPart(lk());
    double top = -INFINITY;
    for (int64_t j = 0; j < lk(); ++j) {
      Index at = unflatten((b * lq() + i) * lk() + j, scoreShape);
      double s = 0;
      for (int64_t c = 0; c < d(); ++c)
        s += q.data[(b * lq() + i) * d() + c] * k.data[(b * lk() + j) * d() + c];
      s = s * scale + (bias ? broadcastRead(*bias, at) : 0.0);
      takesPart[j] = (!mask || broadcastRead(*mask, at) != 0) && (!causal || j <= i + (lk() - lq())) &&
                     s != -INFINITY;
      p[j] = s;
      if (takesPart[j])
        top = std::max(top, s);
    }
    double sum = 0;
    for (int64_t j = 0; j < lk(); ++j) {
      p[j] = takesPart[j] ? std::exp(p[j] - top) : 0.0;
      sum += p[j];
    }
    for (double &x : p)
      x = sum == 0 ? 0.0 : x / sum; // no key takes part: zeros
  }
};

/// nn.attention, query by query: the probabilities times v.
/// Every (output position, kernel tap) pair of a 2-D convolution whose tap
/// reads inside the input (not the padding): calls
/// f(n, o, i, j, c_in, kh, kw, c_w, h, w) with x[n, c_in, h, w] read through
/// w[o, c_w, kh, kw] into out[n, o, i, j]. The three conv2d ops are sums
/// over this one set.
template <typename F>
void forEachConv2dTap(const Conv2dGeometry &g, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                      int64_t kw, int64_t ho, int64_t wo, F f) {
  int64_t cg = c / g.groups, og = o / g.groups;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j)
          for (int64_t cw = 0; cw < cg; ++cw)
            for (int64_t y = 0; y < kh; ++y)
              for (int64_t x = 0; x < kw; ++x) {
                int64_t hi = i * g.strideH + y * g.dilationH - g.padTop;
                int64_t wi = j * g.strideW + x * g.dilationW - g.padLeft;
                if (hi >= 0 && hi < h && wi >= 0 && wi < w)
                  f(b, oc, i, j, (oc / og) * cg + cw, y, x, cw, hi, wi);
              }
}

/// Every (output position, window tap) of a 2-D pooling whose tap lies in
/// the input: f(n, c, i, j, h, w) for x[n, c, h, w] in out[n, c, i, j]'s window,
/// taps in row-major order.
template <typename F>
void forEachPool2dTap(const Conv2dGeometry &g, ArrayRef<int64_t> kernel, const std::vector<int64_t> &x,
                      int64_t ho, int64_t wo, F f) {
  for (int64_t n = 0; n < x[0]; ++n)
    for (int64_t c = 0; c < x[1]; ++c)
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j)
          for (int64_t y = 0; y < kernel[0]; ++y)
            for (int64_t z = 0; z < kernel[1]; ++z) {
              int64_t h = i * g.strideH + y - g.padTop, w = j * g.strideW + z - g.padLeft;
              if (h >= 0 && h < x[2] && w >= 0 && w < x[3])
                f(n, c, i, j, h, w);
            }
}

/// What each window of an average pooling divides by.
double poolCount(const Conv2dGeometry &g, ArrayRef<int64_t> kernel, const std::vector<int64_t> &x, int64_t i,
                 int64_t j, bool includePad) {
  if (includePad)
    return double(kernel[0] * kernel[1]);
  auto inside = [](int64_t first, int64_t k, int64_t size) {
    return std::min(first + k, size) - std::max<int64_t>(first, 0);
  };
  return double(inside(i * g.strideH - g.padTop, kernel[0], x[2]) * inside(j * g.strideW - g.padLeft, kernel[1], x[3]));
}

RefTensor attention(const Attention &a) {
  std::vector<int64_t> outShape(a.q.shape.begin(), a.q.shape.end() - 1);
  outShape.push_back(a.dv());
  RefTensor r{outShape, std::vector<double>(count(outShape), 0.0)};
  std::vector<double> p;
  for (int64_t b = 0; b < a.batches(); ++b)
    for (int64_t i = 0; i < a.lq(); ++i) {
      a.probabilities(b, i, p);
      for (int64_t j = 0; j < a.lk(); ++j)
        for (int64_t c = 0; c < a.dv(); ++c)
          r.data[(b * a.lq() + i) * a.dv() + c] += p[j] * a.v.data[(b * a.lk() + j) * a.dv() + c];
    }
  return r;
}

/// nn.attention_backward from its definition, query by query: with P the
/// probabilities and dP = g v^T, dS = P (dP - sum(P dP)); dq = scale dS k,
/// dk = scale dS^T q, dv = P^T g.
std::vector<RefTensor> attentionBackward(const Attention &a, const RefTensor &g) {
  std::vector<RefTensor> r = {{a.q.shape, std::vector<double>(a.q.data.size(), 0.0)},
                              {a.k.shape, std::vector<double>(a.k.data.size(), 0.0)},
                              {a.v.shape, std::vector<double>(a.v.data.size(), 0.0)}};
  std::vector<double> p, dp(a.lk());
  for (int64_t b = 0; b < a.batches(); ++b)
    for (int64_t i = 0; i < a.lq(); ++i) {
      a.probabilities(b, i, p);
      const double *gi = &g.data[(b * a.lq() + i) * a.dv()];
      double dot = 0;
      for (int64_t j = 0; j < a.lk(); ++j) {
        dp[j] = 0;
        for (int64_t c = 0; c < a.dv(); ++c)
          dp[j] += gi[c] * a.v.data[(b * a.lk() + j) * a.dv() + c];
        dot += p[j] * dp[j];
      }
      for (int64_t j = 0; j < a.lk(); ++j) {
        double ds = p[j] * (dp[j] - dot) * a.scale;
        for (int64_t c = 0; c < a.d(); ++c) {
          r[0].data[(b * a.lq() + i) * a.d() + c] += ds * a.k.data[(b * a.lk() + j) * a.d() + c];
          r[1].data[(b * a.lk() + j) * a.d() + c] += ds * a.q.data[(b * a.lq() + i) * a.d() + c];
        }
        for (int64_t c = 0; c < a.dv(); ++c)
          r[2].data[(b * a.lk() + j) * a.dv() + c] += p[j] * gi[c];
      }
    }
  return r;
}

RefTensor softmax(const RefTensor &x, int64_t axis) {
  RefTensor r = x;
  int64_t len = x.shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < x.shape.size(); ++d)
    inner *= x.shape[d];
  int64_t outer = count(x.shape) / std::max<int64_t>(len * inner, 1);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      auto at = [&](int64_t j) -> double & { return r.data[(o * len + j) * inner + in]; };
      double mx = -INFINITY;
      for (int64_t j = 0; j < len; ++j)
        mx = nanMax(mx, at(j));
      double sum = 0;
      for (int64_t j = 0; j < len; ++j)
        sum += (at(j) = std::exp(at(j) - mx));
      for (int64_t j = 0; j < len; ++j)
        at(j) /= sum;
    }
  return r;
}

RefTensor transpose(const RefTensor &x, const std::vector<int64_t> &perm,
                    const std::vector<int64_t> &outShape) {
  RefTensor r{outShape, std::vector<double>(x.data.size())};
  for (int64_t i = 0; i < int64_t(r.data.size()); ++i) {
    Index out = unflatten(i, outShape);
    Index in(x.shape.size());
    for (size_t d = 0; d < perm.size(); ++d)
      in[perm[d]] = out[d];
    r.data[i] = x.data[flatten(in, x.shape)];
  }
  return r;
}

/// Three-way broadcast for select.
RefTensor select3(const RefTensor &c, const RefTensor &a, const RefTensor &b,
                  const std::vector<int64_t> &shape) {
  RefTensor r{shape, std::vector<double>(count(shape))};
  for (int64_t i = 0; i < int64_t(r.data.size()); ++i) {
    Index idx = unflatten(i, shape);
    r.data[i] = broadcastRead(c, idx) != 0 ? broadcastRead(a, idx) : broadcastRead(b, idx);
  }
  return r;
}

/// The value `v` converted to element type `t`, as the compiled code stores it.
double castTo(double v, Type t) {
  if (t.isInteger(1))
    return v != 0 ? 1.0 : 0.0;
  if (t.isInteger(32))
    return double(int32_t(int64_t(std::trunc(v))));
  if (t.isInteger(64))
    return double(int64_t(std::trunc(v)));
  if (t.isF32())
    return double(float(v));
  return v;
}

/// Calls f(outer, inner) for every line along `axis`; element j of a line is
/// at (outer * len + j) * inner + innerIndex.
struct Lines {
  int64_t outer = 1, len = 1, inner = 1;
  Lines(const std::vector<int64_t> &shape, int64_t axis) {
    for (int64_t d = 0; d < int64_t(shape.size()); ++d)
      (d < axis ? outer : d == axis ? len : inner) *= shape[d];
  }
  int64_t at(int64_t o, int64_t i, int64_t j) const { return (o * len + j) * inner + i; }
};

RefTensor logSoftmax(const RefTensor &x, int64_t axis) {
  RefTensor r = x;
  Lines lines(x.shape, axis);
  for (int64_t o = 0; o < lines.outer; ++o)
    for (int64_t i = 0; i < lines.inner; ++i) {
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < lines.len; ++j)
        mx = nanMax(mx, x.data[lines.at(o, i, j)]);
      for (int64_t j = 0; j < lines.len; ++j)
        sum += std::exp(x.data[lines.at(o, i, j)] - mx);
      for (int64_t j = 0; j < lines.len; ++j)
        r.data[lines.at(o, i, j)] = x.data[lines.at(o, i, j)] - mx - std::log(sum);
    }
  return r;
}

/// Layer norm over the trailing `k` axes: rows of `n` consecutive elements.
RefTensor layerNorm(const RefTensor &x, const RefTensor *gamma, const RefTensor *beta, int64_t k,
                    double eps) {
  int64_t n = 1;
  for (int64_t d = int64_t(x.shape.size()) - k; d < int64_t(x.shape.size()); ++d)
    n *= x.shape[d];
  RefTensor r = x;
  for (int64_t row = 0; n && row < int64_t(x.data.size()) / n; ++row) {
    const double *v = &x.data[row * n];
    double mean = 0, var = 0;
    for (int64_t j = 0; j < n; ++j)
      mean += v[j];
    mean /= double(n);
    for (int64_t j = 0; j < n; ++j)
      var += (v[j] - mean) * (v[j] - mean);
    var /= double(n);
    for (int64_t j = 0; j < n; ++j) {
      double y = (v[j] - mean) / std::sqrt(var + eps);
      if (gamma)
        y *= gamma->data[j];
      if (beta)
        y += beta->data[j];
      r.data[row * n + j] = y;
    }
  }
  return r;
}

/// Batch normalization, channel by channel (axis 1 of x): the statistics
/// (the batch's in training, else the stored ones), the normalised values
/// and the running statistics, as nn.batch_norm defines them.
std::vector<RefTensor> batchNorm(const RefTensor &x, const RefTensor &gamma, const RefTensor &beta,
                                 const RefTensor &mean, const RefTensor &variance, double eps, double momentum,
                                 bool training) {
  int64_t n = x.shape[0], c = x.shape[1], inner = 1;
  for (size_t d = 2; d < x.shape.size(); ++d)
    inner *= x.shape[d];
  auto at = [&](int64_t i, int64_t ch, int64_t k) { return (i * c + ch) * inner + k; };
  RefTensor y = x, newMean = mean, newVariance = variance;
  for (int64_t ch = 0; ch < c; ++ch) {
    double m = mean.data[ch], v = variance.data[ch];
    int64_t count = n * inner;
    if (training) {
      double sum = 0, squares = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < inner; ++k)
          sum += x.data[at(i, ch, k)];
      m = count ? sum / double(count) : 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < inner; ++k)
          squares += (x.data[at(i, ch, k)] - m) * (x.data[at(i, ch, k)] - m);
      v = count ? squares / double(count) : 0;
      double unbiased = count > 1 ? squares / double(count - 1) : v;
      newMean.data[ch] = (1 - momentum) * mean.data[ch] + momentum * m;
      newVariance.data[ch] = (1 - momentum) * variance.data[ch] + momentum * unbiased;
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < inner; ++k)
        y.data[at(i, ch, k)] = (x.data[at(i, ch, k)] - m) / std::sqrt(v + eps) * gamma.data[ch] + beta.data[ch];
  }
  return {y, newMean, newVariance};
}

/// Python's slice.indices for one axis, written out independently.
std::vector<int64_t> sliceIndices(int64_t dim, int64_t start, int64_t stop, int64_t step) {
  auto fix = [&](int64_t v) {
    if (v < 0)
      v += dim;
    if (step > 0)
      return std::min(std::max<int64_t>(v, 0), dim);
    return std::min(std::max<int64_t>(v, -1), dim - 1);
  };
  std::vector<int64_t> out;
  for (int64_t i = fix(start); step > 0 ? i < fix(stop) : i > fix(stop); i += step)
    out.push_back(i);
  return out;
}

std::optional<RefTensor> constant(ConstantOp op) {
  auto type = cast<RankedTensorType>(op.getType());
  auto values = constantValues(op.getValue());
  if (failed(values)) {
    op.emitError() << "reference interpreter: cannot read the constant's values";
    return std::nullopt;
  }
  return RefTensor{std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
                   std::move(*values)};
}

} // namespace

namespace {

FailureOr<std::vector<RefTensor>> runBlock(Block &block, std::vector<RefTensor> args, OpObserver observe,
                                           bool observeScanBodies);

/// nn.scan: the body once per step, carries threaded through, step outputs
/// stacked. Its ops are shown to the observer only when asked (they run T
/// times; the scan's results are always shown).
FailureOr<std::vector<RefTensor>> scan(ScanOp op, const std::vector<const RefTensor *> &operands,
                                       OpObserver observe, bool observeScanBodies) {
  size_t carries = op.getInits().size(), xs = op.getXs().size();
  int64_t length = op.getLength();
  std::vector<RefTensor> state;
  for (size_t i = 0; i < carries; ++i)
    state.push_back(*operands[i]);
  std::vector<RefTensor> stacked;
  for (unsigned r = carries; r < op.getNumResults(); ++r)
    stacked.push_back({shapeOf(op.getResult(r)), std::vector<double>(count(shapeOf(op.getResult(r))))});
  for (int64_t step = 0; step < length; ++step) {
    int64_t t = op.getReverse() ? length - 1 - step : step;
    std::vector<RefTensor> args = state;
    for (size_t j = 0; j < xs; ++j) {
      const RefTensor &x = *operands[carries + j];
      std::vector<int64_t> shape(x.shape.begin() + 1, x.shape.end());
      int64_t n = count(shape);
      args.push_back({shape, std::vector<double>(x.data.begin() + t * n, x.data.begin() + (t + 1) * n)});
    }
    for (size_t j = carries + xs; j < operands.size(); ++j)
      args.push_back(*operands[j]);
    FailureOr<std::vector<RefTensor>> yielded = runBlock(op.getBody().front(), std::move(args),
                                                         observeScanBodies ? observe : nullptr, observeScanBodies);
    if (failed(yielded))
      return failure();
    for (size_t i = 0; i < carries; ++i)
      state[i] = std::move((*yielded)[i]);
    for (size_t k = 0; k < stacked.size(); ++k) {
      const RefTensor &y = (*yielded)[carries + k];
      std::copy(y.data.begin(), y.data.end(), stacked[k].data.begin() + t * int64_t(y.data.size()));
    }
  }
  for (RefTensor &s : stacked)
    state.push_back(std::move(s));
  return state;
}

/// Runs `block` on `args` (one per block argument) to its terminator
/// (func.return or nn.yield), whose operands are the results.
FailureOr<std::vector<RefTensor>> runBlock(Block &block, std::vector<RefTensor> args, OpObserver observe,
                                           bool observeScanBodies) {
  llvm::DenseMap<Value, RefTensor> env;
  for (unsigned i = 0; i < args.size(); ++i)
    env[block.getArgument(i)] = std::move(args[i]);
  std::vector<RefTensor> results;
  for (Operation &op : block) {
    auto in = [&](unsigned i) -> const RefTensor & { return env[op.getOperand(i)]; };
    auto observed = [&] {
      if (!observe || op.getNumResults() == 0)
        return;
      SmallVector<const RefTensor *> operands;
      for (Value v : op.getOperands())
        operands.push_back(&env[v]);
      SmallVector<RefTensor *> values;
      for (Value r : op.getResults())
        values.push_back(&env[r]);
      observe(&op, operands, values);
    };
    if (auto a = dyn_cast<AttentionBackwardOp>(op)) { // three results
      unsigned next = 3;
      const RefTensor *mask = a.getMask() ? &in(next++) : nullptr;
      const RefTensor *bias = a.getBias() ? &in(next++) : nullptr;
      std::vector<RefTensor> grads =
          attentionBackward({in(0), in(1), in(2), mask, bias, a.getCausal(), a.getScaleValue()}, in(next + 1));
      for (unsigned r = 0; r < 3; ++r)
        env[op.getResult(r)] = std::move(grads[r]);
      observed();
      continue;
    }
    if (auto loop = dyn_cast<ScanOp>(op)) {
      std::vector<const RefTensor *> operands;
      for (Value v : op.getOperands())
        operands.push_back(&env[v]);
      FailureOr<std::vector<RefTensor>> r = scan(loop, operands, observe, observeScanBodies);
      if (failed(r))
        return failure();
      for (unsigned k = 0; k < op.getNumResults(); ++k)
        env[op.getResult(k)] = std::move((*r)[k]);
      observed();
      continue;
    }
    if (isa<YieldOp>(op)) {
      for (Value v : op.getOperands())
        results.push_back(env[v]);
      continue;
    }
    if (auto bn = dyn_cast<BatchNormOp>(op)) { // three results
      std::vector<RefTensor> r = batchNorm(in(0), in(1), in(2), in(3), in(4), bn.getEps().convertToDouble(),
                                           bn.getMomentum().convertToDouble(), bn.getTraining());
      for (unsigned k = 0; k < 3; ++k)
        env[op.getResult(k)] = std::move(r[k]);
      observed();
      continue;
    }
    std::vector<int64_t> outShape = op.getNumResults() ? shapeOf(op.getResult(0)) : std::vector<int64_t>{};
    std::optional<RefTensor> out =
        llvm::TypeSwitch<Operation *, std::optional<RefTensor>>(&op)
            .Case([&](NegOp) { return map1(in(0), [](double x) { return -x; }); })
            .Case([&](AbsOp) { return map1(in(0), [](double x) { return std::fabs(x); }); })
            .Case([&](ExpOp) { return map1(in(0), [](double x) { return std::exp(x); }); })
            .Case([&](LogOp) { return map1(in(0), [](double x) { return std::log(x); }); })
            .Case([&](SqrtOp) { return map1(in(0), [](double x) { return std::sqrt(x); }); })
            .Case([&](RsqrtOp) { return map1(in(0), [](double x) { return 1 / std::sqrt(x); }); })
            .Case([&](TanhOp) { return map1(in(0), [](double x) { return std::tanh(x); }); })
            .Case([&](ErfOp) { return map1(in(0), [](double x) { return std::erf(x); }); })
            .Case([&](StopGradientOp) { return in(0); })
            .Case([&](SliceScatterOp s) {
              const RefTensor &src = in(0);
              std::vector<std::vector<int64_t>> picks;
              for (size_t d = 0; d < outShape.size(); ++d)
                picks.push_back(sliceIndices(outShape[d], s.getStarts()[d], s.getStops()[d],
                                             s.getSteps()[d]));
              RefTensor r{outShape, std::vector<double>(count(outShape), 0.0)};
              for (int64_t i = 0; i < int64_t(src.data.size()); ++i) {
                Index at = unflatten(i, src.shape), dst(at.size());
                for (size_t d = 0; d < at.size(); ++d)
                  dst[d] = picks[d][at[d]];
                r.data[flatten(dst, outShape)] = src.data[i];
              }
              return r;
            })
            .Case([&](ScatterAddOp) {
              const RefTensor &updates = in(0), &idx = in(1);
              RefTensor r{outShape, std::vector<double>(count(outShape), 0.0)};
              int64_t rows = outShape[0], rowSize = rows ? count(outShape) / rows : 0;
              for (size_t p = 0; p < idx.data.size(); ++p) {
                int64_t row = std::clamp<int64_t>(int64_t(idx.data[p]), 0, rows - 1);
                for (int64_t j = 0; j < rowSize; ++j)
                  r.data[row * rowSize + j] += updates.data[p * rowSize + j];
              }
              return r;
            })
            .Case([&](SigmoidOp) {
              return map1(in(0), [](double x) { return 1 / (1 + std::exp(-x)); });
            })
            .Case([&](ReluOp) {
              return map1(in(0), [](double x) { return std::isnan(x) ? x : x > 0 ? x : 0.0; });
            })
            .Case([&](AddOp) { return map2(in(0), in(1), outShape, std::plus<double>()); })
            .Case([&](SubOp) { return map2(in(0), in(1), outShape, std::minus<double>()); })
            .Case([&](MulOp) { return map2(in(0), in(1), outShape, std::multiplies<double>()); })
            .Case([&](DivOp) { return map2(in(0), in(1), outShape, std::divides<double>()); })
            .Case([&](MaxOp) { return map2(in(0), in(1), outShape, nanMax); })
            .Case([&](MinOp) { return map2(in(0), in(1), outShape, nanMin); })
            .Case([&](MatmulOp m) {
              return matmul(in(0), in(1), m.getTransposeA(), m.getTransposeB(), outShape);
            })
            .Case([&](ReduceSumOp r) {
              return reduce(in(0), normalizedAxes(r.getAxes(), in(0).shape.size()), outShape, 0.0,
                            std::plus<double>());
            })
            .Case([&](ReduceMeanOp r) {
              auto axes = normalizedAxes(r.getAxes(), in(0).shape.size());
              RefTensor s = reduce(in(0), axes, outShape, 0.0, std::plus<double>());
              int64_t n = 1;
              for (int64_t a : axes)
                n *= in(0).shape[a];
              for (double &v : s.data)
                v /= double(n);
              return s;
            })
            .Case([&](ReduceMaxOp r) {
              return reduce(in(0), normalizedAxes(r.getAxes(), in(0).shape.size()), outShape,
                            -INFINITY, nanMax);
            })
            .Case([&](SoftmaxOp s) {
              int64_t rank = in(0).shape.size();
              return softmax(in(0), s.getAxisAttr().getInt() < 0 ? s.getAxisAttr().getInt() + rank : s.getAxisAttr().getInt());
            })
            .Case([&](ReshapeOp) { return RefTensor{outShape, in(0).data}; })
            .Case([&](TransposeOp t) {
              return transpose(in(0), normalizedAxes(t.getPerm(), in(0).shape.size()), outShape);
            })
            .Case([&](BroadcastToOp) {
              return map2(in(0), RefTensor{{}, {0.0}}, outShape,
                          [](double x, double) { return x; });
            })
            .Case([&](ConstantOp c) { return constant(c); })
            .Case([&](PowOp) {
              return map2(in(0), in(1), outShape, [](double a, double b) { return std::pow(a, b); });
            })
            .Case([&](EqOp) { return map2(in(0), in(1), outShape, [](double a, double b) { return double(a == b); }); })
            .Case([&](NeOp) { return map2(in(0), in(1), outShape, [](double a, double b) { return double(a != b); }); })
            .Case([&](LtOp) { return map2(in(0), in(1), outShape, [](double a, double b) { return double(a < b); }); })
            .Case([&](LeOp) { return map2(in(0), in(1), outShape, [](double a, double b) { return double(a <= b); }); })
            .Case([&](GtOp) { return map2(in(0), in(1), outShape, [](double a, double b) { return double(a > b); }); })
            .Case([&](GeOp) { return map2(in(0), in(1), outShape, [](double a, double b) { return double(a >= b); }); })
            .Case([&](SelectOp) { return select3(in(0), in(1), in(2), outShape); })
            .Case([&](CastOp c) {
              RefTensor r = in(0);
              for (double &v : r.data)
                v = castTo(v, c.getType().getElementType());
              return r;
            })
            .Case([&](LogSoftmaxOp s) {
              int64_t rank = in(0).shape.size();
              int64_t axis = s.getAxisAttr().getInt();
              return logSoftmax(in(0), axis < 0 ? axis + rank : axis);
            })
            .Case([&](AttentionOp a) {
              unsigned next = 3;
              const RefTensor *mask = a.getMask() ? &in(next++) : nullptr;
              const RefTensor *bias = a.getBias() ? &in(next++) : nullptr;
              return attention({in(0), in(1), in(2), mask, bias, a.getCausal(), a.getScaleValue()});
            })
            .Case([&](Conv2dOp op) {
              const RefTensor &x = in(0), &w = in(1);
              RefTensor r{outShape, std::vector<double>(count(outShape), 0.0)};
              forEachConv2dTap(Conv2dGeometry::of(op), x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0],
                               w.shape[2], w.shape[3], outShape[2], outShape[3],
                               [&](int64_t b, int64_t o, int64_t i, int64_t j, int64_t c, int64_t y, int64_t z,
                                   int64_t cw, int64_t h, int64_t wi) {
                                 r.data[flatten({b, o, i, j}, outShape)] +=
                                     x.data[flatten({b, c, h, wi}, x.shape)] *
                                     w.data[flatten({o, cw, y, z}, w.shape)];
                               });
              return r;
            })
            .Case([&](Conv2dBackwardInputOp op) {
              const RefTensor &g = in(0), &w = in(1);
              RefTensor r{outShape, std::vector<double>(count(outShape), 0.0)};
              forEachConv2dTap(Conv2dGeometry::of(op), outShape[0], outShape[1], outShape[2], outShape[3],
                               w.shape[0], w.shape[2], w.shape[3], g.shape[2], g.shape[3],
                               [&](int64_t b, int64_t o, int64_t i, int64_t j, int64_t c, int64_t y, int64_t z,
                                   int64_t cw, int64_t h, int64_t wi) {
                                 r.data[flatten({b, c, h, wi}, outShape)] +=
                                     g.data[flatten({b, o, i, j}, g.shape)] *
                                     w.data[flatten({o, cw, y, z}, w.shape)];
                               });
              return r;
            })
            .Case([&](Conv2dBackwardWeightOp op) {
              const RefTensor &x = in(0), &g = in(1);
              RefTensor r{outShape, std::vector<double>(count(outShape), 0.0)};
              forEachConv2dTap(Conv2dGeometry::of(op), x.shape[0], x.shape[1], x.shape[2], x.shape[3], g.shape[1],
                               outShape[2], outShape[3], g.shape[2], g.shape[3],
                               [&](int64_t b, int64_t o, int64_t i, int64_t j, int64_t c, int64_t y, int64_t z,
                                   int64_t cw, int64_t h, int64_t wi) {
                                 r.data[flatten({o, cw, y, z}, outShape)] +=
                                     g.data[flatten({b, o, i, j}, g.shape)] *
                                     x.data[flatten({b, c, h, wi}, x.shape)];
                               });
              return r;
            })
            .Case([&](MaxPool2dOp op) {
              const RefTensor &x = in(0);
              RefTensor r{outShape, std::vector<double>(count(outShape), -INFINITY)};
              forEachPool2dTap(Conv2dGeometry::of(op.getStrides(), op.getPadding(), {1, 1}, 1), op.getKernel(),
                               x.shape, outShape[2], outShape[3],
                               [&](int64_t n, int64_t c, int64_t i, int64_t j, int64_t h, int64_t w) {
                                 double &o = r.data[flatten({n, c, i, j}, outShape)];
                                 o = nanMax(o, x.data[flatten({n, c, h, w}, x.shape)]);
                               });
              return r;
            })
            .Case([&](AvgPool2dOp op) {
              const RefTensor &x = in(0);
              Conv2dGeometry g = Conv2dGeometry::of(op.getStrides(), op.getPadding(), {1, 1}, 1);
              RefTensor r{outShape, std::vector<double>(count(outShape), 0.0)};
              forEachPool2dTap(g, op.getKernel(), x.shape, outShape[2], outShape[3],
                               [&](int64_t n, int64_t c, int64_t i, int64_t j, int64_t h, int64_t w) {
                                 r.data[flatten({n, c, i, j}, outShape)] +=
                                     x.data[flatten({n, c, h, w}, x.shape)] /
                                     poolCount(g, op.getKernel(), x.shape, i, j, op.getCountIncludePad());
                               });
              return r;
            })
            .Case([&](MaxPool2dBackwardOp op) {
              const RefTensor &x = in(0), &grad = in(1);
              RefTensor r{outShape, std::vector<double>(count(outShape), 0.0)};
              // Per window, the first tap holding its maximum.
              std::vector<double> best(grad.data.size(), -INFINITY);
              std::vector<int64_t> at(grad.data.size(), -1);
              forEachPool2dTap(Conv2dGeometry::of(op.getStrides(), op.getPadding(), {1, 1}, 1), op.getKernel(),
                               x.shape, grad.shape[2], grad.shape[3],
                               [&](int64_t n, int64_t c, int64_t i, int64_t j, int64_t h, int64_t w) {
                                 int64_t o = flatten({n, c, i, j}, grad.shape), src = flatten({n, c, h, w}, x.shape);
                                 if (at[o] < 0 || x.data[src] > best[o])
                                   best[o] = x.data[src], at[o] = src;
                               });
              for (size_t o = 0; o < at.size(); ++o)
                if (at[o] >= 0)
                  r.data[at[o]] += grad.data[o];
              return r;
            })
            .Case([&](AvgPool2dBackwardOp op) {
              const RefTensor &grad = in(0);
              Conv2dGeometry g = Conv2dGeometry::of(op.getStrides(), op.getPadding(), {1, 1}, 1);
              RefTensor r{outShape, std::vector<double>(count(outShape), 0.0)};
              forEachPool2dTap(g, op.getKernel(), outShape, grad.shape[2], grad.shape[3],
                               [&](int64_t n, int64_t c, int64_t i, int64_t j, int64_t h, int64_t w) {
                                 r.data[flatten({n, c, h, w}, outShape)] +=
                                     grad.data[flatten({n, c, i, j}, grad.shape)] /
                                     poolCount(g, op.getKernel(), outShape, i, j, op.getCountIncludePad());
                               });
              return r;
            })
            .Case([&](LayerNormOp l) {
              unsigned next = 1;
              const RefTensor *gamma = l.getGamma() ? &in(next++) : nullptr;
              const RefTensor *beta = l.getBeta() ? &in(next++) : nullptr;
              return layerNorm(in(0), gamma, beta, int64_t(l.getAxes().size()),
                               l.getEps().convertToDouble());
            })
            .Case([&](DropoutOp d) {
              const RefTensor &x = in(0);
              uint64_t step = uint64_t(int64_t(in(1).data[0]));
              uint64_t seed = uint64_t(d.getSeed()), cut = dropout::threshold(d.getRate().convertToDouble());
              double scale = 1 / (1 - d.getRate().convertToDouble());
              RefTensor r{x.shape, x.data};
              for (size_t i = 0; i < r.data.size(); ++i)
                r.data[i] = dropout::draw(seed, step, i) >= cut ? r.data[i] * scale : 0.0;
              return r;
            })
            .Case([&](GeluOp g) {
              if (g.getApproximate() == "tanh")
                return map1(in(0), [](double x) {
                  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
                });
              return map1(in(0), [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); });
            })
            .Case([&](GatherOp) -> std::optional<RefTensor> {
              const RefTensor &table = in(0), &idx = in(1);
              int64_t rows = table.shape[0], rowSize = count(table.shape) / std::max<int64_t>(rows, 1);
              RefTensor r{outShape, {}};
              for (double v : idx.data) {
                if (v < 0 || v >= double(rows)) {
                  op.emitError() << "reference interpreter: index " << int64_t(v)
                                 << " is out of range [0, " << rows << ")";
                  return std::nullopt;
                }
                for (int64_t j = 0; j < rowSize; ++j)
                  r.data.push_back(table.data[int64_t(v) * rowSize + j]);
              }
              return r;
            })
            .Case([&](ConcatOp c) {
              int64_t rank = outShape.size();
              int64_t axis = c.getAxisAttr().getInt() < 0 ? c.getAxisAttr().getInt() + rank
                                                          : c.getAxisAttr().getInt();
              RefTensor r{outShape, std::vector<double>(count(outShape))};
              int64_t offset = 0;
              for (unsigned k = 0; k < op.getNumOperands(); ++k) {
                const RefTensor &t = in(k);
                for (int64_t i = 0; i < int64_t(t.data.size()); ++i) {
                  Index idx = unflatten(i, t.shape);
                  idx[axis] += offset;
                  r.data[flatten(idx, outShape)] = t.data[i];
                }
                offset += t.shape[axis];
              }
              return r;
            })
            .Case([&](SliceOp s) {
              const RefTensor &x = in(0);
              std::vector<std::vector<int64_t>> picks;
              for (size_t d = 0; d < x.shape.size(); ++d)
                picks.push_back(sliceIndices(x.shape[d], s.getStarts()[d], s.getStops()[d],
                                             s.getSteps()[d]));
              RefTensor r{outShape, std::vector<double>(count(outShape))};
              for (int64_t i = 0; i < int64_t(r.data.size()); ++i) {
                Index out = unflatten(i, outShape), src(out.size());
                for (size_t d = 0; d < out.size(); ++d)
                  src[d] = picks[d][out[d]];
                r.data[i] = x.data[flatten(src, x.shape)];
              }
              return r;
            })
            .Case([&](IotaOp io) {
              int64_t rank = outShape.size();
              int64_t axis = io.getAxisAttr().getInt() < 0 ? io.getAxisAttr().getInt() + rank
                                                           : io.getAxisAttr().getInt();
              RefTensor r{outShape, std::vector<double>(count(outShape))};
              for (int64_t i = 0; i < int64_t(r.data.size()); ++i)
                r.data[i] = double(unflatten(i, outShape)[axis]);
              return r;
            })
            .Case([&](CrossEntropyOp) -> std::optional<RefTensor> {
              const RefTensor &logits = in(0), &labels = in(1);
              int64_t classes = logits.shape.back();
              double total = 0;
              for (size_t p = 0; p < labels.data.size(); ++p) {
                double label = labels.data[p];
                if (label < 0 || label >= double(classes)) {
                  op.emitError() << "reference interpreter: label " << int64_t(label)
                                 << " is out of range [0, " << classes << ")";
                  return std::nullopt;
                }
                const double *row = &logits.data[p * classes];
                double mx = -INFINITY, sum = 0;
                for (int64_t c = 0; c < classes; ++c)
                  mx = std::max(mx, row[c]);
                for (int64_t c = 0; c < classes; ++c)
                  sum += std::exp(row[c] - mx);
                total += mx + std::log(sum) - row[int64_t(label)];
              }
              return RefTensor{{}, {total / double(labels.data.size())}};
            })
            .Case([&](L1LossOp) {
              double sum = 0;
              for (size_t i = 0; i < in(0).data.size(); ++i)
                sum += std::fabs(in(0).data[i] - in(1).data[i]);
              return RefTensor{{}, {sum / double(in(0).data.size())}};
            })
            .Case([&](MseLossOp) {
              double sum = 0;
              for (size_t i = 0; i < in(0).data.size(); ++i) {
                double d = in(0).data[i] - in(1).data[i];
                sum += d * d;
              }
              return RefTensor{{}, {sum / double(in(0).data.size())}};
            })
            .Case([&](func::ReturnOp ret) {
              for (Value v : ret.getOperands())
                results.push_back(env[v]);
              return std::optional<RefTensor>();
            })
            .Default([&](Operation *) {
              op.emitError() << "reference interpreter: no semantics for '" << op.getName() << "'";
              return std::optional<RefTensor>();
            });
    if (out) {
      env[op.getResult(0)] = std::move(*out);
      observed();
    } else if (!isa<func::ReturnOp>(op))
      return failure(); // the case emitted its error
  }
  return results;
}

} // namespace

FailureOr<std::vector<RefTensor>> interpret(func::FuncOp func, const std::vector<RefTensor> &args,
                                            OpObserver observe, bool observeScanBodies) {
  if (args.size() != func.getNumArguments())
    return func.emitError() << "reference interpreter: expected " << func.getNumArguments()
                            << " arguments, got " << args.size();
  for (unsigned i = 0; i < args.size(); ++i)
    if (args[i].shape != shapeOf(func.getArgument(i)) ||
        int64_t(args[i].data.size()) != count(args[i].shape))
      return func.emitError() << "reference interpreter: argument #" << i
                              << " has the wrong shape";
  return runBlock(func.getBody().front(), args, observe, observeScanBodies);
}

} // namespace kiln::nn
