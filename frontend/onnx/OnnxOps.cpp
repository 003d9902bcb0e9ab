//===- OnnxOps.cpp - ONNX ops as kiln ops, one converter per op ----------===//
//
// Each converter reads its node's attributes with ONNX's defaults for the
// opset the model declares (Node::opset) and builds kiln ops; where an
// attribute or input moved between opsets (Softmax's axis at 13, Squeeze's
// axes at 13, the reductions' axes at 13/18, Slice's bounds at 10, Clip's
// bounds at 11) both forms are read. What kiln cannot express is an error
// naming the attribute or input, never a silent approximation.
//
//===----------------------------------------------------------------------===//
#include "frontend/onnx/OnnxOps.h"
#include "frontend/onnx/OnnxTensor.h"
#include "kiln/Recurrent.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <tuple>

namespace kiln::onnx_import {

//===----------------------------------------------------------------------===//
// Node
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *Node::attr(const std::string &name) const {
  for (const onnx::AttributeProto &a : proto.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}
bool Node::has(const std::string &name) const { return attr(name) != nullptr; }
int64_t Node::attrInt(const std::string &name, int64_t otherwise) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : otherwise;
}
float Node::attrFloat(const std::string &name, float otherwise) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : otherwise;
}
std::string Node::attrString(const std::string &name, const std::string &otherwise) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : otherwise;
}
std::optional<std::vector<int64_t>> Node::attrInts(const std::string &name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

bool Node::input(size_t i, Tensor &out) {
  if (i >= inputs.size() || !inputs[i].valid())
    return fail("input #" + std::to_string(i) + " is missing");
  out = inputs[i];
  return true;
}

bool Node::knownInts(size_t i, const char *what, std::vector<int64_t> &out) {
  if (i >= known.size() || !known[i])
    return fail(std::string(what) + " (input #" + std::to_string(i) + (i < size_t(proto.input_size()) ? " \"" + proto.input(int(i)) + "\"" : "") +
                ") must be known while importing (an initializer or a constant): kiln's shapes are static");
  out.clear();
  const HostTensor &v = *known[i];
  for (int64_t k = 0; k < v.size(); ++k) // int64 read as is: INT64_MAX ("to the end") is not a double
    out.push_back(v.dtype() == DType::i64   ? v.data<int64_t>()[k]
                  : v.dtype() == DType::i32 ? int64_t(v.data<int32_t>()[k])
                                            : int64_t(v.at(k)));
  return true;
}

void Node::result(size_t i, Tensor t, std::optional<HostTensor> value) {
  if (outputs.size() <= i) {
    outputs.resize(i + 1);
    knownOutputs.resize(i + 1);
  }
  outputs[i] = t;
  knownOutputs[i] = std::move(value);
}

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

int64_t rankOf(Tensor t) { return int64_t(t.shape().size()); }

/// `axis` in [-rank, rank) as [0, rank), or -1 when out of range.
int64_t normalized(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return -1;
  return axis < 0 ? axis + rank : axis;
}

bool normalizedAxes(Node &n, std::vector<int64_t> &axes, int64_t rank, const char *what) {
  for (int64_t &a : axes) {
    int64_t v = normalized(a, rank);
    if (v < 0)
      return n.fail(std::string(what) + " " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    a = v;
  }
  return true;
}

HostTensor i64Tensor(const std::vector<int64_t> &values, Shape shape) {
  HostTensor t(DType::i64, std::move(shape));
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}

/// `value` (when known) with another shape of as many elements.
std::optional<HostTensor> reshapedValue(const HostTensor *value, const Shape &shape) {
  if (!value || numElements(shape) != value->size())
    return std::nullopt;
  HostTensor t(value->dtype(), shape);
  std::copy_n(static_cast<const char *>(value->data()), value->bytes(), static_cast<char *>(t.data()));
  return t;
}

/// A value folded while importing: a constant in the graph, known to later nodes.
void folded(Node &n, size_t i, HostTensor value) {
  n.result(i, n.graph.constant(value), std::move(value));
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

bool isFloat(Tensor t) { return t.dtype() == DType::f32 || t.dtype() == DType::f64; }
bool isInteger(Tensor t) { return t.dtype() == DType::i32 || t.dtype() == DType::i64; }

// kiln's arithmetic ops take floats: integer arithmetic (Add, Sub, Mul, Div,
// Neg, Abs on int64, as exported shape arithmetic does at run time) runs in
// double and is truncated back, exact while the values stay below 2^53.

template <Tensor (*F)(Tensor, Where)> bool unary(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  n.result(0, isInteger(x) ? cast(F(cast(x, DType::f64), Where::current()), x.dtype()) : F(x, Where::current()));
  return true;
}

template <Tensor (*F)(Operand, Operand, Where)> bool binary(Node &n) {
  Tensor a, b;
  if (!n.input(0, a) || !n.input(1, b))
    return false;
  if (isInteger(a) && isInteger(b))
    n.result(0, cast(F(cast(a, DType::f64), cast(b, DType::f64), Where::current()), a.dtype()));
  else
    n.result(0, F(a, b, Where::current()));
  return true;
}

/// The larger (smaller) of two tensors of any numeric dtype: kiln's
/// maximum and minimum take floats, its comparisons and select any.
Tensor larger(Operand a, Operand b, Where where) {
  if (isFloat(a.tensor))
    return maximum(a, b, where);
  return select(gt(a, b, where), a, b, where);
}
Tensor smaller(Operand a, Operand b, Where where) {
  if (isFloat(a.tensor))
    return minimum(a, b, where);
  return select(lt(a, b, where), a, b, where);
}

/// Sum, Max, Min, Mean: variadic, broadcasting.
template <Tensor (*F)(Operand, Operand, Where)> bool variadic(Node &n) {
  Tensor acc;
  if (!n.input(0, acc))
    return false;
  for (size_t i = 1; i < n.inputs.size(); ++i) {
    Tensor x;
    if (!n.input(i, x))
      return false;
    acc = F(acc, x, Where::current());
  }
  n.result(0, acc);
  return true;
}

/// Pow: the result has the base's type, the exponent may have another
/// (ONNX 12+); integer powers are computed in double and truncated.
bool power(Node &n) {
  Tensor x, y;
  if (!n.input(0, x) || !n.input(1, y))
    return false;
  if (isFloat(x) && x.dtype() == y.dtype()) {
    n.result(0, pow(x, y));
    return true;
  }
  DType wide = isFloat(x) ? x.dtype() : DType::f64;
  Tensor r = pow(x.dtype() == wide ? x : cast(x, wide), y.dtype() == wide ? y : cast(y, wide));
  n.result(0, r.dtype() == x.dtype() ? r : cast(r, x.dtype()));
  return true;
}

/// Not, And, Or on booleans, through select (which broadcasts its three
/// operands): !x = x ? false : true, a && b = a ? b : false, a || b = a ? true : b.
Tensor boolean(Node &n, bool value) {
  HostTensor t(DType::boolean, {});
  t.set(0, value ? 1 : 0);
  return n.graph.constant(t);
}
bool logicalNot(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  n.result(0, select(x, boolean(n, false), boolean(n, true)));
  return true;
}
bool logicalAnd(Node &n) {
  Tensor a, b;
  if (!n.input(0, a) || !n.input(1, b))
    return false;
  n.result(0, select(a, b, boolean(n, false)));
  return true;
}
bool logicalOr(Node &n) {
  Tensor a, b;
  if (!n.input(0, a) || !n.input(1, b))
    return false;
  n.result(0, select(a, boolean(n, true), b));
  return true;
}

bool mean(Node &n) {
  if (!variadic<add>(n))
    return false;
  n.outputs[0] = div(n.outputs[0], double(n.inputs.size()));
  return true;
}

bool identity(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  n.result(0, x, n.known.empty() || !n.known[0] ? std::nullopt : std::optional<HostTensor>(*n.known[0]));
  return true;
}

bool reciprocal(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  n.result(0, div(1.0, x));
  return true;
}

bool leakyRelu(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  double alpha = n.attrFloat("alpha", 0.01f);
  n.result(0, select(gt(x, 0.0), x, mul(x, alpha)));
  return true;
}

bool prelu(Node &n) {
  Tensor x, slope;
  if (!n.input(0, x) || !n.input(1, slope))
    return false;
  n.result(0, select(lt(x, 0.0), mul(x, slope), x));
  return true;
}

bool elu(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  double alpha = n.attrFloat("alpha", 1.0f);
  n.result(0, select(lt(x, 0.0), mul(sub(exp(x), 1.0), alpha), x));
  return true;
}

bool selu(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  double alpha = n.attrFloat("alpha", 1.67326319217681884765625f), gamma = n.attrFloat("gamma", 1.05070102214813232421875f);
  n.result(0, mul(select(gt(x, 0.0), x, mul(sub(exp(x), 1.0), alpha)), gamma));
  return true;
}

bool hardSigmoid(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  double alpha = n.attrFloat("alpha", 0.2f), beta = n.attrFloat("beta", 0.5f);
  n.result(0, maximum(minimum(add(mul(x, alpha), beta), 1.0), 0.0));
  return true;
}

bool softplus(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  // log(1 + exp(x)) computed without overflow: max(x, 0) + log(1 + exp(-|x|)).
  n.result(0, add(maximum(x, 0.0), log(add(exp(neg(abs(x))), 1.0))));
  return true;
}

bool softsign(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  n.result(0, div(x, add(abs(x), 1.0)));
  return true;
}

bool thresholdedRelu(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  n.result(0, select(gt(x, double(n.attrFloat("alpha", 1.0f))), x, 0.0));
  return true;
}

bool clip(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  Tensor y = x;
  if (n.opset < 11) {
    if (n.has("min"))
      y = maximum(y, double(n.attrFloat("min", 0)));
    if (n.has("max"))
      y = minimum(y, double(n.attrFloat("max", 0)));
  } else {
    if (n.inputs.size() > 1 && n.inputs[1].valid())
      y = maximum(y, n.inputs[1]);
    if (n.inputs.size() > 2 && n.inputs[2].valid())
      y = minimum(y, n.inputs[2]);
  }
  n.result(0, y);
  return true;
}

/// Comparisons take every numeric dtype.
template <Tensor (*F)(Operand, Operand, Where)> bool compare(Node &n) {
  Tensor a, b;
  if (!n.input(0, a) || !n.input(1, b))
    return false;
  n.result(0, F(a, b, Where::current()));
  return true;
}

bool where(Node &n) {
  Tensor c, a, b;
  if (!n.input(0, c) || !n.input(1, a) || !n.input(2, b))
    return false;
  n.result(0, select(c, a, b));
  return true;
}

/// Trilu: the upper (or lower) triangle of the last two axes, from the
/// k-th diagonal (k an optional known input), the rest zeros.
bool trilu(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  if (rankOf(x) < 2)
    return n.fail("the input must have rank 2 or more");
  std::vector<int64_t> k{0};
  if (n.inputs.size() > 1 && n.inputs[1].valid() && !n.knownInts(1, "k", k))
    return false;
  Shape s = x.shape();
  Shape square{s[s.size() - 2], s[s.size() - 1]};
  // column - row in double (kiln's arithmetic takes floats), compared with k.
  Tensor offset = sub(n.graph.iota(square, 1, DType::f64), n.graph.iota(square, 0, DType::f64));
  Tensor keep = n.attrInt("upper", 1) != 0 ? ge(offset, double(k[0])) : le(offset, double(k[0]));
  HostTensor zero(x.dtype(), {});
  n.result(0, select(keep, x, n.graph.constant(zero)));
  return true;
}

bool castOp(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  int64_t to = n.attrInt("to", 0);
  std::optional<DType> dtype = dtypeOf(int32_t(to));
  if (!dtype)
    return n.fail("attribute 'to' is " + onnxTypeName(int32_t(to)) + ": kiln casts to float, double, int32, int64 and bool");
  n.result(0, x.dtype() == *dtype ? x : cast(x, *dtype));
  return true;
}

//===----------------------------------------------------------------------===//
// Products
//===----------------------------------------------------------------------===//

bool matmulOp(Node &n) {
  Tensor a, b;
  if (!n.input(0, a) || !n.input(1, b))
    return false;
  // NumPy's matmul: a 1-D operand is a row (a) or a column (b), removed after.
  bool rowA = rankOf(a) == 1, columnB = rankOf(b) == 1;
  if (rowA)
    a = reshape(a, {1, a.shape()[0]});
  if (columnB)
    b = reshape(b, {b.shape()[0], 1});
  Tensor y = matmul(a, b);
  if (y.valid() && (rowA || columnB)) { // (an invalid y: matmul's error is the graph's)
    Shape s = y.shape();
    if (columnB)
      s.pop_back();
    if (rowA)
      s.erase(s.end() - 1 - (columnB ? 0 : 1));
    y = reshape(y, s);
  }
  n.result(0, y);
  return true;
}

bool gemm(Node &n) {
  Tensor a, b;
  if (!n.input(0, a) || !n.input(1, b))
    return false;
  double alpha = n.attrFloat("alpha", 1.0f), beta = n.attrFloat("beta", 1.0f);
  Tensor y = matmul(a, b, n.attrInt("transA", 0) != 0, n.attrInt("transB", 0) != 0);
  if (alpha != 1.0)
    y = mul(y, alpha);
  if (n.inputs.size() > 2 && n.inputs[2].valid() && beta != 0.0)
    y = add(y, beta == 1.0 ? n.inputs[2] : mul(n.inputs[2], beta));
  n.result(0, y);
  return true;
}

//===----------------------------------------------------------------------===//
// Softmax, normalization
//===----------------------------------------------------------------------===//

/// Softmax and LogSoftmax: before opset 13 the input is seen as 2-D,
/// [prod(d < axis), prod(d >= axis)], and normalized over its second axis
/// (default axis 1); from 13, over the one axis (default -1).
template <Tensor (*F)(Tensor, int64_t, Where)> bool softmaxLike(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  int64_t rank = rankOf(x);
  int64_t axis = normalized(n.attrInt("axis", n.opset < 13 ? 1 : -1), std::max<int64_t>(rank, 1));
  if (axis < 0)
    return n.fail("axis " + std::to_string(n.attrInt("axis", 0)) + " is out of range for rank " + std::to_string(rank));
  if (n.opset >= 13 || rank == 0) {
    n.result(0, F(x, axis, Where::current()));
    return true;
  }
  Shape s = x.shape();
  int64_t rows = std::accumulate(s.begin(), s.begin() + axis, int64_t(1), std::multiplies<>());
  int64_t cols = std::accumulate(s.begin() + axis, s.end(), int64_t(1), std::multiplies<>());
  n.result(0, reshape(F(reshape(x, {rows, cols}), 1, Where::current()), s));
  return true;
}

bool layerNormalization(Node &n) {
  Tensor x, scale;
  if (!n.input(0, x) || !n.input(1, scale))
    return false;
  int64_t rank = rankOf(x), axis = normalized(n.attrInt("axis", -1), rank);
  if (axis < 0)
    return n.fail("axis " + std::to_string(n.attrInt("axis", -1)) + " is out of range for rank " + std::to_string(rank));
  std::vector<int64_t> axes;
  for (int64_t a = axis; a < rank; ++a)
    axes.push_back(a);
  Shape xs = x.shape(); // (shape() returns a copy)
  Shape normalizedShape(xs.begin() + axis, xs.end());
  Tensor gamma = scale.shape() == normalizedShape ? scale : broadcast_to(scale, normalizedShape);
  Tensor beta = n.inputs.size() > 2 && n.inputs[2].valid() ? n.inputs[2] : Tensor();
  if (beta.valid() && beta.shape() != normalizedShape)
    beta = broadcast_to(beta, normalizedShape);
  double eps = n.attrFloat("epsilon", 1e-5f);
  Tensor y = beta.valid() ? layer_norm(x, gamma, beta, axes, eps) : mul(layer_norm(x, axes, eps), gamma);
  n.result(0, y);
  // The optional Mean and InvStdDev outputs: the statistics over the
  // normalized axes, kept as size-1 dimensions.
  bool wantsStatistics = false;
  for (int i = 1; i < n.proto.output_size(); ++i)
    wantsStatistics |= !n.proto.output(i).empty();
  if (wantsStatistics) {
    Tensor mu = reduce_mean(x, axes, true);
    Tensor centered = sub(x, mu);
    n.result(1, mu);
    n.result(2, rsqrt(add(reduce_mean(mul(centered, centered), axes, true), eps)));
  }
  return true;
}

/// NegativeLogLikelihoodLoss on log-probabilities [N, C, d...] and targets
/// [N, d...]: -input[n, target, d...] x weight[target] (0 at ignore_index),
/// summed, averaged by the weights' sum (mean) or left per element (none).
bool nllFrom(Node &n, Tensor logProbabilities, Tensor target, Tensor weight, size_t output) {
  Shape s = logProbabilities.shape();
  if (s.size() < 2)
    return n.fail("the input must be [N, C, ...], got " + shapeString(s));
  Shape expanded = target.shape();
  if (expanded.size() + 1 != s.size())
    return n.fail("the target " + shapeString(expanded) + " does not fit the input " + shapeString(s));
  expanded.insert(expanded.begin() + 1, 1);
  // One-hot of the target along the class axis (all zeros for an index
  // outside [0, C), as ignore_index may be).
  Tensor classes = n.graph.iota(s, 1, target.dtype());
  Tensor onehot = cast(eq(classes, reshape(target, expanded)), logProbabilities.dtype());
  Tensor weighting = onehot;
  if (weight.valid()) {
    Shape ws(s.size(), 1);
    ws[1] = s[1];
    weighting = mul(onehot, reshape(weight, ws));
  }
  Tensor w = reduce_sum(weighting, {1}, false); // [N, d...]: each element's weight
  if (n.has("ignore_index")) {
    double ignored = double(n.attrInt("ignore_index", 0));
    w = mul(w, cast(ne(target, ignored), logProbabilities.dtype()));
  }
  Tensor loss = neg(mul(reduce_sum(mul(logProbabilities, onehot), {1}, false), w));
  std::string reduction = n.attrString("reduction", "mean");
  std::vector<int64_t> all;
  for (size_t i = 0; i < loss.shape().size(); ++i)
    all.push_back(int64_t(i));
  if (reduction == "none") {
    n.result(output, loss);
  } else if (reduction == "sum") {
    n.result(output, reduce_sum(loss, all, false));
  } else if (reduction == "mean") {
    n.result(output, div(reduce_sum(loss, all, false), reduce_sum(w, all, false)));
  } else {
    return n.fail("reduction \"" + reduction + "\" is not one of none, sum, mean");
  }
  return true;
}

bool negativeLogLikelihoodLoss(Node &n) {
  Tensor input, target;
  if (!n.input(0, input) || !n.input(1, target))
    return false;
  return nllFrom(n, input, target, n.inputs.size() > 2 ? n.inputs[2] : Tensor(), 0);
}

bool softmaxCrossEntropyLoss(Node &n) {
  Tensor scores, labels;
  if (!n.input(0, scores) || !n.input(1, labels))
    return false;
  Tensor logProbabilities = log_softmax(scores, 1);
  if (!nllFrom(n, logProbabilities, labels, n.inputs.size() > 2 ? n.inputs[2] : Tensor(), 0))
    return false;
  if (n.proto.output_size() > 1 && !n.proto.output(1).empty())
    n.result(1, logProbabilities);
  return true;
}

bool batchNormalization(Node &n) {
  Tensor x, scale, bias, mean, var;
  if (!n.input(0, x) || !n.input(1, scale) || !n.input(2, bias) || !n.input(3, mean) || !n.input(4, var))
    return false;
  BatchNormOptions o;
  o.eps = n.attrFloat("epsilon", 1e-5f);
  if (n.attrInt("training_mode", 0) != 0) {
    // Opset 14 and later: the batch's statistics, and the running ones
    // updated as ONNX says: input * momentum + batch * (1 - momentum), with
    // the batch's biased variance (PyTorch's running variance, which
    // kiln's batch_norm keeps, is unbiased: it is not used here).
    double momentum = n.attrFloat("momentum", 0.9f);
    o.training = true;
    o.momentum = 1 - momentum;
    n.result(0, batch_norm(x, scale, bias, mean, var, o).y);
    Shape shape = x.shape();
    std::vector<int64_t> axes;
    Shape perChannel(shape.size(), 1);
    for (int64_t d = 0; d < int64_t(shape.size()); ++d)
      if (d != 1)
        axes.push_back(d);
    perChannel[1] = shape.size() > 1 ? shape[1] : 1;
    Tensor batchMean = reduce_mean(x, axes);
    Tensor centered = x - reshape(batchMean, perChannel);
    Tensor batchVariance = reduce_mean(centered * centered, axes);
    if (n.proto.output_size() > 1 && !n.proto.output(1).empty())
      n.result(1, mean * momentum + batchMean * (1 - momentum));
    if (n.proto.output_size() > 2 && !n.proto.output(2).empty())
      n.result(2, var * momentum + batchVariance * (1 - momentum));
    return true;
  }
  if (n.opset < 9 && n.attrInt("is_test", 1) == 0)
    return n.fail("training mode before opset 9 (is_test = 0) is not supported (opset 14's training_mode is)");
  for (int i = 1; i < n.proto.output_size(); ++i)
    if (!n.proto.output(i).empty())
      return n.fail("output #" + std::to_string(i) + " (the running statistics) is not supported in inference");
  n.result(0, batch_norm(x, scale, bias, mean, var, o).y);
  return true;
}

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

bool reshapeOp(Node &n) {
  Tensor x;
  std::vector<int64_t> shape;
  if (!n.input(0, x))
    return false;
  if (n.opset < 5) {
    auto attr = n.attrInts("shape");
    if (!attr)
      return n.fail("attribute 'shape' is missing");
    shape = *attr;
  } else if (!n.knownInts(1, "the shape", shape)) {
    return false;
  }
  bool allowZero = n.attrInt("allowzero", 0) != 0;
  int64_t inferred = -1, product = 1;
  Shape from = x.shape();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowZero) {
      if (i >= from.size())
        return n.fail("shape entry #" + std::to_string(i) + " is 0 (copy) past the input's rank " +
                      std::to_string(from.size()));
      shape[i] = from[i];
    }
    if (shape[i] == -1) {
      if (inferred >= 0)
        return n.fail("the shape has more than one -1");
      inferred = int64_t(i);
    } else if (shape[i] < 0) {
      return n.fail("shape entry " + std::to_string(shape[i]) + " is negative");
    } else {
      product *= shape[i];
    }
  }
  if (inferred >= 0) {
    if (product == 0 || numElements(from) % product != 0)
      return n.fail("cannot infer the -1 in " + shapeString(shape) + " for " + shapeString(from));
    shape[size_t(inferred)] = numElements(from) / product;
  }
  n.result(0, reshape(x, shape), reshapedValue(n.known[0], shape));
  return true;
}

bool flatten(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  Shape s = x.shape();
  int64_t rank = int64_t(s.size()), axis = n.attrInt("axis", 1);
  if (axis < -rank || axis > rank)
    return n.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  if (axis < 0)
    axis += rank;
  int64_t rows = std::accumulate(s.begin(), s.begin() + axis, int64_t(1), std::multiplies<>());
  n.result(0, reshape(x, {rows, numElements(s) / std::max<int64_t>(rows, 1)}));
  return true;
}

bool transposeOp(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  int64_t rank = rankOf(x);
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i)
    perm[size_t(i)] = rank - 1 - i;
  if (auto given = n.attrInts("perm"))
    perm = *given;
  n.result(0, transpose(x, perm));
  return true;
}

