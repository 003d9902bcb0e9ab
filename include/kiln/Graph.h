//===- kiln/Graph.h - build an nn graph from C++ ------------------*- C++ -*-===//
//
//   kiln::Graph g("neuron");
//   auto x = g.input("x", {64, 1});
//   auto a = g.param("a", {1, 1}, kiln::ParamInit::normal(0, 1, 7));
//   auto b = g.param("b", {1}, kiln::ParamInit::zeros());
//   g.output(kiln::sigmoid(kiln::matmul(x, a) + b), "y");
//
// Every op records the caller's file:line as its location, so a shape error
// (reported through Graph::status(), never by aborting) names the user's
// line. An op on an invalid Tensor yields an invalid Tensor; the first error
// is kept.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_H
#define KILN_GRAPH_H

#include "kiln/Function.h"
#include "kiln/HostTensor.h"
#include "kiln/Status.h"

#include <memory>
#include <source_location>
#include <array>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

using Where = std::source_location;
class Graph;

/// A value in a Graph (an SSA value of the nn IR).
class Tensor {
public:
  Tensor() = default;
  bool valid() const { return graph_ && value_; }
  Shape shape() const;
  DType dtype() const;
  Graph *graph() const { return graph_; }
  void *handle() const { return value_; }

private:
  friend class Graph;
  Tensor(Graph *graph, void *value) : graph_(graph), value_(value) {}
  Graph *graph_ = nullptr;
  void *value_ = nullptr;
};

/// An operand of an operator; captures the caller's line (`a + b`) and
/// accepts a plain number (a constant of the other operand's dtype).
struct Operand {
  Operand(Tensor t, Where where = Where::current()) : tensor(t), where(where) {}
  Operand(double v, Where where = Where::current()) : scalar(v), isScalar(true), where(where) {}
  Tensor tensor;
  double scalar = 0;
  bool isScalar = false;
  Where where;
};

class Graph {
public:
  explicit Graph(const std::string &name = "main");
  ~Graph();
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  Tensor input(const std::string &name, const Shape &shape, DType dtype = DType::f32,
               Where where = Where::current());
  Tensor param(const std::string &name, const Shape &shape, const ParamInit &init,
               DType dtype = DType::f32, Where where = Where::current());
  Tensor constant(const HostTensor &value, Where where = Where::current());
  Tensor scalar(double value, DType dtype = DType::f32, Where where = Where::current());
  void output(Tensor value, const std::string &name, Where where = Where::current());

  /// The index along `axis` as a tensor of `shape` (nn.iota).
  Tensor iota(const Shape &shape, int64_t axis, DType dtype = DType::i64,
              Where where = Where::current());
  /// [0, 1, ..., n-1].
  Tensor arange(int64_t n, DType dtype = DType::i64, Where where = Where::current());
  /// A lower-triangular [n, n] boolean mask: true where column <= row, so a
  /// position attends to itself and the past (two iotas and nn.ge).
  Tensor causal_mask(int64_t n, Where where = Where::current());

  /// The first error met while building, or ok.
  Status status() const;
  /// The graph as kiln IR text (the nn phase, with locations).
  std::string str(bool withLocations = false) const;
  const std::string &name() const;

  struct Impl;
  Impl &impl() const { return *impl_; }
  Tensor wrap(void *value) { return Tensor(this, value); }

private:
  std::unique_ptr<Impl> impl_;
};

ParamInit normalInit(double mean, double std, uint64_t seed);
ParamInit uniformInit(double low, double high, uint64_t seed);
ParamInit zerosInit();
ParamInit onesInit();
ParamInit valuesInit(std::vector<double> values);
/// The initial value as a tensor (its dtype and shape the parameter's).
ParamInit tensorInit(HostTensor value);

// Unary elementwise.
Tensor neg(Tensor x, Where where = Where::current());
Tensor abs(Tensor x, Where where = Where::current());
Tensor exp(Tensor x, Where where = Where::current());
Tensor log(Tensor x, Where where = Where::current());
Tensor sqrt(Tensor x, Where where = Where::current());
Tensor rsqrt(Tensor x, Where where = Where::current());
Tensor tanh(Tensor x, Where where = Where::current());
Tensor sigmoid(Tensor x, Where where = Where::current());
Tensor relu(Tensor x, Where where = Where::current());
Tensor erf(Tensor x, Where where = Where::current());
/// x, with no gradient flowing back into it.
Tensor stop_gradient(Tensor x, Where where = Where::current());

