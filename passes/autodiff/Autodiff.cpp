//===- Autodiff.cpp - reverse-mode differentiation of nn functions -------===//
//
// The backward pass walks the forward ops in reverse, asks each op's
// DifferentiableOpInterface for its operands' cotangents and sums the
// cotangents of values used more than once. Activity analysis keeps the
// work to what matters: forward from the differentiated arguments (through
// float edges, not stop_gradient) and backward from the seeded outputs.
//
//===----------------------------------------------------------------------===//
#include "passes/autodiff/Autodiff.h"
#include "ir/Dialect.h"
#include "ir/NNBuilder.h"
#include "ir/Signature.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace kiln {

static bool isFloatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}

FailureOr<SmallVector<Value>> reverseMode(OpBuilder &b, Block &body, ArrayRef<Value> outputs,
                                          ArrayRef<Value> seeds, ArrayRef<Value> wrt) {
  // Values that depend on wrt (forward) and that reach a seeded output (backward).
  llvm::DenseSet<Value> varied(wrt.begin(), wrt.end()), useful;
  for (Operation &op : body) {
    if (isa<nn::StopGradientOp>(op))
      continue;
    if (llvm::any_of(op.getOperands(), [&](Value v) { return varied.contains(v); }))
      for (Value r : op.getResults())
        if (isFloatTensor(r))
          varied.insert(r);
  }
  for (auto [out, seed] : llvm::zip(outputs, seeds))
    if (seed)
      useful.insert(out);
  for (Operation &op : llvm::reverse(body))
    if (llvm::any_of(op.getResults(), [&](Value r) { return useful.contains(r); }))
      for (Value v : op.getOperands())
        useful.insert(v);

  llvm::DenseMap<Value, Value> cotangent;
  auto accumulate = [&](Value v, Value g, Location loc) {
    if (!varied.contains(v) || !useful.contains(v) || !g)
      return;
    nn::NNBuilder nb(b, loc);
    auto it = cotangent.find(v);
    cotangent[v] = it == cotangent.end() ? g : nb.add(it->second, g);
  };
  for (auto [out, seed] : llvm::zip(outputs, seeds))
    accumulate(out, seed, out.getLoc());

  // The forward ops, snapshotted: the rules append new ops to the block.
  SmallVector<Operation *> forward;
  for (Operation &op : body)
    if (!op.hasTrait<OpTrait::IsTerminator>())
      forward.push_back(&op);
  for (Operation *op : llvm::reverse(forward)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      Value g = cotangent.lookup(r);
      any |= bool(g);
      resultGrads.push_back(g);
    }
    if (!any)
      continue;
    SmallVector<Value> operandGrads;
    if (auto scan = dyn_cast<nn::ScanOp>(op)) {
      if (failed(scanVjp(b, scan, resultGrads, operandGrads)))
        return failure();
    } else {
      auto diff = dyn_cast<nn::DifferentiableOpInterface>(op);
      if (!diff)
        return op->emitError() << "cannot differentiate through '" << op->getName()
                               << "': it has no gradient rule";
      nn::NNBuilder nb(b, op->getLoc());
      if (failed(diff.vjp(nb, resultGrads, operandGrads)))
        return failure();
    }
    if (operandGrads.size() != op->getNumOperands())
      return op->emitError() << "internal error: the gradient rule of '" << op->getName()
                             << "' gave " << operandGrads.size() << " cotangents for "
                             << op->getNumOperands() << " operands";
    for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
      if (isFloatTensor(operand))
        accumulate(operand, g, op->getLoc());
  }

  SmallVector<Value> grads;
  for (Value w : wrt) {
    Value g = cotangent.lookup(w);
    if (!g) // w does not reach the loss: its gradient is zero
      g = nn::NNBuilder(b, w.getLoc()).zerosLike(w);
    grads.push_back(g);
  }
  return grads;
}

FailureOr<SmallVector<unsigned>> selectArguments(func::FuncOp f, ArrayRef<std::string> names) {
  auto sig = nn::readSignature(f);
  if (failed(sig))
    return failure();
  SmallVector<unsigned> out;
  if (names.empty()) {
    for (unsigned i = 0; i < sig->args.size(); ++i)
      if (sig->args[i].isParam)
        out.push_back(i);
    if (out.empty())
      for (unsigned i = 0; i < sig->args.size(); ++i)
        if (isFloatTensor(f.getArgument(i)))
          out.push_back(i);
    return out;
  }
  for (const std::string &name : names) {
    auto it = llvm::find_if(sig->args, [&](const nn::ArgSpec &a) { return a.name == name; });
    if (it == sig->args.end()) {
      std::string known;
      for (const nn::ArgSpec &a : sig->args)
        known += (known.empty() ? "" : ", ") + a.name;
      return f.emitError() << "cannot differentiate with respect to \"" << name
                           << "\": no such argument (the arguments: " << known << ")";
    }
    unsigned i = it - sig->args.begin();
    if (!isFloatTensor(f.getArgument(i)))
      return f.emitError() << "cannot differentiate with respect to \"" << name
                           << "\": it is not a float tensor";
    out.push_back(i);
  }
  return out;
}