/// Squeeze and Unsqueeze's axes: an attribute before opset 13, an input from it.
bool axesOf(Node &n, std::vector<int64_t> &axes, bool &given) {
  given = true;
  if (n.opset < 13) {
    auto attr = n.attrInts("axes");
    given = attr.has_value();
    if (attr)
      axes = *attr;
    return true;
  }
  if (n.inputs.size() < 2 || !n.inputs[1].valid()) {
    given = false;
    return true;
  }
  return n.knownInts(1, "the axes", axes);
}

bool squeeze(Node &n) {
  Tensor x;
  std::vector<int64_t> axes;
  bool given;
  if (!n.input(0, x) || !axesOf(n, axes, given))
    return false;
  Shape s = x.shape(), out;
  if (!normalizedAxes(n, axes, int64_t(s.size()), "axis"))
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool listed = std::find(axes.begin(), axes.end(), int64_t(i)) != axes.end();
    if (listed && s[i] != 1)
      return n.fail("axis " + std::to_string(i) + " has size " + std::to_string(s[i]) + ", not 1");
    if (!(given ? listed : s[i] == 1))
      out.push_back(s[i]);
  }
  n.result(0, reshape(x, out), reshapedValue(n.known[0], out));
  return true;
}

bool unsqueeze(Node &n) {
  Tensor x;
  std::vector<int64_t> axes;
  bool given;
  if (!n.input(0, x) || !axesOf(n, axes, given))
    return false;
  if (!given)
    return n.fail("the axes are missing");
  Shape s = x.shape();
  int64_t rank = int64_t(s.size() + axes.size());
  if (!normalizedAxes(n, axes, rank, "axis"))
    return false;
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return n.fail("an axis is listed twice");
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i)
    out.push_back(std::binary_search(axes.begin(), axes.end(), i) ? 1 : s[next++]);
  std::optional<HostTensor> value;
  if (n.known[0]) {
    value = *n.known[0];
    HostTensor reshaped(value->dtype(), out);
    std::copy_n(static_cast<const char *>(value->data()), value->bytes(), static_cast<char *>(reshaped.data()));
    value = std::move(reshaped);
  }
  n.result(0, reshape(x, out), std::move(value));
  return true;
}