// Binary elementwise with NumPy broadcasting.
Tensor add(Operand a, Operand b, Where where = Where::current());
Tensor sub(Operand a, Operand b, Where where = Where::current());
Tensor mul(Operand a, Operand b, Where where = Where::current());
Tensor div(Operand a, Operand b, Where where = Where::current());
Tensor maximum(Operand a, Operand b, Where where = Where::current());
Tensor minimum(Operand a, Operand b, Where where = Where::current());
Tensor operator+(Operand a, Operand b);
Tensor operator-(Operand a, Operand b);
Tensor operator*(Operand a, Operand b);
Tensor operator/(Operand a, Operand b);
Tensor operator-(Operand x);

Tensor pow(Operand a, Operand b, Where where = Where::current());

// Comparisons (boolean results) and selection, with broadcasting.
Tensor eq(Operand a, Operand b, Where where = Where::current());
Tensor ne(Operand a, Operand b, Where where = Where::current());
Tensor lt(Operand a, Operand b, Where where = Where::current());
Tensor le(Operand a, Operand b, Where where = Where::current());
Tensor gt(Operand a, Operand b, Where where = Where::current());
Tensor ge(Operand a, Operand b, Where where = Where::current());
Tensor select(Tensor cond, Operand a, Operand b, Where where = Where::current());
Tensor cast(Tensor x, DType to, Where where = Where::current());

Tensor matmul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false,
              Where where = Where::current());

Tensor reduce_sum(Tensor x, std::vector<int64_t> axes, bool keepdims = false,
                  Where where = Where::current());
Tensor reduce_mean(Tensor x, std::vector<int64_t> axes, bool keepdims = false,
                   Where where = Where::current());
Tensor reduce_max(Tensor x, std::vector<int64_t> axes, bool keepdims = false,
                  Where where = Where::current());
Tensor softmax(Tensor x, int64_t axis = -1, Where where = Where::current());
Tensor log_softmax(Tensor x, int64_t axis = -1, Where where = Where::current());
Tensor layer_norm(Tensor x, std::vector<int64_t> axes = {-1}, double eps = 1e-5,
                  Where where = Where::current());
Tensor layer_norm(Tensor x, Tensor gamma, Tensor beta, std::vector<int64_t> axes = {-1},
                  double eps = 1e-5, Where where = Where::current());
Tensor gelu(Tensor x, bool tanhApproximation = false, Where where = Where::current());

/// What a 2-D convolution takes besides its input and weight.
struct Conv2dOptions {
  std::array<int64_t, 2> stride = {1, 1};          // [sh, sw]
  std::array<int64_t, 4> padding = {0, 0, 0, 0};   // zeros [top, left, bottom, right] (ONNX's order)
  std::array<int64_t, 2> dilation = {1, 1};        // [dh, dw]
  int64_t groups = 1;                              // divides C and O; C = O = groups: depthwise
  Tensor bias;                                     // [O], added per output channel (optional)
};
/// 2-D convolution (cross-correlation, as PyTorch's and ONNX's Conv): x
/// [N, C, H, W], w [O, C / groups, KH, KW] -> [N, O, Ho, Wo] with
/// Ho = (H + top + bottom - dh (KH - 1) - 1) / sh + 1, rounded down.
Tensor conv2d(Tensor x, Tensor w, const Conv2dOptions &options = Conv2dOptions(),
              Where where = Where::current());

/// What batch_norm takes besides its tensors.
struct BatchNormOptions {
  bool training = false; // the batch's statistics (and the running ones updated), else the stored ones
  double eps = 1e-5;
  double momentum = 0.1; // the running averages' update weight (PyTorch's)
};
struct BatchNormResult {
  Tensor y;                // normalized, scaled by gamma, shifted by beta
  Tensor mean, variance;   // the running statistics: updated (training) or the given ones
};
/// Batch normalization of x [N, C, ...] per channel (axis 1); gamma, beta,
/// mean and variance are [C]. In training the running statistics come back
/// updated (mean and unbiased variance, as PyTorch's BatchNorm): feed them
/// to the next step. They are not differentiated.
BatchNormResult batch_norm(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor variance,
                           const BatchNormOptions &options = BatchNormOptions(), Where where = Where::current());

