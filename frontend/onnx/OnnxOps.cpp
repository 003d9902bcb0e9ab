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
  for (int64_t k = 0; k < known[i]->size(); ++k)
    out.push_back(int64_t(known[i]->at(k)));
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

/// A value folded while importing: a constant in the graph, known to later nodes.
void folded(Node &n, size_t i, HostTensor value) {
  n.result(i, n.graph.constant(value), std::move(value));
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

template <Tensor (*F)(Tensor, Where)> bool unary(Node &n) {
  Tensor x;
  if (!n.input(0, x))
    return false;
  n.result(0, F(x, Where::current()));
  return true;
}

template <Tensor (*F)(Operand, Operand, Where)> bool binary(Node &n) {
  Tensor a, b;
  if (!n.input(0, a) || !n.input(1, b))
    return false;
  n.result(0, F(a, b, Where::current()));
  return true;
}

bool isFloat(Tensor t) { return t.dtype() == DType::f32 || t.dtype() == DType::f64; }

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

template <Tensor (*F)(Operand, Operand, Where)> bool compare(Node &n) { return binary<F>(n); }

bool where(Node &n) {
  Tensor c, a, b;
  if (!n.input(0, c) || !n.input(1, a) || !n.input(2, b))
    return false;
  n.result(0, select(c, a, b));
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
  if (rowA || columnB) {
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
  if (n.attrInt("training_mode", 0) != 0 || (n.opset < 9 && n.attrInt("is_test", 1) == 0))
    return n.fail("training mode is not supported (inference only: the stored statistics)");
  for (int i = 1; i < n.proto.output_size(); ++i)
    if (!n.proto.output(i).empty())
      return n.fail("output #" + std::to_string(i) + " (the running statistics) is not supported in inference");
  BatchNormOptions o;
  o.eps = n.attrFloat("epsilon", 1e-5f);
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
  n.result(0, reshape(x, shape));
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
  n.result(0, reshape(x, out));
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
      values.push_back(int64_t(n.known[i]->at(k)));
  }
  if (allKnown) {
    folded(n, 0, i64Tensor(values, {int64_t(values.size())}));
    return true;
  }
  n.result(0, xs.size() == 1 ? xs[0] : concat(xs, axis));
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
  std::vector<int64_t> from(size_t(rank), 0), to(s), by(size_t(rank), 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i], dim = s[size_t(a)];
    if (steps[i] <= 0)
      return n.fail("step " + std::to_string(steps[i]) + " on axis " + std::to_string(a) +
                    ": only positive steps are supported");
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + dim : v, int64_t(0), dim); };
    from[size_t(a)] = clamp(starts[i]);
    to[size_t(a)] = std::max(clamp(ends[i]), from[size_t(a)]);
    by[size_t(a)] = steps[i];
  }
  n.result(0, kiln::slice(x, from, to, by));
  return true;
}

bool gather(Node &n) {
  Tensor data, indices;
  if (!n.input(0, data) || !n.input(1, indices))
    return false;
  int64_t rank = rankOf(data), axis = normalized(n.attrInt("axis", 0), rank);
  if (axis < 0)
    return n.fail("axis " + std::to_string(n.attrInt("axis", 0)) + " is out of range for rank " + std::to_string(rank));
  Shape s = data.shape();
  // Negative indices count from the end (ONNX); kiln's gather takes [0, n):
  // known indices are moved here, others must be in [0, n) (kiln's run-time
  // check reports one that is not).
  if (n.known[1]) {
    HostTensor moved = *n.known[1];
    for (int64_t i = 0; i < moved.size(); ++i)
      if (moved.at(i) < 0)
        moved.set(i, moved.at(i) + double(s[size_t(axis)]));
    indices = n.graph.constant(moved);
  } else {
    // idx < 0 ? idx + n : idx, the addition in double (kiln's add takes
    // floats; exact below 2^53).
    Tensor shifted = cast(add(cast(indices, DType::f64), double(s[size_t(axis)])), indices.dtype());
    indices = select(lt(indices, 0.0), shifted, indices);
  }
  if (axis == 0) {
    n.result(0, kiln::gather(data, indices));
    return true;
  }
  // The axis first, gathered, then the index dimensions back in its place.
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
  n.result(0, transpose(y, back));
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
  // Inference: the input unchanged (training_mode, opset 12+, must be off).
  if (n.opset >= 12 && n.inputs.size() > 2 && n.inputs[2].valid()) {
    if (!n.known[2] || n.known[2]->at(0) != 0)
      return n.fail("training mode is not supported (inference only)");
  }
  n.result(0, x);
  if (n.proto.output_size() > 1 && !n.proto.output(1).empty()) {
    HostTensor mask(DType::boolean, x.shape());
    for (int64_t i = 0; i < mask.size(); ++i)
      mask.data<uint8_t>()[i] = 1;
    folded(n, 1, std::move(mask));
  }
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
  HostTensor t(fill.dtype(), shape);
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
  if (delta == 0)
    return n.fail("delta is 0");
  int64_t count = std::max<int64_t>(int64_t(std::ceil((limit - start) / delta)), 0);
  HostTensor t(n.known[0]->dtype(), {count});
  for (int64_t i = 0; i < count; ++i)
    t.set(i, start + double(i) * delta);
  folded(n, 0, std::move(t));
  return true;
}