bool concatOp(Node &n) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    Tensor x;
    if (!n.input(i, x))
      return false;
    xs.push_back(x);
  }
  if (xs.empty())
    return n.fail("no inputs");
  int64_t axis = normalized(n.attrInt("axis", 0), std::max<int64_t>(rankOf(xs[0]), 1));
  if (axis < 0)
    return n.fail("axis " + std::to_string(n.attrInt("axis", 0)) + " is out of range");
  // Values known for every input (shape arithmetic) are concatenated here too.
  bool allKnown = rankOf(xs[0]) == 1 && xs[0].dtype() == DType::i64;
  std::vector<int64_t> values;
  for (size_t i = 0; i < xs.size() && allKnown; ++i) {
    allKnown = n.known[i] != nullptr;
    for (int64_t k = 0; allKnown && k < n.known[i]->size(); ++k)
      values.push_back(n.known[i]->dtype() == DType::i64 ? n.known[i]->data<int64_t>()[k] : int64_t(n.known[i]->at(k)));
  }
  if (allKnown) {
    folded(n, 0, i64Tensor(values, {int64_t(values.size())}));
    return true;
  }
  n.result(0, xs.size() == 1 ? xs[0] : concat(xs, axis));
  return true;
}

Tensor gatherAlong(Tensor data, Tensor indices, int64_t axis);
HostTensor pickValues(const HostTensor &data, const std::vector<std::vector<int64_t>> &picks);

