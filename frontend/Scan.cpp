//===- Scan.cpp - kiln::scan: an nn.scan built from a C++ lambda ---------===//
//
// The lambda runs once, on tensors standing for the carries and the rows of
// the scanned inputs (the arguments of a detached block), and builds the
// step's ops into that block. Values it uses from outside (weights, other
// layers' outputs) become the scan's loop-invariant operands: nn.scan's
// body is isolated from above, so its gradient and lowering see every input
// as an operand.
//
//===----------------------------------------------------------------------===//
#include "kiln/Recurrent.h"
#include "frontend/GraphImpl.h"

#include "mlir/IR/Verifier.h"
#include "llvm/ADT/MapVector.h"

using namespace mlir;

namespace kiln {

namespace {
Value valueOf(Tensor t) { return Value::getFromOpaquePointer(t.handle()); }
Tensor wrap(Graph &g, Value v) { return g.wrap(v.getAsOpaquePointer()); }

/// Whether `v` is defined inside `block` (in it or in a region nested in it).
bool definedIn(Value v, Block *block) {
  for (Block *b = v.getParentBlock(); b; b = b->getParentOp() ? b->getParentOp()->getBlock() : nullptr)
    if (b == block)
      return true;
  return false;
}
} // namespace

ScanResult scan(const std::vector<Tensor> &inits, const std::vector<Tensor> &xs, const ScanBody &body, bool reverse,
                int64_t checkpointEvery, Where where) {
  Graph *g = xs.empty() ? nullptr : xs.front().graph();
  if (!g)
    return {}; // an invalid input: its error is recorded
  Graph::Impl &impl = g->impl();
  for (const Tensor &t : inits)
    if (!t.valid() || t.graph() != g) {
      impl.error(where, "scan: an initial carry is invalid or belongs to another graph");
      return {};
    }
  for (const Tensor &t : xs)
    if (!t.valid() || t.graph() != g) {
      impl.error(where, "scan: a scanned input is invalid or belongs to another graph");
      return {};
    }
  Location loc = impl.loc(where);

  // The body, built by the lambda into a block of its own.
  auto block = std::make_unique<Block>();
  std::vector<Tensor> carries, rows;
  for (const Tensor &t : inits)
    carries.push_back(wrap(*g, block->addArgument(valueOf(t).getType(), loc)));
  for (const Tensor &t : xs) {
    auto type = cast<RankedTensorType>(valueOf(t).getType());
    if (type.getRank() == 0) {
      impl.error(where, "scan: a scanned input is rank 0 (it needs a leading axis of steps)");
      return {};
    }
    rows.push_back(wrap(*g, block->addArgument(
                                RankedTensorType::get(type.getShape().drop_front(), type.getElementType()), loc)));
  }
  ScanStep step;
  {
    OpBuilder::InsertionGuard guard(impl.builder);
    impl.builder.setInsertionPointToEnd(block.get());
    step = body(carries, rows);
  }
  if (impl.firstError)
    return {}; // an op of the body failed; its message is the graph's error
  if (step.carries.size() != inits.size()) {
    impl.error(where, "scan: the step returns " + std::to_string(step.carries.size()) + " carries, expected " +
                          std::to_string(inits.size()) + " (one per initial value)");
    return {};
  }
  SmallVector<Value> yielded;
  for (const std::vector<Tensor> *list : {&step.carries, &step.outputs})
    for (const Tensor &t : *list) {
      if (!t.valid() || t.graph() != g) {
        impl.error(where, "scan: the step returns an invalid tensor or one of another graph");
        return {};
      }
      yielded.push_back(valueOf(t));
    }
  OpBuilder b(&impl.ctx);
  b.setInsertionPointToEnd(block.get());
  b.create<nn::YieldOp>(loc, yielded);

  // What the body uses from outside becomes a const operand and a block
  // argument, in order of first use.
  llvm::MapVector<Value, Value> captured;
  block->walk([&](Operation *op) {
    for (OpOperand &use : op->getOpOperands()) {
      Value v = use.get();
      if (definedIn(v, block.get()))
        continue;
      auto [it, inserted] = captured.insert({v, Value()});
      if (inserted)
        it->second = block->addArgument(v.getType(), loc);
      use.set(it->second);
    }
  });

  SmallVector<Value> initValues, xValues, consts;
  for (const Tensor &t : inits)
    initValues.push_back(valueOf(t));
  for (const Tensor &t : xs)
    xValues.push_back(valueOf(t));
  for (auto &[outer, inner] : captured)
    consts.push_back(outer);
  int64_t length = cast<RankedTensorType>(xValues.front().getType()).getDimSize(0);
  SmallVector<Type> resultTypes;
  for (Value v : initValues)
    resultTypes.push_back(v.getType());
  for (const Tensor &t : step.outputs) {
    auto type = cast<RankedTensorType>(valueOf(t).getType());
    SmallVector<int64_t> shape{length};
    shape.append(type.getShape().begin(), type.getShape().end());
    resultTypes.push_back(RankedTensorType::get(shape, type.getElementType()));
  }
  if (checkpointEvery < 0) {
    impl.error(where, "scan: checkpointEvery must be 0 (save every carry) or a positive step count, got " +
                          std::to_string(checkpointEvery));
    return {};
  }
  auto op = impl.builder.create<nn::ScanOp>(
      loc, resultTypes, initValues, xValues, consts, reverse ? impl.builder.getUnitAttr() : UnitAttr(),
      checkpointEvery > 1 ? impl.builder.getI64IntegerAttr(checkpointEvery) : IntegerAttr());
  op.getBody().push_back(block.release());
  if (failed(mlir::verify(op))) {
    op->erase();
    return {};
  }
  ScanResult result;
  for (unsigned i = 0; i < op.getNumResults(); ++i)
    (i < inits.size() ? result.carries : result.outputs).push_back(wrap(*g, op.getResult(i)));
  return result;
}

} // namespace kiln
