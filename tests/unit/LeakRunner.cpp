//===- LeakRunner.cpp - run an MLP N times (for valgrind's leak check) ----===//
#include "kiln/kiln.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 1000;
  kiln::Graph g("mlp");
  auto x = g.input("x", {4, 32});
  auto w1 = g.param("w1", {32, 16}, kiln::normalInit(0, 0.2, 1));
  auto b1 = g.param("b1", {16}, kiln::zerosInit());
  auto w2 = g.param("w2", {16, 10}, kiln::normalInit(0, 0.2, 2));
  auto h = kiln::relu(kiln::matmul(x, w1) + b1);
  g.output(kiln::softmax(kiln::matmul(h, w2), -1), "p");
  auto fn = kiln::Function::compile(g);
  if (!fn) {
    std::fprintf(stderr, "%s\n", fn.error().c_str());
    return 1;
  }
  kiln::HostTensor in(kiln::DType::f32, {4, 32});
  for (int64_t i = 0; i < in.size(); ++i)
    in.set(i, 0.01 * double(i % 17) - 0.05);
  for (int i = 0; i < runs; ++i) {
    auto out = fn->run({in});
    if (!out) {
      std::fprintf(stderr, "%s\n", out.error().c_str());
      return 1;
    }
  }
  std::printf("ran the MLP %d times\n", runs);
  return 0;
}