/// Split: along `axis` into the sizes given (an input from opset 13, an
/// attribute before), or into equal parts (the last smaller, opset 18's
/// num_outputs).
bool split(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  int64_t rank = rankOf(x), axis = normalized(n.attrInt("axis", 0), rank);
  if (axis < 0)
    return n.fail("axis " + std::to_string(n.attrInt("axis", 0)) + " is out of range for rank " + std::to_string(rank));
  Shape s = x.shape();
  const int64_t dim = s[size_t(axis)], parts = n.proto.output_size();
  std::vector<int64_t> sizes;
  if (n.opset < 13) {
    if (auto a = n.attrInts("split"))
      sizes = *a;
  } else if (n.inputs.size() > 1 && n.inputs[1].valid() && !n.knownInts(1, "the split sizes", sizes)) {
    return false;
  }
  if (sizes.empty()) {
    int64_t each = (dim + parts - 1) / std::max<int64_t>(parts, 1);
    for (int64_t k = 0; k < parts; ++k)
      sizes.push_back(std::max<int64_t>(std::min(each, dim - k * each), 0));
  }
  if (int64_t(sizes.size()) != parts || std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != dim)
    return n.fail("split sizes do not add up to the axis length " + std::to_string(dim) + " over " +
                  std::to_string(parts) + " outputs");
  int64_t at = 0;
  for (int64_t k = 0; k < parts; ++k) {
    std::vector<int64_t> from(size_t(rank), 0), to(s);
    from[size_t(axis)] = at;
    to[size_t(axis)] = at + sizes[size_t(k)];
    n.result(size_t(k), kiln::slice(x, from, to));
    at += sizes[size_t(k)];
  }
  return true;
}

bool slice(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  std::vector<int64_t> starts, ends, axes, steps;
  if (n.opset < 10) {
    auto s = n.attrInts("starts"), e = n.attrInts("ends");
    if (!s || !e)
      return n.fail("attributes 'starts' and 'ends' are required");
    starts = *s;
    ends = *e;
    if (auto a = n.attrInts("axes"))
      axes = *a;
  } else {
    if (!n.knownInts(1, "starts", starts) || !n.knownInts(2, "ends", ends))
      return false;
    if (n.inputs.size() > 3 && n.inputs[3].valid() && !n.knownInts(3, "axes", axes))
      return false;
    if (n.inputs.size() > 4 && n.inputs[4].valid() && !n.knownInts(4, "steps", steps))
      return false;
  }
  Shape s = x.shape();
  int64_t rank = int64_t(s.size());
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(int64_t(i));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return n.fail("starts, ends, axes and steps differ in length");
  if (!normalizedAxes(n, axes, rank, "axis"))
    return false;
  // Each axis's positions, ONNX's clamping rules: for a positive step,
  // starts and ends in [0, dim]; for a negative one, starts in [0, dim - 1]
  // and ends in [-1, dim - 1].
  std::vector<int64_t> from(size_t(rank), 0), to(s), by(size_t(rank), 1);
  std::vector<std::vector<int64_t>> picks(static_cast<size_t>(rank));
  for (int64_t a = 0; a < rank; ++a) {
    picks[size_t(a)].resize(size_t(s[size_t(a)]));
    std::iota(picks[size_t(a)].begin(), picks[size_t(a)].end(), 0);
  }
  std::vector<int64_t> reversedAxes;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i], dim = s[size_t(a)], step = steps[i];
    if (step == 0)
      return n.fail("step 0 on axis " + std::to_string(a));
    int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i], end = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (ends[i] <= -(int64_t(1) << 62))
      end = -1; // INT64_MIN: "to the beginning" for a negative step
    std::vector<int64_t> &p = picks[size_t(a)];
    p.clear();
    if (step > 0) {
      start = std::clamp(start, int64_t(0), dim);
      end = std::clamp(end, int64_t(0), dim);
      for (int64_t k = start; k < end; k += step)
        p.push_back(k);
      from[size_t(a)] = start;
      to[size_t(a)] = std::max(end, start);
      by[size_t(a)] = step;
    } else {
      start = std::clamp(start, int64_t(0), dim - 1);
      end = std::clamp(end, int64_t(-1), dim - 1);
      for (int64_t k = start; k > end; k += step)
        p.push_back(k);
      reversedAxes.push_back(a);
    }
  }
  Tensor y = x;
  if (reversedAxes.empty()) {
    y = kiln::slice(x, from, to, by);
  } else {
    // Negative steps: a gather of the positions, axis by axis.
    for (int64_t a = 0; a < rank; ++a) {
      if (picks[size_t(a)].size() == size_t(s[size_t(a)]) && !std::count(reversedAxes.begin(), reversedAxes.end(), a) &&
          std::is_sorted(picks[size_t(a)].begin(), picks[size_t(a)].end()))
        continue; // the whole axis
      y = gatherAlong(y, n.graph.constant(i64Tensor(picks[size_t(a)], {int64_t(picks[size_t(a)].size())})), a);
    }
  }
  std::optional<HostTensor> value;
  if (n.known[0])
    value = pickValues(*n.known[0], picks);
  n.result(0, y, std::move(value));
  return true;
}

