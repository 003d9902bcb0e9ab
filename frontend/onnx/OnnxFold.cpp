//===- OnnxFold.cpp - elementwise ONNX ops on values known at import ------===//
//
// Exported models compute shapes at run time: Shape, then Sub, Mul, Cast,
// Equal, Where... on int64 tensors, into a Reshape or an Expand. kiln's
// shapes are static and its arithmetic ops take floats, so where every
// input of such a node is known while importing (small tensors: shapes,
// axes, bounds), the importer computes it here, NumPy's broadcasting
// included, and the result is a known value like a Constant's.
//
//===----------------------------------------------------------------------===//
#include "frontend/onnx/OnnxOps.h"

#include <cmath>
#include <functional>
#include <map>

namespace kiln::onnx_import {

namespace {

constexpr int64_t kMaxFoldedElements = 4096;

/// NumPy's broadcast of the shapes, or nothing.
std::optional<Shape> broadcastShape(const std::vector<const HostTensor *> &xs) {
  size_t rank = 0;
  for (const HostTensor *x : xs)
    rank = std::max(rank, x->shape().size());
  Shape out(rank, 1);
  for (const HostTensor *x : xs) {
    const Shape &s = x->shape();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t &o = out[rank - s.size() + i];
      if (s[i] != 1 && o != 1 && s[i] != o)
        return std::nullopt;
      if (s[i] != 1)
        o = s[i];
    }
  }
  return out;
}

/// Element `flat` of the broadcast result, read from `x`.
double broadcastAt(const HostTensor &x, const Shape &out, int64_t flat) {
  const Shape &s = x.shape();
  int64_t index = 0, stride = 1;
  for (size_t i = out.size(); i-- > 0;) {
    int64_t coordinate = flat % out[i];
    flat /= out[i];
    size_t j = i + s.size();
    if (j >= out.size()) { // the axis exists in x
      j -= out.size();
      if (s[j] != 1)
        index += coordinate * stride;
      stride *= s[j];
    }
  }
  return x.at(index);
}

using Elementwise = std::function<double(const std::vector<double> &)>;

struct Rule {
  Elementwise f;
  bool boolResult = false;
  size_t inputs = 2; // the node must have exactly these (a malformed one is left to the converter's error)
};

const std::map<std::string, Rule> &rules() {
  static const std::map<std::string, Rule> table = {
      {"Add", {[](auto &v) { return v[0] + v[1]; }}},
      {"Sub", {[](auto &v) { return v[0] - v[1]; }}},
      {"Mul", {[](auto &v) { return v[0] * v[1]; }}},
      {"Div", {[](auto &v) { return v[1] == 0 ? NAN : v[0] / v[1]; }}},
      {"Neg", {[](auto &v) { return -v[0]; }, false, 1}},
      {"Abs", {[](auto &v) { return std::abs(v[0]); }, false, 1}},
      {"Max", {[](auto &v) { return std::max(v[0], v[1]); }}},
      {"Min", {[](auto &v) { return std::min(v[0], v[1]); }}},
      {"Equal", {[](auto &v) { return double(v[0] == v[1]); }, true}},
      {"Less", {[](auto &v) { return double(v[0] < v[1]); }, true}},
      {"Greater", {[](auto &v) { return double(v[0] > v[1]); }, true}},
      {"Not", {[](auto &v) { return double(v[0] == 0); }, true, 1}},
      {"And", {[](auto &v) { return double(v[0] != 0 && v[1] != 0); }, true}},
      {"Or", {[](auto &v) { return double(v[0] != 0 || v[1] != 0); }, true}},
      {"Where", {[](auto &v) { return v[0] != 0 ? v[1] : v[2]; }, false, 3}},
      {"Floor", {[](auto &v) { return std::floor(v[0]); }, false, 1}},
      // Mod with fmod = 0 (the default): the result has the divisor's sign (Python's %).
      {"Mod", {[](auto &v) { return v[1] == 0 ? NAN : v[0] - std::floor(v[0] / v[1]) * v[1]; }}},
      {"Ceil", {[](auto &v) { return std::ceil(v[0]); }, false, 1}},
  };
  return table;
}

} // namespace

bool foldKnownValues(Node &n) {
  const std::string &op = n.proto.op_type();
  bool isCast = op == "Cast";
  if (op == "Mod" && n.attrInt("fmod", 0) != 0)
    return false;
  auto rule = rules().find(op);
  if (!isCast && rule == rules().end())
    return false;
  if (n.known.size() != (isCast ? 1 : rule->second.inputs) || n.proto.output_size() != 1)
    return false;
  for (const HostTensor *k : n.known)
    if (!k || k->size() > kMaxFoldedElements)
      return false;
  std::optional<Shape> shape = broadcastShape(n.known);
  if (!shape || numElements(*shape) > kMaxFoldedElements)
    return false;
  DType dtype = n.known.back()->dtype(); // Where: its values' type; the others: their operands'
  if (isCast) {
    switch (n.attrInt("to", 0)) {
    case onnx::TensorProto::FLOAT: dtype = DType::f32; break;
    case onnx::TensorProto::DOUBLE: dtype = DType::f64; break;
    case onnx::TensorProto::INT32: dtype = DType::i32; break;
    case onnx::TensorProto::INT64: dtype = DType::i64; break;
    case onnx::TensorProto::BOOL: dtype = DType::boolean; break;
    default: return false;
    }
  } else if (rule->second.boolResult) {
    dtype = DType::boolean;
  }
  bool integral = dtype == DType::i32 || dtype == DType::i64;
  HostTensor out(dtype, *shape);
  std::vector<double> v(n.known.size());
  for (int64_t i = 0; i < out.size(); ++i) {
    for (size_t k = 0; k < n.known.size(); ++k)
      v[k] = broadcastAt(*n.known[k], *shape, i);
    double r = isCast ? v[0] : rule->second.f(v);
    if (integral && op == "Div") // integer division truncates, as C and ONNX's kernels do
      r = std::trunc(r);
    if (integral && isCast)
      r = std::trunc(r);
    if (dtype == DType::boolean)
      r = r != 0;
    out.set(i, r);
  }
  n.result(0, n.graph.constant(out), std::move(out));
  return true;
}

} // namespace kiln::onnx_import
