//===- OpCases.h - one table of op test cases ------------------*- C++ -*-===//
//
// Each row builds a small graph with the C++ API over awkward shapes (1,
// primes, broadcasting, rank 0). OpsTest.cpp checks every row's forward
// values against the reference interpreter (f32 and f64); GradTest.cpp
// checks every row with float inputs and a float output backward, against
// finite differences. Adding an op adds rows here.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_OPCASES_H
#define KILN_TESTS_OPCASES_H

#include "TestUtil.h"
#include "kiln/kiln.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace kiln::test {

using Build = std::function<Tensor(Graph &, const std::vector<Tensor> &)>;

/// An input that is not a float of the test's dtype: integers drawn from
/// [0, bound) of `dtype` (i32, i64 or bool).
struct IntInput {
  size_t input;
  DType dtype;
  int64_t bound;
};

struct OpCase {
  std::string name;
  std::vector<Shape> inputs;
  Build build;
  double lo = -2, hi = 2; // input range
  std::vector<IntInput> ints = {};
  /// False where finite differences of the reference cannot see the true
  /// gradient (stop_gradient; a round trip through f32).
  bool finiteDifferences = true;
  /// The GradTest test that checks this row's gradient instead (where
  /// finiteDifferences is false); OpCompletenessTest counts it.
  const char *gradientTest = nullptr;
};

inline Build unaryOp(Tensor (*f)(Tensor, Where)) {
  return [f](Graph &, const std::vector<Tensor> &x) { return f(x[0], Where::current()); };
}
inline Build binaryOp(Tensor (*f)(Operand, Operand, Where)) {
  return [f](Graph &, const std::vector<Tensor> &x) { return f(x[0], x[1], Where::current()); };
}