/// `data` gathered along `axis` at `indices` (in range): ONNX's Gather, on
/// kiln's gather (which takes rows, axis 0) with the axis moved to the front
/// and the index dimensions moved back into its place.
Tensor gatherAlong(Tensor data, Tensor indices, int64_t axis) {
  int64_t rank = rankOf(data);
  if (axis == 0)
    return kiln::gather(data, indices);
  std::vector<int64_t> toFront{axis};
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis)
      toFront.push_back(i);
  Tensor y = kiln::gather(transpose(data, toFront), indices); // [idx..., d0 .. d(axis-1), d(axis+1) ..]
  int64_t q = rankOf(indices);
  std::vector<int64_t> back;
  for (int64_t i = 0; i < axis; ++i)
    back.push_back(q + i);
  for (int64_t i = 0; i < q; ++i)
    back.push_back(i);
  for (int64_t i = axis; i < rank - 1; ++i)
    back.push_back(q + i);
  return transpose(y, back);
}

/// The value of `data` at per-axis index lists (`picks[a]`: the positions
/// taken along axis a, in order), for values known while importing.
HostTensor pickValues(const HostTensor &data, const std::vector<std::vector<int64_t>> &picks) {
  Shape out;
  for (const auto &p : picks)
    out.push_back(int64_t(p.size()));
  HostTensor t(data.dtype(), out);
  const Shape &s = data.shape();
  for (int64_t flat = 0; flat < t.size(); ++flat) {
    int64_t rest = flat, source = 0, stride = 1;
    for (size_t a = out.size(); a-- > 0;) {
      int64_t c = rest % out[a];
      rest /= out[a];
      source += picks[a][size_t(c)] * stride;
      stride *= s[a];
    }
    t.set(flat, data.at(source));
  }
  return t;
}

bool gather(Node &n) {
  Tensor data, indices;
  if (!n.input(0, data) || !n.input(1, indices))
    return false;
  int64_t rank = rankOf(data), axis = normalized(n.attrInt("axis", 0), rank);
  if (axis < 0)
    return n.fail("axis " + std::to_string(n.attrInt("axis", 0)) + " is out of range for rank " + std::to_string(rank));
  Shape s = data.shape();
  const int64_t dim = s[size_t(axis)];
  // Negative indices count from the end (ONNX); kiln's gather takes [0, n).
  if (n.known[1]) {
    HostTensor moved = *n.known[1];
    for (int64_t i = 0; i < moved.size(); ++i) {
      double v = moved.at(i) < 0 ? moved.at(i) + double(dim) : moved.at(i);
      if (v < 0 || v >= double(dim))
        return n.fail("index " + std::to_string(int64_t(moved.at(i))) + " is outside [-" + std::to_string(dim) +
                      ", " + std::to_string(dim) + ")");
      moved.set(i, v);
    }
    indices = n.graph.constant(moved);
    if (n.known[0] && moved.shape().size() <= 1) {
      // Shape arithmetic: a known vector's entries picked while importing.
      std::vector<std::vector<int64_t>> picks;
      for (int64_t a = 0; a < rank; ++a) {
        std::vector<int64_t> all(static_cast<size_t>(s[size_t(a)]));
        std::iota(all.begin(), all.end(), 0);
        picks.push_back(all);
      }
      picks[size_t(axis)].clear();
      for (int64_t i = 0; i < moved.size(); ++i)
        picks[size_t(axis)].push_back(int64_t(moved.at(i)));
      HostTensor value = pickValues(*n.known[0], picks);
      Shape out = s;
      out.erase(out.begin() + axis);
      if (moved.shape().size() == 1)
        out.insert(out.begin() + axis, moved.size());
      n.result(0, gatherAlong(data, indices, axis), reshapedValue(&value, out));
      return true;
    }
  } else {
    // idx < 0 ? idx + n : idx, the addition in double (kiln's add takes
    // floats; exact below 2^53).
    Tensor shifted = cast(add(cast(indices, DType::f64), double(dim)), indices.dtype());
    indices = select(lt(indices, 0.0), shifted, indices);
  }
  n.result(0, gatherAlong(data, indices, axis));
  return true;
}

/// GatherElements: out[p] = data[p with p_axis = indices[p]], the output of
/// the indices' shape. As a one-hot contraction: the axis moved last, each
/// index compared with the positions 0 .. n - 1, the matching values summed
/// (O(output x n), fine for the class axis of a loss, where exported models
/// use it; differentiable like any elementwise product).
bool gatherElements(Node &n) {
  Tensor data, indices;
  if (!n.input(0, data) || !n.input(1, indices))
    return false;
  int64_t rank = rankOf(data), axis = normalized(n.attrInt("axis", 0), rank);
  if (axis < 0)
    return n.fail("axis " + std::to_string(n.attrInt("axis", 0)) + " is out of range for rank " + std::to_string(rank));
  Shape s = data.shape(), q = indices.shape();
  if (rankOf(indices) != rank)
    return n.fail("indices of rank " + std::to_string(q.size()) + " for data of rank " + std::to_string(rank));
  for (int64_t k = 0; k < rank; ++k)
    if (k != axis && q[size_t(k)] > s[size_t(k)])
      return n.fail("indices " + shapeString(q) + " larger than the data " + shapeString(s) + " off the axis");
  const int64_t dim = s[size_t(axis)];
  // The data where the indices are (off the axis), then the axis last.
  std::vector<int64_t> from(size_t(rank), 0), to(q);
  to[size_t(axis)] = dim;
  Tensor d = to == s ? data : kiln::slice(data, from, to);
  std::vector<int64_t> last;
  for (int64_t k = 0; k < rank; ++k)
    if (k != axis)
      last.push_back(k);
  last.push_back(axis);
  std::vector<int64_t> back(static_cast<size_t>(rank)); // the inverse permutation
  for (int64_t k = 0; k < rank; ++k)
    back[size_t(last[size_t(k)])] = k;
  Tensor dt = transpose(d, last), it = transpose(indices, last); // [..., dim], [..., m]
  it = select(lt(it, 0.0), cast(add(cast(it, DType::f64), double(dim)), it.dtype()), it);
  Shape itShape = it.shape(), dtShape = dt.shape();
  Shape expandedIndices = itShape, expandedData = dtShape;
  expandedIndices.push_back(1);                               // [..., m, 1]
  expandedData.insert(expandedData.end() - 1, 1);             // [..., 1, dim]
  Shape positions(itShape.size() + 1, 1);
  positions.back() = dim;
  Tensor iota = n.graph.iota(positions, int64_t(positions.size()) - 1, it.dtype());
  DType work = isFloat(data) ? data.dtype() : DType::f64;
  Tensor onehot = cast(eq(reshape(it, expandedIndices), iota), work); // [..., m, dim]
  Tensor values = reshape(data.dtype() == work ? dt : cast(dt, work), expandedData);
  Tensor picked = reduce_sum(mul(onehot, values), {int64_t(expandedIndices.size()) - 1}); // [..., m]
  if (picked.dtype() != data.dtype())
    picked = cast(picked, data.dtype());
  n.result(0, transpose(picked, back));
  return true;
}

bool expand(Node &n) {
  Tensor x;
  std::vector<int64_t> shape;
  if (!n.input(0, x) || !n.knownInts(1, "the shape", shape))
    return false;
  // Bidirectional broadcasting of the input's shape and the given one.
  Shape s = x.shape();
  size_t rank = std::max(s.size(), shape.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i + s.size() >= rank ? s[i + s.size() - rank] : 1;
    int64_t b = i + shape.size() >= rank ? shape[i + shape.size() - rank] : 1;
    if (a != b && a != 1 && b != 1)
      return n.fail("cannot broadcast " + shapeString(s) + " to " + shapeString(shape));
    out[i] = a == 1 ? b : a;
  }
  n.result(0, out == s ? x : broadcast_to(x, out));
  return true;
}

