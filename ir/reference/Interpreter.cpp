//===- Interpreter.cpp - the reference interpreter of the nn dialect -----===//
//
// Deliberately naive: multi-indices and strides, no cleverness. Each op's
// semantics is one short case, found by the op's name.
//
//===----------------------------------------------------------------------===//
#include "ir/reference/Interpreter.h"
#include "ir/Dialect.h"

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

RefTensor constant(ElementsAttr attr) {
  RefTensor r;
  auto type = cast<RankedTensorType>(attr.getType());
  r.shape.assign(type.getShape().begin(), type.getShape().end());
  Type elem = type.getElementType();
  if (isa<FloatType>(elem))
    for (APFloat v : attr.getValues<APFloat>())
      r.data.push_back(v.convertToDouble());
  else if (elem.isInteger(1))
    for (APInt v : attr.getValues<APInt>())
      r.data.push_back(v.isZero() ? 0.0 : 1.0);
  else
    for (APInt v : attr.getValues<APInt>())
      r.data.push_back(double(v.getSExtValue()));
  return r;
}

} // namespace

FailureOr<std::vector<RefTensor>> interpret(func::FuncOp func, const std::vector<RefTensor> &args) {
  if (args.size() != func.getNumArguments())
    return func.emitError() << "reference interpreter: expected " << func.getNumArguments()
                            << " arguments, got " << args.size();
  llvm::DenseMap<Value, RefTensor> env;
  for (unsigned i = 0; i < args.size(); ++i) {
    if (args[i].shape != shapeOf(func.getArgument(i)) ||
        int64_t(args[i].data.size()) != count(args[i].shape))
      return func.emitError() << "reference interpreter: argument #" << i
                              << " has the wrong shape";
    env[func.getArgument(i)] = args[i];
  }
  std::vector<RefTensor> results;
  for (Operation &op : func.getBody().front()) {
    auto in = [&](unsigned i) -> const RefTensor & { return env[op.getOperand(i)]; };
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
            .Case([&](ConstantOp c) { return constant(c.getValue()); })
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
            .Default([&](Operation *) { return std::optional<RefTensor>(); });
    if (out) {
      env[op.getResult(0)] = std::move(*out);
    } else if (!isa<func::ReturnOp>(op)) {
      return op.emitError() << "reference interpreter: no semantics for '" << op.getName() << "'";
    }
  }
  return results;
}

} // namespace kiln::nn