//===----------------------------------------------------------------------===//
// Convolution and pooling (2-D)
//===----------------------------------------------------------------------===//

bool spatial2d(Node &n, Tensor x, const char *what) {
  if (rankOf(x) != 4)
    return n.fail(std::string(what) + " on a rank-" + std::to_string(rankOf(x)) + " input: kiln has 2-D (NCHW) only");
  std::string pad = n.attrString("auto_pad", "NOTSET");
  if (pad != "NOTSET" && pad != "VALID")
    return n.fail("auto_pad " + pad + " is not supported (give explicit pads)");
  return true;
}

std::array<int64_t, 4> padsOf(Node &n) {
  std::vector<int64_t> p = n.attrInts("pads").value_or(std::vector<int64_t>{0, 0, 0, 0});
  // ONNX: [top, left, bottom, right] for 2-D, as kiln's padding.
  return {p.size() > 0 ? p[0] : 0, p.size() > 1 ? p[1] : 0, p.size() > 2 ? p[2] : 0, p.size() > 3 ? p[3] : 0};
}

bool conv(Node &n) {
  Tensor x, w;
  if (!n.input(0, x) || !n.input(1, w) || !spatial2d(n, x, "Conv"))
    return false;
  Conv2dOptions o;
  o.padding = padsOf(n);
  if (auto s = n.attrInts("strides"); s && s->size() == 2)
    o.stride = {(*s)[0], (*s)[1]};
  if (auto d = n.attrInts("dilations"); d && d->size() == 2)
    o.dilation = {(*d)[0], (*d)[1]};
  o.groups = n.attrInt("group", 1);
  if (n.inputs.size() > 2 && n.inputs[2].valid())
    o.bias = n.inputs[2];
  n.result(0, conv2d(x, w, o));
  return true;
}

template <bool Max> bool pool(Node &n) {
  Tensor x;
  if (!n.input(0, x) || !spatial2d(n, x, Max ? "MaxPool" : "AveragePool"))
    return false;
  auto k = n.attrInts("kernel_shape");
  if (!k || k->size() != 2)
    return n.fail("kernel_shape must have 2 entries");
  if (n.attrInt("ceil_mode", 0) != 0)
    return n.fail("ceil_mode 1 is not supported");
  if (auto d = n.attrInts("dilations"); d && (*d != std::vector<int64_t>{1, 1}))
    return n.fail("dilations other than 1 are not supported");
  if (Max && n.proto.output_size() > 1 && !n.proto.output(1).empty())
    return n.fail("the Indices output is not supported");
  Pool2dOptions o;
  o.padding = padsOf(n);
  if (auto s = n.attrInts("strides"); s && s->size() == 2)
    o.stride = std::array<int64_t, 2>{(*s)[0], (*s)[1]};
  else
    o.stride = std::array<int64_t, 2>{1, 1}; // ONNX's default stride is 1, not the kernel
  o.countIncludePad = n.attrInt("count_include_pad", 0) != 0;
  std::array<int64_t, 2> kernel{(*k)[0], (*k)[1]};
  n.result(0, Max ? max_pool2d(x, kernel, o) : avg_pool2d(x, kernel, o));
  return true;
}

bool globalAveragePool(Node &n) {
  Tensor x;
  if (!n.input(0, x) || !spatial2d(n, x, "GlobalAveragePool"))
    return false;
  n.result(0, global_avg_pool2d(x));
  return true;
}

//===----------------------------------------------------------------------===//
// Recurrent layers: ONNX's RNN, GRU and LSTM on kiln's steps
//===----------------------------------------------------------------------===//

/// Rows of `w` [G H, ...] in the gate blocks `order` (ONNX's gate order to
/// PyTorch's, which kiln's steps use).
Tensor reorderGates(Tensor w, const std::vector<int64_t> &order, int64_t hidden) {
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
      {"Sqrt", unary<sqrt>},
      {"Squeeze", squeeze},
      {"Sub", binary<sub>},
      {"Sum", variadic<add>},
      {"Tanh", unary<tanh>},
      {"ThresholdedRelu", thresholdedRelu},
      {"Transpose", transposeOp},
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

std::vector<std::string> supportedOps() {
  std::vector<std::string> ops;
  for (const auto &entry : table())
    ops.push_back(entry.first);
  return ops;
}

} // namespace kiln::onnx_import