bool dropout(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  // Inference: the input unchanged. Training mode (opset 12+) only with a
  // ratio of 0, where it is the same.
  if (n.opset >= 12 && n.inputs.size() > 2 && n.inputs[2].valid()) {
    if (!n.known[2])
      return n.fail("training_mode (input #2) must be known while importing: kiln's Dropout is the "
                    "inference one, or training with a ratio of 0");
    bool training = n.known[2]->at(0) != 0;
    bool ratioGiven = n.inputs.size() > 1 && n.inputs[1].valid();
    if (training && ratioGiven && !n.known[1])
      return n.fail("the ratio (input #1) must be known while importing in training mode (kiln's Dropout "
                    "trains only with a ratio of 0)");
    if (training && (!ratioGiven || n.known[1]->at(0) != 0))
      return n.fail("training mode is not supported (inference only, or a ratio of 0)");
  }
  n.result(0, x);
  if (n.proto.output_size() > 1 && !n.proto.output(1).empty()) // the mask: every element kept
    n.result(1, broadcast_to(boolean(n, true), x.shape()));
  return true;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

enum class Reduce { Sum, Mean, Max, Min, SumSquare, L1, L2, LogSum, LogSumExp };

/// The axes: an attribute until opset 13 (ReduceSum) or 18 (the others),
/// an input from then. None (or an empty list): every axis, unless
/// noop_with_empty_axes.
template <Reduce R> bool reduce(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  int64_t inputFrom = R == Reduce::Sum ? 13 : 18;
  std::vector<int64_t> axes;
  if (n.opset < inputFrom) {
    if (auto a = n.attrInts("axes"))
      axes = *a;
  } else if (n.inputs.size() > 1 && n.inputs[1].valid() && !n.knownInts(1, "the axes", axes)) {
    return false;
  }
  int64_t rank = rankOf(x);
  if (axes.empty()) {
    if (n.opset >= inputFrom && n.attrInt("noop_with_empty_axes", 0) != 0) {
      n.result(0, x);
      return true;
    }
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  if (!normalizedAxes(n, axes, rank, "axis"))
    return false;
  bool keep = n.attrInt("keepdims", 1) != 0;
  Tensor y;
  switch (R) {
  case Reduce::Sum: y = reduce_sum(x, axes, keep); break;
  case Reduce::Mean: y = reduce_mean(x, axes, keep); break;
  case Reduce::Max: y = reduce_max(x, axes, keep); break;
  case Reduce::Min: y = neg(reduce_max(neg(x), axes, keep)); break;
  case Reduce::SumSquare: y = reduce_sum(mul(x, x), axes, keep); break;
  case Reduce::L1: y = reduce_sum(abs(x), axes, keep); break;
  case Reduce::L2: y = sqrt(reduce_sum(mul(x, x), axes, keep)); break;
  case Reduce::LogSum: y = log(reduce_sum(x, axes, keep)); break;
  case Reduce::LogSumExp: {
    Tensor top = reduce_max(x, axes, true);
    Tensor s = log(reduce_sum(exp(sub(x, top)), axes, true)) + top;
    y = keep ? s : reduce_sum(s, axes, false); // drop the size-1 axes
    break;
  }
  }
  n.result(0, y);
  return true;
}

//===----------------------------------------------------------------------===//
// Constants and shapes, folded while importing
//===----------------------------------------------------------------------===//

bool constant(Node &n) {
  if (const onnx::AttributeProto *a = n.attr("value")) {
    auto value = readTensor(a->t(), n.modelDir);
    if (!value)
      return n.fail("attribute 'value': " + value.error());
    folded(n, 0, std::move(*value));
    return true;
  }
  if (const onnx::AttributeProto *a = n.attr("value_float")) {
    HostTensor t(DType::f32, {});
    t.set(0, a->f());
    folded(n, 0, std::move(t));
    return true;
  }
  if (const onnx::AttributeProto *a = n.attr("value_floats")) {
    HostTensor t(DType::f32, {int64_t(a->floats_size())});
    for (int i = 0; i < a->floats_size(); ++i)
      t.set(i, a->floats(i));
    folded(n, 0, std::move(t));
    return true;
  }
  if (const onnx::AttributeProto *a = n.attr("value_int")) {
    folded(n, 0, i64Tensor({a->i()}, {}));
    return true;
  }
  if (const onnx::AttributeProto *a = n.attr("value_ints")) {
    folded(n, 0, i64Tensor({a->ints().begin(), a->ints().end()}, {int64_t(a->ints_size())}));
    return true;
  }
  return n.fail("only the value, value_float(s) and value_int(s) forms are supported (not sparse or strings)");
}

bool constantOfShape(Node &n) {
  std::vector<int64_t> shape;
  if (!n.knownInts(0, "the shape", shape))
    return false;
  HostTensor fill(DType::f32, {1});
  if (const onnx::AttributeProto *a = n.attr("value")) {
    auto v = readTensor(a->t(), n.modelDir);
    if (!v)
      return n.fail("attribute 'value': " + v.error());
    fill = std::move(*v);
  }
  if (fill.size() != 1)
    return n.fail("attribute 'value' must hold one element, it holds " + std::to_string(fill.size()));
  if (checkedBytes(fill.dtype(), shape) < 0)
    return n.fail("shape " + shapeString(shape) + " is negative or too large");
  auto allocated = HostTensor::allocate(fill.dtype(), shape, "ConstantOfShape's output");
  if (!allocated)
    return n.fail(allocated.error());
  HostTensor t = std::move(*allocated);
  for (int64_t i = 0; i < t.size(); ++i)
    t.set(i, fill.at(0));
  folded(n, 0, std::move(t));
  return true;
}

bool shapeOp(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  Shape s = x.shape();
  int64_t rank = int64_t(s.size());
  auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t(0), rank); };
  int64_t start = clamp(n.attrInt("start", 0)), end = n.has("end") ? clamp(n.attrInt("end", rank)) : rank;
  std::vector<int64_t> dims(s.begin() + start, s.begin() + std::max(start, end));
  folded(n, 0, i64Tensor(dims, {int64_t(dims.size())}));
  return true;
}

bool sizeOp(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  folded(n, 0, i64Tensor({numElements(x.shape())}, {}));
  return true;
}

bool range(Node &n) {
  for (size_t i = 0; i < 3; ++i)
    if (i >= n.known.size() || !n.known[i])
      return n.fail("start, limit and delta must be known while importing: kiln's shapes are static");
  double start = n.known[0]->at(0), limit = n.known[1]->at(0), delta = n.known[2]->at(0);
  if (delta == 0 || !std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta))
    return n.fail("start, limit and delta must be finite and delta not 0");
  double steps = std::ceil((limit - start) / delta);
  if (steps > double(int64_t(1) << 31))
    return n.fail("the range has " + std::to_string(steps) + " elements, more than kiln folds");
  int64_t count = std::max<int64_t>(int64_t(steps), 0);
  auto allocated = HostTensor::allocate(n.known[0]->dtype(), {count}, "Range's output");
  if (!allocated)
    return n.fail(allocated.error());
  HostTensor t = std::move(*allocated);
  for (int64_t i = 0; i < count; ++i)
    t.set(i, start + double(i) * delta);
  folded(n, 0, std::move(t));
  return true;
}

//===----------------------------------------------------------------------===//
// Convolution and pooling (2-D)
//===----------------------------------------------------------------------===//

/// Checks a convolution's or pooling's input; a 1-D one ([N, C, L]) becomes
/// [N, C, 1, L] (kiln's are 2-D), its attributes read as [1, value].
bool spatial2d(Node &n, Tensor &x, const char *what, bool &oneD) {
  oneD = rankOf(x) == 3;
  if (oneD)
    x = reshape(x, {x.shape()[0], x.shape()[1], 1, x.shape()[2]});
  if (rankOf(x) != 4)
    return n.fail(std::string(what) + " on a rank-" + std::to_string(rankOf(x)) +
                  " input: kiln has 1-D and 2-D (NCHW) only");
  std::string pad = n.attrString("auto_pad", "NOTSET");
  if (pad != "NOTSET" && pad != "VALID" && pad != "SAME_UPPER" && pad != "SAME_LOWER")
    return n.fail("auto_pad " + pad + " is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  return true;
}

/// [top, left, bottom, right]: the pads attribute (ONNX's order is kiln's),
/// or for auto_pad SAME_* what makes the output ceil(in / stride) (the odd
/// one at the end for SAME_UPPER, at the start for SAME_LOWER).
std::array<int64_t, 4> padsOf(Node &n, Tensor x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                              std::array<int64_t, 2> dilation) {
  std::string mode = n.attrString("auto_pad", "NOTSET");
  if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    std::array<int64_t, 4> p{};
    for (int k = 0; k < 2; ++k) {
      int64_t in = x.shape()[size_t(2 + k)], out = (in + stride[size_t(k)] - 1) / stride[size_t(k)];
      int64_t total = std::max<int64_t>((out - 1) * stride[size_t(k)] + (kernel[size_t(k)] - 1) * dilation[size_t(k)] + 1 - in, 0);
      int64_t small = total / 2, large = total - small;
      p[size_t(k)] = mode == "SAME_UPPER" ? small : large;
      p[size_t(k + 2)] = mode == "SAME_UPPER" ? large : small;
    }
    return p;
  }
  if (mode == "VALID")
    return {0, 0, 0, 0};
  std::vector<int64_t> p = n.attrInts("pads").value_or(std::vector<int64_t>{0, 0, 0, 0});
  if (p.size() == 2) // 1-D: [begin, end] along the one spatial axis
    return {0, p[0], 0, p[1]};
  return {p.size() > 0 ? p[0] : 0, p.size() > 1 ? p[1] : 0, p.size() > 2 ? p[2] : 0, p.size() > 3 ? p[3] : 0};
}