/// A 2-D pooling window's stride and padding (the kernel is an argument).
struct Pool2dOptions {
  std::optional<std::array<int64_t, 2>> stride; // [sh, sw]; the kernel's size when not given
  std::array<int64_t, 4> padding = {0, 0, 0, 0}; // [top, left, bottom, right], each below the kernel
  /// avg_pool2d: divide by KH * KW, the padding counting as zeros
  /// (PyTorch's default); false: by the window's positions inside x (ONNX's).
  bool countIncludePad = true;
};
/// Max pooling over x [N, C, H, W] with a [KH, KW] window; the gradient
/// goes to each window's first maximum (row-major) where several tie.
Tensor max_pool2d(Tensor x, std::array<int64_t, 2> kernel, const Pool2dOptions &options = Pool2dOptions(),
                  Where where = Where::current());
Tensor avg_pool2d(Tensor x, std::array<int64_t, 2> kernel, const Pool2dOptions &options = Pool2dOptions(),
                  Where where = Where::current());
/// The mean over H and W of x [N, C, H, W]: [N, C, 1, 1].
Tensor global_avg_pool2d(Tensor x, Where where = Where::current());

/// What nn.attention takes besides q, k and v (all optional).
struct AttentionOptions {
  /// Boolean, broadcastable to [..., Lq, Lk]: true attends (PyTorch's convention).
  Tensor mask;
  /// Float, broadcastable to [..., Lq, Lk], added to the scaled scores (-inf excludes a key).
  Tensor bias;
  /// Key j for query i only when j <= i + (Lk - Lq): the diagonal aligned at
  /// the end (PyTorch's is_causal aligns it at the start; equal when Lq == Lk).
  bool causal = false;
  /// The scores' scale; 1 / sqrt(D) when not given.
  std::optional<double> scale;
};
/// Scaled dot-product attention: softmax(scale q k^T + bias, over the keys
/// that take part) v, for q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv]
/// with the same leading dimensions; a query with no key left gives zeros.
Tensor attention(Tensor q, Tensor k, Tensor v, const AttentionOptions &options = {},
                 Where where = Where::current());
/// Zeroes each element with probability `rate` and scales the others by
/// 1 / (1 - rate); the mask is a hash of (seed, step, element index), so
/// the same seed and step give the same mask on any thread count. `step`
/// is a rank-0 i64 or i32 input (pass the training step's number).
Tensor dropout(Tensor x, Tensor step, double rate, int64_t seed = 0, Where where = Where::current());

// Indexing.
Tensor gather(Tensor table, Tensor indices, Where where = Where::current());
Tensor concat(const std::vector<Tensor> &inputs, int64_t axis, Where where = Where::current());
/// NumPy's x[start:stop:step] on every axis (steps default to 1).
Tensor slice(Tensor x, std::vector<int64_t> starts, std::vector<int64_t> stops,
             std::vector<int64_t> steps = {}, Where where = Where::current());

Tensor reshape(Tensor x, const Shape &shape, Where where = Where::current());
Tensor transpose(Tensor x, std::vector<int64_t> perm, Where where = Where::current());
Tensor broadcast_to(Tensor x, const Shape &shape, Where where = Where::current());

Tensor l1_loss(Tensor prediction, Tensor label, Where where = Where::current());
Tensor mse_loss(Tensor prediction, Tensor label, Where where = Where::current());
/// Mean over label positions of logsumexp(logits) - logits[label].
Tensor cross_entropy(Tensor logits, Tensor labels, Where where = Where::current());

/// Zeros of `shape` holding `src` at slice(starts, stops, steps)'s positions.
Tensor slice_scatter(Tensor src, const Shape &shape, std::vector<int64_t> starts,
                     std::vector<int64_t> stops, std::vector<int64_t> steps,
                     Where where = Where::current());
/// A table of `rows` rows: result[indices[i]] += updates[i] (gather's adjoint).
Tensor scatter_add(Tensor updates, Tensor indices, int64_t rows, Where where = Where::current());

} // namespace kiln

#endif
