// Builds one causal self-attention head with the kiln C++ API, JITs it and
// checks it against kiln's reference interpreter. Only <kiln/kiln.h> is
// included: no MLIR or LLVM header is needed to use kiln.
#include <kiln/kiln.h>

#include <cmath>
#include <cstdio>

int main() {
  const int64_t T = 6, D = 8;
  kiln::Graph g("attention");
  kiln::Tensor x = g.input("x", {T, D});
  kiln::Tensor wq = g.param("wq", {D, D}, kiln::normalInit(0, 0.3, 1));
  kiln::Tensor wk = g.param("wk", {D, D}, kiln::normalInit(0, 0.3, 2));
  kiln::Tensor wv = g.param("wv", {D, D}, kiln::normalInit(0, 0.3, 3));
  kiln::Tensor q = kiln::matmul(x, wq), k = kiln::matmul(x, wk), v = kiln::matmul(x, wv);
  kiln::Tensor scores = kiln::matmul(q, k, false, /*transposeB=*/true) / std::sqrt(double(D));
  kiln::Tensor weights = kiln::softmax(kiln::select(g.causal_mask(T), scores, -1e9), -1);
  g.output(kiln::matmul(weights, v), "y");
  g.output(weights, "attention");

  auto fn = kiln::Function::compile(g);
  if (!fn) {
    std::fprintf(stderr, "compile failed: %s\n", fn.error().c_str());
    return 1;
  }
  kiln::HostTensor input(kiln::DType::f32, {T, D});
  for (int64_t i = 0; i < input.size(); ++i)
    input.set(i, std::sin(0.7 * double(i)));
  auto out = fn->run({input});
  auto ref = kiln::runReference(g.str(), "attention", {input});
  if (!out || !ref) {
    std::fprintf(stderr, "run failed: %s%s\n", out ? "" : out.error().c_str(),
                 ref ? "" : ref.error().c_str());
    return 1;
  }
  double worst = 0;
  for (int64_t i = 0; i < (*out)[0].size(); ++i)
    worst = std::max(worst, std::fabs((*out)[0].at(i) - (*ref)[0].at(i)));
  std::printf("kiln %s: attention over %lld positions; row 3 of the weights:", kiln::version(),
              (long long)T);
  for (int64_t j = 0; j < T; ++j)
    std::printf(" %.3f", (*out)[1].at(3 * T + j));
  std::printf("\nmax |JIT - reference| = %.2g\n", worst);
  return worst < 1e-4 ? 0 : 1;
}