/// A 2-D attribute (strides, dilations, kernel_shape); a 1-D one's value v as [1, v].
std::array<int64_t, 2> pair(Node &n, const char *name, std::array<int64_t, 2> otherwise) {
  auto v = n.attrInts(name);
  if (v && v->size() == 1)
    return {1, (*v)[0]};
  return v && v->size() == 2 ? std::array<int64_t, 2>{(*v)[0], (*v)[1]} : otherwise;
}

/// A 1-D result back from [N, C, 1, L] to [N, C, L].
Tensor unflattened(Tensor y, bool oneD) {
  return oneD && y.valid() ? reshape(y, {y.shape()[0], y.shape()[1], y.shape()[3]}) : y;
}

bool conv(Node &n) {
  Tensor x, w;
  bool oneD;
  if (!n.input(0, x) || !n.input(1, w) || !spatial2d(n, x, "Conv", oneD))
    return false;
  if (oneD && rankOf(w) == 3)
    w = reshape(w, {w.shape()[0], w.shape()[1], 1, w.shape()[2]});
  Conv2dOptions o;
  o.stride = pair(n, "strides", {1, 1});
  o.dilation = pair(n, "dilations", {1, 1});
  if (o.stride[0] < 1 || o.stride[1] < 1 || o.dilation[0] < 1 || o.dilation[1] < 1 || n.attrInt("group", 1) < 1)
    return n.fail("strides, dilations and group must be at least 1");
  std::array<int64_t, 2> kernel{w.shape().size() == 4 ? w.shape()[2] : 1, w.shape().size() == 4 ? w.shape()[3] : 1};
  o.padding = padsOf(n, x, kernel, o.stride, o.dilation);
  o.groups = n.attrInt("group", 1);
  if (n.inputs.size() > 2 && n.inputs[2].valid())
    o.bias = n.inputs[2];
  n.result(0, unflattened(conv2d(x, w, o), oneD));
  return true;
}

template <bool Max> bool pool(Node &n) {
  Tensor x;
  bool oneD;
  if (!n.input(0, x) || !spatial2d(n, x, Max ? "MaxPool" : "AveragePool", oneD))
    return false;
  auto k = n.attrInts("kernel_shape");
  if (!k || k->size() != (oneD ? 1u : 2u))
    return n.fail("kernel_shape must have " + std::string(oneD ? "1 entry" : "2 entries"));
  if (auto d = n.attrInts("dilations"); d && std::any_of(d->begin(), d->end(), [](int64_t v) { return v != 1; }))
    return n.fail("dilations other than 1 are not supported");
  if (Max && n.proto.output_size() > 1 && !n.proto.output(1).empty())
    return n.fail("the Indices output is not supported");
  std::array<int64_t, 2> kernel = pair(n, "kernel_shape", {1, 1});
  Pool2dOptions o;
  std::array<int64_t, 2> stride = pair(n, "strides", {1, 1}); // ONNX's default stride is 1, not the kernel
  if (kernel[0] < 1 || kernel[1] < 1 || stride[0] < 1 || stride[1] < 1)
    return n.fail("kernel_shape and strides must be at least 1");
  o.stride = stride;
  o.padding = padsOf(n, x, kernel, stride, {1, 1});
  if (n.attrInt("ceil_mode", 0) != 0) {
    // The last, partial window as extra padding at the end (a window must
    // start inside the input or its leading padding).
    for (int a = 0; a < 2; ++a) {
      int64_t in = x.shape()[size_t(2 + a)] + o.padding[size_t(a)] + o.padding[size_t(a + 2)];
      int64_t out = (in - kernel[size_t(a)] + stride[size_t(a)] - 1) / stride[size_t(a)] + 1;
      if ((out - 1) * stride[size_t(a)] >= x.shape()[size_t(2 + a)] + o.padding[size_t(a)])
        --out;
      o.padding[size_t(a + 2)] += std::max<int64_t>((out - 1) * stride[size_t(a)] + kernel[size_t(a)] - in, 0);
    }
  }
  o.countIncludePad = n.attrInt("count_include_pad", 0) != 0;
  n.result(0, unflattened(Max ? max_pool2d(x, kernel, o) : avg_pool2d(x, kernel, o), oneD));
  return true;
}

bool globalAveragePool(Node &n) {
  Tensor x;
  bool oneD;
  if (!n.input(0, x) || !spatial2d(n, x, "GlobalAveragePool", oneD))
    return false;
  n.result(0, unflattened(global_avg_pool2d(x), oneD));
  return true;
}

//===----------------------------------------------------------------------===//
// Recurrent layers: ONNX's RNN, GRU and LSTM on kiln's steps
//===----------------------------------------------------------------------===//

/// Rows of `w` [G H, ...] in the gate blocks `order` (ONNX's gate order to
/// PyTorch's, which kiln's steps use).
Tensor reorderGates(Tensor w, const std::vector<int64_t> &order, int64_t hidden) {
  if (!w.valid() || w.shape().empty())
    return {}; // the error that made it so is the graph's
  Shape s = w.shape();
  std::vector<Tensor> blocks;
  for (int64_t g : order) {
    std::vector<int64_t> from(s.size(), 0), to(s);
    from[0] = g * hidden;
    to[0] = (g + 1) * hidden;
    blocks.push_back(kiln::slice(w, from, to));
  }
  return concat(blocks, 0);
}

/// Row `d` of `t` [D, ...] without its leading axis.
Tensor direction(Tensor t, int64_t d) {
  if (!t.valid() || t.shape().empty())
    return {};
  Shape s = t.shape();
  std::vector<int64_t> from(s.size(), 0), to(s);
  from[0] = d;
  to[0] = d + 1;
  Shape rest(s.begin() + 1, s.end());
  return reshape(kiln::slice(t, from, to), rest);
}

enum class Cell { Rnn, Gru, Lstm };