FailureOr<func::FuncOp> differentiate(func::FuncOp f, ArrayRef<unsigned> wrt, StringRef name,
                                      StringRef of) {
  auto sig = nn::readSignature(f);
  if (failed(sig))
    return failure();
  std::optional<unsigned> only;
  if (!of.empty()) {
    std::string names;
    for (auto [i, r] : llvm::enumerate(sig->results)) {
      if (r.name == of)
        only = i;
      names += (names.empty() ? "" : ", ") + r.name;
    }
    if (!only)
      return f.emitError() << "no output named '" << of << "' to differentiate (the outputs: "
                           << names << ")";
    if (!isa<FloatType>(sig->results[*only].type.getElementType()))
      return f.emitError() << "output '" << of << "' is not a float tensor: it has no gradient";
  }
  MLIRContext *ctx = f.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointAfter(f);
  if (SymbolTable::lookupNearestSymbolFrom(f, StringAttr::get(ctx, name)))
    return f.emitError() << "cannot create @" << name << ": the name is taken";
  auto g = b.create<func::FuncOp>(f.getLoc(), name, b.getFunctionType({}, {}));
  Block *body = g.addEntryBlock();

  // Arguments: f's, then a cotangent per non-scalar result.
  IRMapping map;
  for (unsigned i = 0; i < f.getNumArguments(); ++i) {
    Value arg = body->addArgument(f.getArgument(i).getType(), f.getArgument(i).getLoc());
    map.map(f.getArgument(i), arg);
  }
  SmallVector<DictionaryAttr> argAttrs;
  for (unsigned i = 0; i < f.getNumArguments(); ++i)
    argAttrs.push_back(f.getArgAttrDict(i) ? f.getArgAttrDict(i) : b.getDictionaryAttr({}));
  SmallVector<Value> seeds;
  b.setInsertionPointToEnd(body);
  auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
  for (auto [i, result] : llvm::enumerate(ret.getOperands())) {
    auto type = cast<RankedTensorType>(result.getType());
    if (!isa<FloatType>(type.getElementType()) || (only && i != *only)) {
      seeds.push_back(Value()); // this output does not count
      continue;
    }
    if (type.getRank() == 0) {
      seeds.push_back(Value()); // created after the forward ops, below
      continue;
    }
    seeds.push_back(body->addArgument(type, result.getLoc()));
    argAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr(
        nn::kNameAttr, b.getStringAttr("d_" + sig->results[i].name))));
  }
  for (Operation &op : f.getBody().front().without_terminator())
    b.clone(op, map);
  SmallVector<Value> outputs;
  for (auto [i, result] : llvm::enumerate(ret.getOperands())) {
    outputs.push_back(map.lookupOrDefault(result));
    auto type = cast<RankedTensorType>(result.getType());
    if (type.getRank() == 0 && isa<FloatType>(type.getElementType()) && (!only || i == *only))
      seeds[i] = nn::NNBuilder(b, result.getLoc()).splat(1.0, type);
  }
  SmallVector<Value> wrtValues;
  for (unsigned i : wrt)
    wrtValues.push_back(body->getArgument(i));
  // The return exists before the backward ops (which go in front of it) so
  // that a rule replacing a forward op (a scan's recording twin) updates
  // the outputs it returns too.
  auto gRet = b.create<func::ReturnOp>(f.getLoc(), outputs);
  b.setInsertionPoint(gRet);
  auto grads = reverseMode(b, *body, outputs, seeds, wrtValues);
  if (failed(grads)) {
    g.erase();
    return failure();
  }
  gRet->insertOperands(gRet->getNumOperands(), *grads);
  SmallVector<Value> results(gRet.getOperands());

  SmallVector<Type> resultTypes;
  SmallVector<DictionaryAttr> resultAttrs;
  for (auto [i, v] : llvm::enumerate(results)) {
    resultTypes.push_back(v.getType());
    std::string n = i < outputs.size() ? sig->results[i].name
                                       : "d_" + sig->args[wrt[i - outputs.size()]].name;
    resultAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr(nn::kNameAttr, b.getStringAttr(n))));
  }
  g.setFunctionType(b.getFunctionType(body->getArgumentTypes(), resultTypes));
  g.setAllArgAttrs(argAttrs);
  g.setAllResultAttrs(resultAttrs);
  return g;
}

} // namespace kiln