inline std::vector<OpCase> allCases() {
  std::vector<OpCase> cases;
  const std::vector<Shape> unaryShapes = {{1}, {7}, {3, 33}, {2, 1, 65}, {}};
  struct Unary {
    const char *name;
    Tensor (*fn)(Tensor, Where);
    double lo, hi;
  };
  for (const Unary &u : {Unary{"neg", neg, -3, 3}, Unary{"abs", abs, -3, 3},
                         Unary{"exp", exp, -10, 10}, Unary{"log", log, 0.01, 50},
                         Unary{"sqrt", sqrt, 0.01, 50}, Unary{"rsqrt", rsqrt, 0.01, 50},
                         Unary{"tanh", tanh, -6, 6}, Unary{"sigmoid", sigmoid, -12, 12},
                         Unary{"relu", relu, -3, 3}})
    for (size_t i = 0; i < unaryShapes.size(); ++i)
      cases.push_back({std::string(u.name) + std::to_string(i), {unaryShapes[i]}, unaryOp(u.fn),
                       u.lo, u.hi});

  const std::vector<std::vector<Shape>> binaryShapes = {
      {{3, 7}, {3, 7}}, {{3, 7}, {7}}, {{1}, {5, 1}}, {{2, 1, 3}, {4, 1}}, {{}, {33}}, {{65}, {}}};
  struct Binary {
    const char *name;
    Tensor (*fn)(Operand, Operand, Where);
    double lo, hi;
  };
  for (const Binary &b : {Binary{"add", add, -2, 2}, Binary{"sub", sub, -2, 2},
                          Binary{"mul", mul, -2, 2}, Binary{"div", div, 0.25, 4},
                          Binary{"max", maximum, -2, 2}, Binary{"min", minimum, -2, 2}})
    for (size_t i = 0; i < binaryShapes.size(); ++i)
      cases.push_back({std::string(b.name) + std::to_string(i), binaryShapes[i], binaryOp(b.fn),
                       b.lo, b.hi});

  auto mm = [](bool ta, bool tb) {
    return [=](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1], ta, tb); };
  };
  cases.push_back({"matmul_7x33x5", {{7, 33}, {33, 5}}, mm(false, false)});
  cases.push_back({"matmul_1x1x1", {{1, 1}, {1, 1}}, mm(false, false)});
  cases.push_back({"matmul_batched", {{2, 3, 4}, {2, 4, 5}}, mm(false, false)});
  cases.push_back({"matmul_broadcast_a", {{3, 4}, {2, 4, 5}}, mm(false, false)});
  cases.push_back({"matmul_broadcast_both", {{2, 1, 3, 4}, {5, 4, 6}}, mm(false, false)});
  cases.push_back({"matmul_ta", {{33, 7}, {33, 5}}, mm(true, false)});
  cases.push_back({"matmul_tb", {{7, 33}, {5, 33}}, mm(false, true)});
  cases.push_back({"matmul_ta_tb_batched", {{3, 65, 2}, {1, 7, 65}}, mm(true, true)});
  cases.push_back({"matmul_gemv", {{1, 65}, {65, 33}}, mm(false, false)});
  // Register tiles (8 x 32) with peeled edges in both directions.
  cases.push_back({"matmul_tiled_67x41x71", {{67, 41}, {41, 71}}, mm(false, false)});
  cases.push_back({"matmul_tiled_batched_tb", {{3, 19, 13}, {3, 37, 13}}, mm(false, true)});
  cases.push_back({"matmul_tiled_ta", {{13, 17}, {13, 64}}, mm(true, false)});
  // Canonical forms (ir/MatmulForms.cpp): a shared B folds the batch into M
  // (forward), and the gradient with respect to B is one product over
  // K = batch x rows; primes so every tile edge is partial.
  cases.push_back({"matmul_shared_b_folds_batch", {{3, 5, 11, 13}, {13, 37}}, mm(false, false)});
  cases.push_back({"matmul_shared_b_tb_unit_batch", {{2, 7, 19}, {1, 41, 19}}, mm(false, true)});
  cases.push_back({"matmul_ta_narrow_b_swapped", {{29, 67}, {29, 13}}, mm(true, false)});
  cases.push_back({"matmul_shared_b_bias_gelu_epilogue", {{3, 11, 17}, {17, 67}, {67}},
                   [](Graph &, const std::vector<Tensor> &x) { return gelu(matmul(x[0], x[1]) + x[2]); }});

  struct Reduce {
    const char *name;
    Tensor (*fn)(Tensor, std::vector<int64_t>, bool, Where);
  };
  struct Axes {
    Shape shape;
    std::vector<int64_t> axes;
    bool keepdims;
  };
  const std::vector<Axes> reduceAxes = {{{3, 7}, {1}, false},       {{3, 7}, {0}, true},
                                        {{2, 3, 5}, {0, 2}, false},  {{65}, {-1}, false},
                                        {{2, 3, 5}, {-1, 0}, true}, {{2, 3, 5}, {0, 1, 2}, false},
                                        {{1, 1}, {0}, false},
                                        // Rows longer than a vector piece (kiln-tile-rows splits
                                        // them, with a peeled partial piece).
                                        {{5, 263}, {1}, false},      {{2, 3, 131}, {-1}, true},
                                        // Over every axis, or over the trailing ones: one row
                                        // (kiln-tile-rows collapses the reduced axes).
                                        {{3, 7, 131}, {0, 1, 2}, false}, {{4099}, {0}, false},
                                        {{3, 5, 7, 11}, {2, 3}, false}, {{2, 3, 13, 17}, {-2, -1}, true}};
  for (const Reduce &r : {Reduce{"reduce_sum", reduce_sum}, Reduce{"reduce_mean", reduce_mean},
                          Reduce{"reduce_max", reduce_max}})
    for (size_t i = 0; i < reduceAxes.size(); ++i) {
      Axes a = reduceAxes[i];
      auto fn = r.fn;
      cases.push_back({std::string(r.name) + std::to_string(i), {a.shape},
                       [=](Graph &, const std::vector<Tensor> &x) {
                         return fn(x[0], a.axes, a.keepdims, Where::current());
                       }});
    }

  auto sm = [](int64_t axis) {
    return [=](Graph &, const std::vector<Tensor> &x) { return softmax(x[0], axis); };
  };
  cases.push_back({"softmax_last", {{3, 7}}, sm(-1), -10, 10});
  cases.push_back({"softmax_middle", {{2, 3, 5}}, sm(1), -10, 10});
  cases.push_back({"softmax_single", {{1}}, sm(0), -10, 10});
  cases.push_back({"softmax_first", {{65, 2}}, sm(0), -30, 30});

  auto rs = [](Shape to) {
    return [=](Graph &, const std::vector<Tensor> &x) { return reshape(x[0], to); };
  };
  cases.push_back({"reshape_merge", {{2, 3, 5}}, rs({6, 5})});
  cases.push_back({"reshape_expand", {{7}}, rs({1, 7, 1})});
  cases.push_back({"reshape_from_scalar", {{}}, rs({1, 1})});
  cases.push_back({"reshape_to_scalar", {{1, 1}}, rs({})});

  auto tr = [](std::vector<int64_t> perm) {
    return [=](Graph &, const std::vector<Tensor> &x) { return transpose(x[0], perm); };
  };
  cases.push_back({"transpose_3d", {{2, 3, 5}}, tr({2, 0, 1})});
  cases.push_back({"transpose_2d", {{3, 7}}, tr({1, 0})});
  cases.push_back({"transpose_negative", {{1, 65}}, tr({-1, 0})});

  auto bc = [](Shape to) {
    return [=](Graph &, const std::vector<Tensor> &x) { return broadcast_to(x[0], to); };
  };
  cases.push_back({"broadcast_row", {{3}}, bc({2, 3})});
  cases.push_back({"broadcast_ones", {{1, 1}}, bc({4, 5})});
  cases.push_back({"broadcast_scalar", {{}}, bc({3, 2})});
  cases.push_back({"broadcast_middle", {{2, 1, 3}}, bc({2, 7, 3})});

  cases.push_back({"constant_plus_input", {{2, 3}}, [](Graph &g, const std::vector<Tensor> &x) {
                     HostTensor c(x[0].dtype(), {3});
                     for (int i = 0; i < 3; ++i)
                       c.set(i, 0.5 * (i + 1));
                     return x[0] + g.constant(c);
                   }});
  cases.push_back({"scalar_operands", {{3, 5}}, [](Graph &, const std::vector<Tensor> &x) {
                     return 2.0 * x[0] - 1.0;
                   }});

  using Loss = Tensor (*)(Tensor, Tensor, Where);
  for (auto [name, fn] : {std::pair<const char *, Loss>{"l1_loss", l1_loss},
                          std::pair<const char *, Loss>{"mse_loss", mse_loss}}) {
    const std::vector<Shape> shapes = {{7}, {3, 33}, {1}};
    for (size_t i = 0; i < shapes.size(); ++i) {
      auto f = fn;
      cases.push_back({std::string(name) + std::to_string(i), {shapes[i], shapes[i]},
                       [=](Graph &, const std::vector<Tensor> &x) {
                         return f(x[0], x[1], Where::current());
                       }});
    }
  }
  cases.push_back({"pow_same", {{3, 7}, {3, 7}}, binaryOp(pow), 0.5, 2});
  cases.push_back({"pow_broadcast", {{5}, {}}, binaryOp(pow), 0.5, 2});
  cases.push_back({"pow_negative_base_integer_exponent", {{6}}, [](Graph &, const std::vector<Tensor> &x) {
                     return pow(x[0], 3.0);
                   }});

  struct Compare {
    const char *name;
    Tensor (*fn)(Operand, Operand, Where);
  };
  for (const Compare &c : {Compare{"eq", eq}, Compare{"ne", ne}, Compare{"lt", lt},
                           Compare{"le", le}, Compare{"gt", gt}, Compare{"ge", ge}}) {
    cases.push_back({std::string(c.name) + "_float", {{3, 7}, {7}}, binaryOp(c.fn)});
    // Small integers: many ties, so equality is exercised.
    cases.push_back({std::string(c.name) + "_int_ties", {{4, 1}, {1, 5}}, binaryOp(c.fn), -2, 2,
                     {{0, DType::i32, 3}, {1, DType::i32, 3}}});
  }
  // Enough boolean results that LLVM vectorizes the store: still one byte each.
  cases.push_back({"gt_large_bool_output", {{40, 33}, {33}}, binaryOp(gt)});
  cases.push_back({"select_broadcast", {{3, 1}, {3, 7}, {7}},
                   [](Graph &, const std::vector<Tensor> &x) { return select(x[0], x[1], x[2]); },
                   -2, 2, {{0, DType::boolean, 2}}});
  cases.push_back({"causal_mask_select", {{5, 5}}, [](Graph &g, const std::vector<Tensor> &x) {
                     return select(g.causal_mask(5), x[0], -3.0);
                   }});
  cases.push_back({"cast_to_i32", {{3, 5}}, [](Graph &, const std::vector<Tensor> &x) {
                     return cast(x[0], DType::i32);
                   }, -5, 5});
  cases.push_back({"cast_to_bool_and_back", {{7}}, [](Graph &, const std::vector<Tensor> &x) {
                     return cast(cast(cast(x[0], DType::i64), DType::boolean), x[0].dtype());
                   }, -2, 2});
  cases.push_back({"cast_float_to_float", {{2, 3}}, [](Graph &, const std::vector<Tensor> &x) {
                     return cast(cast(x[0], x[0].dtype() == DType::f32 ? DType::f64 : DType::f32),
                                 x[0].dtype());
                   }, -2, 2, {}, /*finiteDifferences=*/false});
  cases.push_back({"cast_int_to_float", {{4}}, [](Graph &, const std::vector<Tensor> &x) {
                     return cast(x[0], DType::f64);
                   }, 0, 0, {{0, DType::i64, 100}}});

  auto lsm = [](int64_t axis) {
    return [=](Graph &, const std::vector<Tensor> &x) { return log_softmax(x[0], axis); };
  };
  cases.push_back({"log_softmax_last", {{3, 7}}, lsm(-1), -10, 10});
  cases.push_back({"log_softmax_middle", {{2, 33, 5}}, lsm(1), -30, 30});
  cases.push_back({"log_softmax_single", {{4, 1}}, lsm(1), -10, 10});

  cases.push_back({"layer_norm_affine", {{3, 8}, {8}, {8}},
                   [](Graph &, const std::vector<Tensor> &x) {
                     return layer_norm(x[0], x[1], x[2], {-1});
                   }});
  // Batch normalization per channel (axis 1): training (the batch's
  // statistics; the running ones, constants here, do not reach y) and
  // inference (stored statistics, a positive variance), images [N, C, H, W]
  // and features [N, C]. The running statistics' update: BatchNormTest.
  auto bn = [](bool training, double momentum = 0.1) {
    return [training, momentum](Graph &g, const std::vector<Tensor> &x) {
      int64_t c = x[0].shape()[1];
      HostTensor mean(x[0].dtype(), {c}), variance(x[0].dtype(), {c});
      for (int64_t i = 0; i < c; ++i)
        mean.set(i, 0.1 * double(i) - 0.2), variance.set(i, 0.5 + 0.25 * double(i));
      BatchNormOptions o;
      o.training = training, o.momentum = momentum;
      return batch_norm(x[0], x[1], x[2], g.constant(mean), g.constant(variance), o).y;
    };
  };
  cases.push_back({"batch_norm_training", {{3, 4, 5, 3}, {4}, {4}}, bn(true)});
  cases.push_back({"batch_norm_training_features", {{7, 5}, {5}, {5}}, bn(true)});
  cases.push_back({"batch_norm_inference", {{2, 3, 4, 5}, {3}, {3}}, bn(false)});
  cases.push_back({"layer_norm_two_axes", {{2, 3, 5}}, [](Graph &, const std::vector<Tensor> &x) {
                     return layer_norm(x[0], {-2, -1}, 1e-3);
                   }});
  cases.push_back({"layer_norm_row_of_65", {{1, 65}}, [](Graph &, const std::vector<Tensor> &x) {
                     return layer_norm(x[0], {1});
                   }});
  // nn.scan: an Elman step over 7 steps, the recurrent weight captured
  // from outside the step, the steps reversed; its gradient (through time)
  // with respect to the inputs, the initial carry and the captured weight.
  cases.push_back({"scan_rnn_7_steps_reversed", {{7, 3, 4}, {3, 4}, {4, 4}},
                   [](Graph &, const std::vector<Tensor> &x) {
                     Tensor u = x[2];
                     ScanResult r = scan({x[1]}, {x[0]}, [&](const std::vector<Tensor> &h, const std::vector<Tensor> &row) {
                       Tensor next = tanh(row[0] + matmul(h[0], u));
                       return ScanStep{{next}, {next * 0.5}};
                     }, /*reverse=*/true);
                     return r.outputs.empty() ? Tensor() : r.outputs[0] + reshape(r.carries[0], {1, 3, 4});
                   },
                   -1, 1});
  // Rows longer than one vector piece (kiln-tile-rows splits them into
  // pieces of 64 and peels the rest): 131 = 2 x 64 + 3, 197 = 3 x 64 + 5.
  cases.push_back({"softmax_long_rows", {{3, 131}}, sm(-1), -10, 10});
  cases.push_back({"log_softmax_long_rows", {{2, 197}}, lsm(-1), -10, 10});
  // A leading unit dimension: the row loop is the second (a one-trip loop
  // lost the kernel's marks: neither vectorized nor parallel).
  cases.push_back({"softmax_long_rows_unit_batch", {{1, 67, 300}}, sm(-1), -10, 10});
  cases.push_back({"layer_norm_rows_of_128", {{3, 128}, {128}, {128}},
                   [](Graph &, const std::vector<Tensor> &x) {
                     return layer_norm(x[0], x[1], x[2], {-1});
                   }});
  cases.push_back({"layer_norm_long_rows", {{2, 2, 197}, {197}, {197}},
                   [](Graph &, const std::vector<Tensor> &x) {
                     return layer_norm(x[0], x[1], x[2], {-1});
                   }});

  // Attention: Lq != Lk, D and Dv not multiples of a vector, L = 1, a
  // broadcast bias (with a gradient), a random mask, causal with Lq > Lk
  // (the first queries see no key: zero rows), and shapes big enough for
  // the flash lowering (one batch's scores >= 4096) with partial blocks.
  auto attend = [](bool causal, int maskInput = -1, int biasInput = -1, std::optional<double> scale = {}) {
    return [=](Graph &, const std::vector<Tensor> &x) {
      AttentionOptions with;
      with.causal = causal;
      with.scale = scale;
      if (maskInput >= 0)
        with.mask = x[maskInput];
      if (biasInput >= 0)
        with.bias = x[biasInput];
      return attention(x[0], x[1], x[2], with);
    };
  };
  cases.push_back({"attention_lq_ne_lk", {{2, 5, 8}, {2, 7, 8}, {2, 7, 3}}, attend(false)});
  cases.push_back({"attention_causal_heads", {{1, 3, 4, 5}, {1, 3, 6, 5}, {1, 3, 6, 7}},
                   attend(true)});
  cases.push_back({"attention_causal_rows_without_keys", {{2, 5, 4}, {2, 3, 4}, {2, 3, 2}},
                   attend(true)});
  cases.push_back({"attention_mask_and_bias", {{2, 5, 6}, {2, 7, 6}, {2, 7, 3}, {5, 7}, {7}},
                   attend(false, 3, 4, 0.7), -2, 2, {{3, DType::boolean, 2}}});
  cases.push_back({"attention_one_query_one_key", {{3, 1, 9}, {3, 1, 9}, {3, 1, 1}}, attend(false)});
  cases.push_back({"attention_flash_causal", {{2, 67, 12}, {2, 71, 12}, {2, 71, 5}},
                   attend(true)});
  // Attention spelled out as the char LM writes it: kiln-recognize-attention
  // makes it nn.attention (flash from 4096 scores); the reference
  // interpreter runs the composite as written.
  auto spelledOut = [](Graph &g, const std::vector<Tensor> &x) {
    int64_t l = x[0].shape()[x[0].shape().size() - 2], d = x[0].shape().back();
    Tensor scores = matmul(x[0], x[1], false, true) * (1.0 / std::sqrt(double(d)));
    return matmul(softmax(select(g.causal_mask(l), scores, -1e9), -1), x[2]);
  };
  cases.push_back({"attention_spelled_out_causal", {{2, 2, 16, 8}, {2, 2, 16, 8}, {2, 2, 16, 5}}, spelledOut});
  cases.push_back({"attention_spelled_out_causal_flash", {{1, 2, 70, 8}, {1, 2, 70, 8}, {1, 2, 70, 3}}, spelledOut});
  cases.push_back({"attention_flash_one_query_causal", {{2, 1, 7}, {2, 4099, 7}, {2, 4099, 3}}, attend(true)});
  cases.push_back({"attention_flash_rows_without_keys", {{1, 100, 4}, {1, 50, 4}, {1, 50, 6}}, attend(true)});
  cases.push_back({"attention_flash_masked", {{1, 2, 70, 9}, {1, 2, 131, 9}, {1, 2, 131, 17}, {2, 1, 131}, {70, 131}},
                   attend(false, 3, 4), -2, 2, {{3, DType::boolean, 2}}});

  for (bool tanhForm : {false, true})
    for (Shape shape : {Shape{7}, Shape{3, 33}})
      cases.push_back({std::string(tanhForm ? "gelu_tanh_" : "gelu_erf_") +
                           std::to_string(shape.size()),
                       {shape}, [=](Graph &, const std::vector<Tensor> &x) { return gelu(x[0], tanhForm); },
                       -5, 5});

  // Dropout: the step is an integer input (any value in [0, 1000)); rates
  // 0, a half and near 1; the gradient is the same mask on the cotangent.
  for (double rate : {0.0, 0.5, 0.9})
    cases.push_back({"dropout_" + std::to_string(int(rate * 10)), {{3, 37}, {}},
                     [rate](Graph &, const std::vector<Tensor> &x) { return dropout(x[0], x[1], rate, 11); }, -2,
                     2, {{1, DType::i64, 1000}}});
  cases.push_back({"dropout_i32_step_1d", {{101}, {}},
                   [](Graph &, const std::vector<Tensor> &x) { return dropout(x[0], x[1], 0.25, -3); }, -2, 2,
                   {{1, DType::i32, 1000}}});
  cases.push_back({"gather_rows", {{7, 5}, {3, 4}},
                   [](Graph &, const std::vector<Tensor> &x) { return gather(x[0], x[1]); }, -2, 2,
                   {{1, DType::i64, 7}}});
  cases.push_back({"gather_vector_i32", {{65}, {1}},
                   [](Graph &, const std::vector<Tensor> &x) { return gather(x[0], x[1]); }, -2, 2,
                   {{1, DType::i32, 65}}});
  cases.push_back({"concat_last", {{2, 3}, {2, 5}}, [](Graph &, const std::vector<Tensor> &x) {
                     return concat({x[0], x[1]}, -1);
                   }});
  cases.push_back({"concat_three_first", {{1, 3}, {4, 3}, {2, 3}},
                   [](Graph &, const std::vector<Tensor> &x) { return concat(x, 0); }});
  cases.push_back({"slice_negative_steps", {{7, 5}}, [](Graph &, const std::vector<Tensor> &x) {
                     return slice(x[0], {1, -1}, {6, -6}, {2, -1});
                   }});
  cases.push_back({"slice_prefix_and_middle", {{4, 9}}, [](Graph &, const std::vector<Tensor> &x) {
                     return slice(x[0], {0, 2}, {2, 7});
                   }});
  cases.push_back({"slice_clamped", {{33}}, [](Graph &, const std::vector<Tensor> &x) {
                     return slice(x[0], {-5}, {100});
                   }});
  cases.push_back({"slice_reverse_and_stride", {{4, 4}}, [](Graph &, const std::vector<Tensor> &x) {
                     return slice(x[0], {3, 0}, {-5, 4}, {-1, 3});
                   }});
  cases.push_back({"iota_plus_input", {{3, 4}}, [](Graph &g, const std::vector<Tensor> &x) {
                     return g.iota({3, 4}, 1, x[0].dtype()) + x[0];
                   }});
  cases.push_back({"arange_i32", {}, [](Graph &g, const std::vector<Tensor> &) {
                     return g.arange(7, DType::i32);
                   }});
  cases.push_back({"erf", {{3, 7}}, unaryOp(erf), -3, 3});
  cases.push_back({"stop_gradient_product", {{5}}, [](Graph &, const std::vector<Tensor> &x) {
                     return x[0] * stop_gradient(x[0]);
                   }, -2, 2, {}, /*finiteDifferences=*/false, "Grad.StopGradientBlocksTheFlow"});
  cases.push_back({"slice_scatter_strided", {{3, 2}}, [](Graph &, const std::vector<Tensor> &x) {
                     return slice_scatter(x[0], {7, 4}, {5, -1}, {0, -5}, {-2, -2});
                   }});
  cases.push_back({"scatter_add_repeated", {{5, 3}, {5}},
                   [](Graph &, const std::vector<Tensor> &x) { return scatter_add(x[0], x[1], 4); },
                   -2, 2, {{1, DType::i64, 4}}});
  cases.push_back({"cross_entropy_2d", {{4, 7}, {4}},
                   [](Graph &, const std::vector<Tensor> &x) { return cross_entropy(x[0], x[1]); },
                   -5, 5, {{1, DType::i64, 7}}});
  // A matmul whose elementwise consumer (bias + ReLU) becomes its
  // epilogue (kiln-tile-matmul), applied to each register tile; the second
  // matmul's result is returned, so it has none.
  // Column blocks (kiln-tile-matmul packs B per block of 128 columns): two
  // whole blocks and a partial one of 44, rows 8 + 1.
  cases.push_back({"matmul_column_blocks", {{9, 17}, {17, 300}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); }});
  // B = W^T (transpose_b) with W of 1 MiB or more: its panels are
  // transposed from W's rows in each column block (the last block one
  // column wide; for K = 1030 blocks of 96, the last one 63 wide). Forward
  // only: finite differences over inputs of 260k elements would take
  // minutes; the gradient's matmuls take the same lowering. Inputs in
  // [-0.5, 0.5]: f32 sums over K = 256 and 1030 of terms up to 4 would
  // round past the tolerance where they cancel.
  cases.push_back({"matmul_column_blocks_tb_big_w", {{9, 256}, {1025, 256}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1], false, true); },
                   -0.5, 0.5, {}, /*finiteDifferences=*/false});
  cases.push_back({"matmul_tb_big_w_partial_block", {{19, 1030}, {255, 1030}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1], false, true); },
                   -0.5, 0.5, {}, /*finiteDifferences=*/false});
  // B of several column tiles that fits in half of L2: packed whole before
  // the loops, rows outside (67 rows: a partial row tile), also from W's
  // rows when B = W^T, with an epilogue (bias + ReLU).
  cases.push_back({"matmul_whole_b_67x64x41", {{67, 41}, {41, 64}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); }});
  cases.push_back({"matmul_whole_b_tb_bias_relu", {{19, 23}, {96, 23}, {96}},
                   [](Graph &, const std::vector<Tensor> &x) { return relu(matmul(x[0], x[1], false, true) + x[2]); }});
  // A long K in K blocks, each over the column tiles (kiln-tile-matmul's
  // blockK: 4 blocks of 256 for f32, 8 of 128 for f64), each accumulating
  // into the column's strip of the result: a partial row tile (17 = 8 + 8
  // + 1 rows), and A stored K x M (a weight gradient x^T g). Forward only,
  // inputs in [-0.5, 0.5], as for the big W above.
  cases.push_back({"matmul_k_blocks_17x96x1024", {{17, 1024}, {1024, 96}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); },
                   -0.5, 0.5, {}, /*finiteDifferences=*/false});
  cases.push_back({"matmul_k_blocks_ta", {{1024, 17}, {1024, 96}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1], true, false); },
                   -0.5, 0.5, {}, /*finiteDifferences=*/false});
  // B of 576 KiB with an A of 1 MiB (1031 rows, prime): packed whole, the
  // rows outside, where the host's L2 is 2 MiB or more (f32), else in
  // column blocks.
  cases.push_back({"matmul_whole_b_big_a", {{1031, 256}, {256, 576}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); },
                   -0.5, 0.5, {}, /*finiteDifferences=*/false});
  // A's rows spanning more than 1 MiB (263 rows of 1024): each K block's
  // slice of A copied contiguous first; 263 rows end in a partial tile.
  cases.push_back({"matmul_k_blocks_copied_a", {{263, 1024}, {1024, 64}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); },
                   -0.5, 0.5, {}, /*finiteDifferences=*/false});
  cases.push_back({"matmul_column_blocks_tb", {{9, 17}, {300, 17}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1], false, true); }});
  cases.push_back({"matmul_bias_relu_epilogue", {{11, 7}, {7, 37}, {37}, {37, 3}},
                   [](Graph &, const std::vector<Tensor> &x) {
                     return matmul(relu(matmul(x[0], x[1]) + x[2]), x[3]);
                   }});
  cases.push_back({"cross_entropy_long_rows", {{3, 131}, {3}},
                   [](Graph &, const std::vector<Tensor> &x) { return cross_entropy(x[0], x[1]); },
                   -5, 5, {{1, DType::i64, 131}}});
  cases.push_back({"cross_entropy_3d_i32", {{2, 3, 5}, {2, 3}},
                   [](Graph &, const std::vector<Tensor> &x) { return cross_entropy(x[0], x[1]); },
                   -30, 30, {{1, DType::i32, 5}}});

  // Large magnitudes: logits near +-100 (exp(100) overflows f32, so a
  // softmax that forgets to subtract the row maximum gives NaN here), and
  // the elementwise functions near the ends of their f32 range.
  cases.push_back({"softmax_logits_100", {{3, 37}}, sm(-1), -100, 100});
  cases.push_back({"log_softmax_logits_100", {{3, 37}}, lsm(-1), -100, 100});
  cases.push_back({"cross_entropy_logits_100", {{4, 37}, {4}},
                   [](Graph &, const std::vector<Tensor> &x) { return cross_entropy(x[0], x[1]); },
                   -100, 100, {{1, DType::i64, 37}}});
  cases.push_back({"exp_near_overflow", {{33}}, unaryOp(exp), 60, 88});
  cases.push_back({"log_tiny", {{33}}, unaryOp(log), 1e-35, 1e-30});
  cases.push_back({"log_huge", {{33}}, unaryOp(log), 1e30, 3e38});
  cases.push_back({"tanh_saturated", {{33}}, unaryOp(tanh), -20, 20});
  cases.push_back({"sigmoid_saturated", {{33}}, unaryOp(sigmoid), -80, 80});

  // Zero-sized dimensions (docs/reliability.md): an empty product is zeros,
  // a reduction over an empty axis its identity, softmax over an empty axis
  // an empty tensor; empty operands of concat and broadcasts add nothing.
  cases.push_back({"matmul_k0", {{3, 0}, {0, 4}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); }});
  cases.push_back({"matmul_batched_m0", {{2, 0, 5}, {5, 3}},
                   [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); }});
  cases.push_back({"reduce_sum_empty_axis", {{3, 0}}, [](Graph &, const std::vector<Tensor> &x) {
                     return reduce_sum(x[0], {1});
                   }});
  cases.push_back({"reduce_max_empty_axis", {{2, 0, 3}}, [](Graph &, const std::vector<Tensor> &x) {
                     return reduce_max(x[0], {1});
                   }});
  cases.push_back({"softmax_empty_axis", {{3, 0}}, sm(1)});
  cases.push_back({"log_softmax_empty_rows", {{0, 5}}, lsm(-1)});
  cases.push_back({"concat_with_empty", {{2, 0}, {2, 3}},
                   [](Graph &, const std::vector<Tensor> &x) { return concat({x[0], x[1]}, -1); }});
  cases.push_back({"add_empty_broadcast", {{0, 3}, {3}}, binaryOp(add)});
  // 2-D convolution over awkward geometries: 1x1 and 7x7 kernels, prime
  // sizes, strides above the kernel, padding up to kernel - 1 and uneven
  // per side, dilation, groups (depthwise too), batch 1 and 2, a bias.
  struct Conv {
    const char *name;
    Shape x, w;
    std::array<int64_t, 2> stride, dilation;
    std::array<int64_t, 4> padding;
    int64_t groups;
    bool bias;
  };
  for (const Conv &c : std::vector<Conv>{
           {"conv2d_3x3_same", {2, 3, 7, 5}, {4, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, false},
           {"conv2d_1x1", {1, 5, 4, 3}, {2, 5, 1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, false},
           {"conv2d_1x1_strided", {2, 3, 7, 5}, {4, 3, 1, 1}, {2, 3}, {1, 1}, {0, 0, 0, 0}, 1, false},
           {"conv2d_1x1_padded", {1, 2, 3, 4}, {3, 2, 1, 1}, {1, 1}, {1, 1}, {0, 0, 1, 0}, 1, false},
           {"conv2d_strided_uneven_padding", {1, 2, 9, 8}, {3, 2, 3, 2}, {2, 3}, {1, 1}, {1, 0, 2, 1}, 1, false},
           {"conv2d_dilated", {1, 2, 11, 7}, {2, 2, 3, 2}, {1, 1}, {2, 3}, {2, 1, 0, 1}, 1, false},
           {"conv2d_groups", {2, 4, 5, 5}, {6, 2, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 2, false},
           {"conv2d_depthwise_strided", {1, 3, 6, 7}, {3, 1, 3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 3, false},
           {"conv2d_stride_above_kernel", {1, 1, 13, 11}, {2, 1, 2, 2}, {3, 3}, {1, 1}, {0, 0, 0, 0}, 1, false},
           {"conv2d_7x7_stride2", {1, 2, 9, 9}, {2, 2, 7, 7}, {2, 2}, {1, 1}, {3, 3, 3, 3}, 1, false},
           {"conv2d_padding_kernel_minus_one", {1, 1, 6, 6}, {1, 1, 3, 3}, {2, 2}, {1, 1}, {2, 2, 2, 2}, 1, false},
           {"conv2d_bias", {2, 3, 5, 4}, {4, 3, 2, 2}, {1, 1}, {1, 1}, {0, 1, 1, 0}, 1, true}}) {
    std::vector<Shape> inputs = {c.x, c.w};
    if (c.bias)
      inputs.push_back({c.w[0]});
    cases.push_back({c.name, inputs, [c](Graph &, const std::vector<Tensor> &x) {
                       Conv2dOptions options;
                       options.stride = c.stride;
                       options.dilation = c.dilation;
                       options.padding = c.padding;
                       options.groups = c.groups;
                       if (c.bias)
                         options.bias = x[2];
                       return conv2d(x[0], x[1], options);
                     }});
  }

  // 2-D pooling: windows overlapping (stride below the kernel) and not,
  // padding on some sides, average with and without the padding counted,
  // ties (integer-valued inputs: the gradient to the first maximum).
  struct Pool {
    const char *name;
    Shape x;
    std::array<int64_t, 2> kernel;
    std::optional<std::array<int64_t, 2>> stride;
    std::array<int64_t, 4> padding;
    bool max, countIncludePad;
  };
  for (const Pool &p : std::vector<Pool>{
           {"max_pool2d_2x2", {2, 3, 6, 7}, {2, 2}, std::nullopt, {0, 0, 0, 0}, true, false},
           {"max_pool2d_3x3_stride2_padded", {1, 2, 9, 8}, {3, 3}, {{2, 2}}, {1, 1, 1, 2}, true, false},
           {"max_pool2d_1x1_stride3", {1, 1, 7, 5}, {1, 1}, {{3, 3}}, {0, 0, 0, 0}, true, false},
           {"avg_pool2d_2x3", {2, 3, 6, 7}, {2, 3}, {{1, 2}}, {0, 0, 0, 0}, false, true},
           {"avg_pool2d_padded_count_pad", {1, 2, 5, 5}, {3, 3}, {{2, 2}}, {1, 1, 1, 1}, false, true},
           {"avg_pool2d_padded_exclude_pad", {1, 2, 5, 5}, {3, 3}, {{2, 2}}, {1, 2, 2, 1}, false, false},
           // Rows longer than kiln-tile-pooling's two vectors of outputs (35 = 32 + 3, 68 = 2 x 32 + 4).
           {"max_pool2d_wide_rows", {1, 2, 4, 70}, {2, 2}, std::nullopt, {0, 0, 0, 0}, true, false},
           {"avg_pool2d_wide_rows_overlapping", {1, 2, 5, 70}, {3, 3}, {{1, 1}}, {0, 0, 0, 0}, false, true}}) {
    cases.push_back({p.name, {p.x}, [p](Graph &, const std::vector<Tensor> &x) {
                       Pool2dOptions options;
                       options.stride = p.stride;
                       options.padding = p.padding;
                       options.countIncludePad = p.countIncludePad;
                       return p.max ? max_pool2d(x[0], p.kernel, options) : avg_pool2d(x[0], p.kernel, options);
                     }});
  }
  cases.push_back({"global_avg_pool2d", {{2, 3, 5, 4}},
                   [](Graph &, const std::vector<Tensor> &x) { return global_avg_pool2d(x[0]); }});

  return cases;
}

inline void PrintTo(const OpCase &c, std::ostream *os) { *os << c.name; }

/// Declares the case's inputs in `g` and draws their values: floats of
/// `dtype` in [lo, hi] (never zero), integer inputs in [0, bound).
inline void makeInputs(const OpCase &c, DType dtype, Graph &g, std::vector<Tensor> &inputs,
                       std::vector<HostTensor> &values) {
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    auto special = std::find_if(c.ints.begin(), c.ints.end(),
                                [&](const IntInput &in) { return in.input == i; });
    if (special == c.ints.end()) {
      inputs.push_back(g.input("in" + std::to_string(i), c.inputs[i], dtype));
      values.push_back(randomTensor(dtype, c.inputs[i], c.lo, c.hi, 1234 + uint32_t(i)));
      continue;
    }
    inputs.push_back(g.input("in" + std::to_string(i), c.inputs[i], special->dtype));
    HostTensor t(special->dtype, c.inputs[i]);
    std::mt19937 rng(99 + uint32_t(i));
    for (int64_t k = 0; k < t.size(); ++k)
      t.set(k, double(rng() % uint32_t(special->bound)));
    values.push_back(t);
  }
}

} // namespace kiln::test

#endif
