//===- TrainStep.cpp - the kiln-make-train-step pass ---------------------===//
//
// One compiled function does a whole training step: the model's forward
// ops, their reverse pass (Autodiff.cpp) for the trained parameters, and
// the optimizer's update (Optimizers.cpp). New parameter and state values
// are returned as results marked `nn.updates = <argument>`, which the
// bufferized phase writes into the arguments' own buffers.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "ir/NNBuilder.h"
#include "ir/Signature.h"
#include "passes/Passes.h"
#include "passes/autodiff/Autodiff.h"
#include "passes/autodiff/Optimizers.h"

#include <cmath>

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringSet.h"

namespace kiln {
#define GEN_PASS_DEF_MAKETRAINSTEP
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct MakeTrainStepPass : kiln::impl::MakeTrainStepBase<MakeTrainStepPass> {
  using MakeTrainStepBase::MakeTrainStepBase;

  void runOnOperation() override {
    if (failed(build()))
      signalPassFailure();
  }

  LogicalResult build() {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto f = module.lookupSymbol<func::FuncOp>(func);
    if (!f)
      return module.emitError() << "kiln-make-train-step: no function @" << func;
    auto sig = kiln::nn::readSignature(f);
    if (failed(sig))
      return failure();
    kiln::OptimizerConfig config{optimizer, momentum, beta1, beta2, eps, weightDecay};
    if (optimizer != "sgd" && optimizer != "adam" && optimizer != "adamw")
      return f.emitError() << "unknown optimizer \"" << optimizer << "\" (sgd, adam or adamw)";
    if (!(clipNorm >= 0) || std::isinf(clipNorm))
      return f.emitError() << "the gradient clipping norm must be a positive number (0: none), got " << clipNorm;

    // The loss: a rank-0 float output.
    auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
    int lossIndex = -1;
    for (auto [i, r] : llvm::enumerate(sig->results))
      if (loss.empty() ? r.type.getRank() == 0 && isa<FloatType>(r.type.getElementType())
                       : r.name == loss) {
        lossIndex = int(i);
        break;
      }
    if (lossIndex < 0)
      return f.emitError() << (loss.empty() ? std::string("the model has no rank-0 float output to use as the loss")
                                            : "no output named \"" + loss + "\" to use as the loss");
    RankedTensorType lossType = sig->results[lossIndex].type;
    if (lossType.getRank() != 0 || !isa<FloatType>(lossType.getElementType()))
      return f.emitError() << "the loss \"" << sig->results[lossIndex].name
                           << "\" must be a rank-0 float tensor, got " << lossType;

    // The trained parameters.
    SmallVector<std::string> names(params.begin(), params.end());
    SmallVector<unsigned> trained;
    if (names.empty()) {
      for (auto [i, a] : llvm::enumerate(sig->args))
        if (a.isParam)
          trained.push_back(i);
      if (trained.empty())
        return f.emitError() << "the model has no parameters (nn.param) to train";
    } else {
      auto selected = kiln::selectArguments(f, names);
      if (failed(selected))
        return failure();
      for (unsigned i : *selected)
        if (!sig->args[i].isParam)
          return f.emitError() << "\"" << sig->args[i].name
                               << "\" is an input, not a parameter (nn.param): it cannot be trained";
      trained = *selected;
    }

    OpBuilder b(ctx);
    b.setInsertionPointAfter(f);
    std::string name = func + "_train_step";
    if (module.lookupSymbol(name))
      return f.emitError() << "cannot create @" << name << ": the name is taken";
    auto step = b.create<func::FuncOp>(f.getLoc(), name, b.getFunctionType({}, {}));
    Block *body = step.addEntryBlock();
    SmallVector<DictionaryAttr> argAttrs;
    llvm::StringSet<> taken;
    for (const auto &a : sig->args)
      taken.insert(a.name);
    auto fresh = [&](std::string n) {
      while (taken.contains(n))
        n += "_";
      taken.insert(n);
      return n;
    };
    auto named = [&](StringRef n, std::optional<NamedAttribute> extra = std::nullopt) {
      SmallVector<NamedAttribute> attrs{b.getNamedAttr(kiln::nn::kNameAttr, b.getStringAttr(n))};
      if (extra)
        attrs.push_back(*extra);
      return b.getDictionaryAttr(attrs);
    };
    auto zerosInit = b.getNamedAttr(kiln::nn::kParamAttr,
                                    b.getDictionaryAttr(b.getNamedAttr("init", b.getStringAttr("zeros"))));

    IRMapping map;
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      map.map(f.getArgument(i), body->addArgument(f.getArgument(i).getType(), f.getArgument(i).getLoc()));
      argAttrs.push_back(f.getArgAttrDict(i) ? f.getArgAttrDict(i) : named(sig->args[i].name));
    }
    // Optimizer state: parameters of the step, starting at zero.
    SmallVector<SmallVector<unsigned>> stateArgs(trained.size());
    for (auto [k, p] : llvm::enumerate(trained))
      for (const std::string &s : kiln::stateNames(config)) {
        stateArgs[k].push_back(body->getNumArguments());
        body->addArgument(f.getArgument(p).getType(), f.getLoc());
        argAttrs.push_back(named(fresh(optimizer + "_" + s + "_" + sig->args[p].name), zerosInit));
      }
    Type scalarType = RankedTensorType::get({}, sig->args[trained.front()].type.getElementType());
    int stepArg = -1;
    if (kiln::needsStepCount(config)) {
      stepArg = body->getNumArguments();
      body->addArgument(scalarType, f.getLoc());
      argAttrs.push_back(named(fresh(optimizer + "_step"), zerosInit));
    }
    Value lr = body->addArgument(scalarType, f.getLoc());
    argAttrs.push_back(named(fresh("lr")));

    // Forward, backward, update.
    b.setInsertionPointToEnd(body);
    for (Operation &op : f.getBody().front().without_terminator())
      b.clone(op, map);
    Value lossValue = map.lookupOrDefault(ret.getOperand(lossIndex));
    kiln::nn::NNBuilder nb(b, f.getLoc());
    Value seed = nb.splat(1.0, cast<RankedTensorType>(lossValue.getType()));
    SmallVector<Value> wrt;
    for (unsigned p : trained)
      wrt.push_back(body->getArgument(p));
    auto grads = kiln::reverseMode(b, *body, {lossValue}, {seed}, wrt);
    if (failed(grads)) {
      step.erase();
      return failure();
    }
    if (clipNorm > 0)
      clipByGlobalNorm(nb, *grads, clipNorm);
    SmallVector<Value> results{lossValue};
    SmallVector<DictionaryAttr> resultAttrs{named(sig->results[lossIndex].name)};
    auto updates = [&](unsigned arg) {
      return b.getDictionaryAttr(b.getNamedAttr(kiln::nn::kUpdatesAttr, b.getI64IntegerAttr(arg)));
    };
    Value newStep;
    if (stepArg >= 0) {
      newStep = nb.add(body->getArgument(stepArg), nb.scalar(1.0, cast<RankedTensorType>(scalarType).getElementType()));
      results.push_back(newStep);
      resultAttrs.push_back(updates(stepArg));
    }
    for (auto [k, p] : llvm::enumerate(trained)) {
      Value param = body->getArgument(p);
      SmallVector<Value> state;
      for (unsigned s : stateArgs[k])
        state.push_back(body->getArgument(s));
      SmallVector<Value> next = kiln::applyUpdate(nb, config, param, (*grads)[k], state,
                                                  nb.cast(lr, nn_element(param)), newStep);
      results.push_back(next[0]);
      resultAttrs.push_back(updates(p));
      for (auto [s, v] : llvm::zip(stateArgs[k], ArrayRef<Value>(next).drop_front())) {
        results.push_back(v);
        resultAttrs.push_back(updates(s));
      }
    }
    b.create<func::ReturnOp>(f.getLoc(), results);
    SmallVector<Type> resultTypes;
    for (Value v : results)
      resultTypes.push_back(v.getType());
    step.setFunctionType(b.getFunctionType(body->getArgumentTypes(), resultTypes));
    step.setAllArgAttrs(argAttrs);
    step.setAllResultAttrs(resultAttrs);
    return success();
  }

  static Type nn_element(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

  /// g *= min(1, max / (||all g||_2 + 1e-6)), every gradient by the same
  /// coefficient (PyTorch's clip_grad_norm_), the norm summed in each
  /// gradient's own precision.
  static void clipByGlobalNorm(kiln::nn::NNBuilder &b, SmallVectorImpl<Value> &grads, double max) {
    if (grads.empty())
      return;
    Type t = nn_element(grads.front());
    Value total;
    for (Value g : grads) {
      auto rank = cast<RankedTensorType>(g.getType()).getRank();
      Value squares = b.cast(b.mul(g, g), t);
      Value sum = rank == 0 ? squares : b.reduceSum(squares, llvm::to_vector(llvm::seq<int64_t>(0, rank)), false);
      total = total ? b.add(total, sum) : sum;
    }
    Value norm = b.add(b.sqrt(total), b.scalar(1e-6, t));
    Value maxNorm = b.scalar(max, t);
    Value coefficient = b.select(b.gt(norm, maxNorm), b.div(maxNorm, norm), b.scalar(1, t));
    for (Value &g : grads)
      g = b.mul(g, b.cast(coefficient, nn_element(g)));
  }
};

} // namespace