template <Cell C> bool recurrent(Node &n) {
  Tensor x, w, r;
  if (!n.input(0, x) || !n.input(1, w) || !n.input(2, r))
    return false;
  auto optional = [&](size_t i) { return i < n.inputs.size() ? n.inputs[i] : Tensor(); };
  Tensor bias = optional(3), lengths = optional(4), h0 = optional(5), c0 = C == Cell::Lstm ? optional(6) : Tensor();
  for (auto [t, name, rank] : {std::tuple{x, "X", 3}, {w, "W", 3}, {r, "R", 3}, {bias, "B", 2}, {h0, "initial_h", 3},
                               {c0, "initial_c", 3}})
    if (t.valid() && rankOf(t) != rank)
      return n.fail(std::string("input ") + name + " must have rank " + std::to_string(rank) + ", got " +
                    shapeString(t.shape()));
  if (C == Cell::Lstm && optional(7).valid())
    return n.fail("peephole weights (input P) are not supported");
  if (n.has("clip"))
    return n.fail("attribute 'clip' is not supported");
  if (n.attrInt("input_forget", 0) != 0)
    return n.fail("input_forget 1 is not supported");
  if (const onnx::AttributeProto *a = n.attr("activations")) {
    std::vector<std::string> standard = C == Cell::Rnn   ? std::vector<std::string>{"Tanh"}
                                        : C == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                         : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
    for (int i = 0; i < a->strings_size(); ++i)
      if (a->strings(i) != standard[size_t(i) % standard.size()] && !(C == Cell::Rnn && a->strings(i) == "Relu"))
        return n.fail("activation " + a->strings(i) + " is not supported (only the defaults" +
                      std::string(C == Cell::Rnn ? ", or Relu" : "") + ")");
  }
  std::string nonlinearity = "tanh";
  if (const onnx::AttributeProto *a = n.attr("activations"); a && a->strings_size() && a->strings(0) == "Relu")
    nonlinearity = "relu";
  bool batchMajor = n.attrInt("layout", 0) == 1;
  std::string dir = n.attrString("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    return n.fail("direction \"" + dir + "\" is not forward, reverse or bidirectional");
  const int64_t D = dir == "bidirectional" ? 2 : 1, G = C == Cell::Rnn ? 1 : C == Cell::Gru ? 3 : 4;
  if (batchMajor)
    x = transpose(x, {1, 0, 2});
  const int64_t T = x.shape()[0], B = x.shape()[1], I = x.shape()[2];
  const int64_t H = n.attrInt("hidden_size", r.shape().back());
  if (lengths.valid()) {
    bool full = n.known[4] != nullptr;
    for (int64_t i = 0; full && i < n.known[4]->size(); ++i)
      full = int64_t(n.known[4]->at(i)) == T;
    if (!full)
      return n.fail("sequence_lens shorter than the sequence are not supported (every sequence runs all " +
                    std::to_string(T) + " steps)");
  }
  if (batchMajor && h0.valid())
    h0 = transpose(h0, {1, 0, 2});
  if (batchMajor && c0.valid())
    c0 = transpose(c0, {1, 0, 2});
  std::vector<int64_t> order = C == Cell::Rnn ? std::vector<int64_t>{0}
                               : C == Cell::Gru ? std::vector<int64_t>{1, 0, 2}     // z r h -> r z n
                                                : std::vector<int64_t>{0, 2, 3, 1}; // i o f c -> i f g o
  bool linearBeforeReset = n.attrInt("linear_before_reset", 0) != 0;
  std::vector<Tensor> ys, hs, cs;
  for (int64_t d = 0; d < D; ++d) {
    bool reverse = dir == "reverse" || d == 1;
    Tensor wd = reorderGates(direction(w, d), order, H);            // [G H, I]
    Tensor whhT = transpose(reorderGates(direction(r, d), order, H), {1, 0}); // [H, G H]
    Tensor wb, rb;
    if (bias.valid()) {
      Tensor bd = direction(bias, d); // [2 G H]: Wb then Rb
      wb = reorderGates(kiln::slice(bd, {0}, {G * H}), order, H);
      rb = reorderGates(kiln::slice(bd, {G * H}, {2 * G * H}), order, H);
    }
    Tensor projected = matmul(reshape(x, {T * B, I}), wd, false, true);
    if (wb.valid())
      projected = add(projected, wb);
    projected = reshape(projected, {T, B, G * H});
    std::vector<Tensor> inits{h0.valid() ? direction(h0, d) : n.graph.constant(HostTensor(x.dtype(), {B, H}))};
    if (C == Cell::Lstm)
      inits.push_back(c0.valid() ? direction(c0, d) : n.graph.constant(HostTensor(x.dtype(), {B, H})));
    ScanResult loop = scan(inits, {projected}, [&](const std::vector<Tensor> &carry, const std::vector<Tensor> &row) {
      if (C == Cell::Lstm) {
        LstmState next = lstm_step(row[0], carry[0], carry[1], whhT, rb);
        return ScanStep{{next.h, next.c}, {next.h}};
      }
      Tensor next = C == Cell::Gru ? gru_step(row[0], carry[0], whhT, rb, linearBeforeReset)
                                   : rnn_step(row[0], carry[0], whhT, rb, nonlinearity);
      return ScanStep{{next}, {next}};
    }, reverse);
    if (loop.outputs.empty())
      return n.fail("the recurrence could not be built");
    ys.push_back(reshape(loop.outputs[0], {T, 1, B, H}));
    hs.push_back(reshape(loop.carries[0], {1, B, H}));
    if (C == Cell::Lstm)
      cs.push_back(reshape(loop.carries[1], {1, B, H}));
  }
  Tensor y = D == 1 ? ys[0] : concat(ys, 1);  // [T, D, B, H]
  Tensor yh = D == 1 ? hs[0] : concat(hs, 0); // [D, B, H]
  if (batchMajor) {
    y = transpose(y, {2, 0, 1, 3});
    yh = transpose(yh, {1, 0, 2});
  }
  n.result(0, y);
  n.result(1, yh);
  if (C == Cell::Lstm) {
    Tensor yc = D == 1 ? cs[0] : concat(cs, 0);
    n.result(2, batchMajor ? transpose(yc, {1, 0, 2}) : yc);
  }
  return true;
}

const std::map<std::string, Converter> &table() {
  static const std::map<std::string, Converter> converters = {
      {"Abs", unary<abs>},
      {"Add", binary<add>},
      {"And", logicalAnd},
      {"AveragePool", pool<false>},
      {"BatchNormalization", batchNormalization},
      {"Cast", castOp},
      {"Clip", clip},
      {"Concat", concatOp},
      {"Constant", constant},
      {"ConstantOfShape", constantOfShape},
      {"Conv", conv},
      {"Div", binary<div>},
      {"Dropout", dropout},
      {"Elu", elu},
      {"Equal", compare<eq>},
      {"Erf", unary<erf>},
      {"Exp", unary<exp>},
      {"Expand", expand},
      {"Flatten", flatten},
      {"Gather", gather},
      {"GatherElements", gatherElements},
      {"Gemm", gemm},
      {"GRU", recurrent<Cell::Gru>},
      {"GlobalAveragePool", globalAveragePool},
      {"Greater", compare<gt>},
      {"GreaterOrEqual", compare<ge>},
      {"HardSigmoid", hardSigmoid},
      {"Identity", identity},
      {"LSTM", recurrent<Cell::Lstm>},
      {"LayerNormalization", layerNormalization},
      {"LeakyRelu", leakyRelu},
      {"Less", compare<lt>},
      {"LessOrEqual", compare<le>},
      {"Log", unary<log>},
      {"LogSoftmax", softmaxLike<log_softmax>},
      {"MatMul", matmulOp},
      {"Max", variadic<larger>},
      {"MaxPool", pool<true>},
      {"NegativeLogLikelihoodLoss", negativeLogLikelihoodLoss},
      {"Mean", mean},
      {"Min", variadic<smaller>},
      {"Mul", binary<mul>},
      {"Neg", unary<neg>},
      {"Not", logicalNot},
      {"Or", logicalOr},
      {"PRelu", prelu},
      {"Pow", power},
      {"RNN", recurrent<Cell::Rnn>},
      {"Range", range},
      {"Reciprocal", reciprocal},
      {"ReduceL1", reduce<Reduce::L1>},
      {"ReduceL2", reduce<Reduce::L2>},
      {"ReduceLogSum", reduce<Reduce::LogSum>},
      {"ReduceLogSumExp", reduce<Reduce::LogSumExp>},
      {"ReduceMax", reduce<Reduce::Max>},
      {"ReduceMean", reduce<Reduce::Mean>},
      {"ReduceMin", reduce<Reduce::Min>},
      {"ReduceSum", reduce<Reduce::Sum>},
      {"ReduceSumSquare", reduce<Reduce::SumSquare>},
      {"Relu", unary<relu>},
      {"Reshape", reshapeOp},
      {"Selu", selu},
      {"Shape", shapeOp},
      {"Sigmoid", unary<sigmoid>},
      {"Size", sizeOp},
      {"Slice", slice},
      {"Softmax", softmaxLike<softmax>},
      {"SoftmaxCrossEntropyLoss", softmaxCrossEntropyLoss},
      {"Softplus", softplus},
      {"Softsign", softsign},
      {"Split", split},
      {"Sqrt", unary<sqrt>},
      {"Squeeze", squeeze},
      {"Sub", binary<sub>},
      {"Sum", variadic<add>},
      {"Tanh", unary<tanh>},
      {"ThresholdedRelu", thresholdedRelu},
      {"Transpose", transposeOp},
      {"Trilu", trilu},
      {"Unsqueeze", unsqueeze},
      {"Where", where},
  };
  return converters;
}

} // namespace

Converter converterFor(const std::string &opType) {
  auto it = table().find(opType);
  return it == table().end() ? nullptr : it->second;
}

} // namespace kiln::onnx_import
