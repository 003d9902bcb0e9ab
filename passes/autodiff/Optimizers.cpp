//===- Optimizers.cpp - parameter update rules in nn IR ------------------===//
//
//   sgd:   buf = momentum buf + g;  p -= lr buf         (buf only if momentum)
//   adam:  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//          p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//   adamw: adam with p -= lr wd p first (decoupled weight decay)
//
//===----------------------------------------------------------------------===//
#include "passes/autodiff/Optimizers.h"

using namespace mlir;

namespace kiln {

SmallVector<std::string> stateNames(const OptimizerConfig &c) {
  if (c.kind == "sgd")
    return c.momentum != 0 ? SmallVector<std::string>{"momentum"} : SmallVector<std::string>{};
  return {"m", "v"};
}

bool needsStepCount(const OptimizerConfig &c) { return c.kind != "sgd"; }

SmallVector<Value> applyUpdate(nn::NNBuilder &b, const OptimizerConfig &c, Value p, Value g,
                               ArrayRef<Value> state, Value lr, Value step) {
  Type t = nn::NNBuilder::typeOf(p).getElementType();
  auto k = [&](double v) { return b.scalar(v, t); };
  if (c.kind == "sgd") {
    if (c.momentum == 0)
      return {b.sub(p, b.mul(lr, g))};
    Value buf = b.add(b.mul(k(c.momentum), state[0]), g);
    return {b.sub(p, b.mul(lr, buf)), buf};
  }
  Value m = b.add(b.mul(k(c.beta1), state[0]), b.mul(k(1 - c.beta1), g));
  Value v = b.add(b.mul(k(c.beta2), state[1]), b.mul(k(1 - c.beta2), b.mul(g, g)));
  Value mHat = b.div(m, b.sub(k(1), b.pow(k(c.beta1), step)));
  Value vHat = b.div(v, b.sub(k(1), b.pow(k(c.beta2), step)));
  Value base = p;
  if (c.kind == "adamw" && c.weightDecay != 0)
    base = b.sub(p, b.mul(b.mul(lr, k(c.weightDecay)), p));
  Value update = b.div(mHat, b.add(b.sqrt(vHat), k(c.eps)));
  return {b.sub(base, b.mul(lr, update)), m, v};
}

} // namespace kiln
