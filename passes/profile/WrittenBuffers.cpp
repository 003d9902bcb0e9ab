//===- WrittenBuffers.cpp - the buffers a kernel writes ------------------===//
#include "passes/profile/WrittenBuffers.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace kiln {

namespace {

/// The memrefs `op` itself writes (not its regions').
SmallVector<Value> writesOf(Operation *op) {
  SmallVector<Value> out;
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    for (OpOperand &init : linalgOp.getDpsInitsMutable())
      out.push_back(init.get());
  } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
    out.push_back(copy.getTarget());
  } else if (auto store = dyn_cast<memref::StoreOp>(op)) {
    out.push_back(store.getMemRef());
  } else if (auto write = dyn_cast<vector::TransferWriteOp>(op)) {
    out.push_back(write.getSource());
  } else if (auto store = dyn_cast<vector::StoreOp>(op)) {
    out.push_back(store.getBase());
  } else if (auto store = dyn_cast<vector::MaskedStoreOp>(op)) {
    out.push_back(store.getBase());
  } else if (auto rmw = dyn_cast<memref::AtomicRMWOp>(op)) {
    out.push_back(rmw.getMemref());
  }
  llvm::erase_if(out, [](Value v) { return !isa<MemRefType>(v.getType()); });
  return out;
}

/// The buffer `v` is a view of: a workspace slot (memref.view: a buffer of
/// its own, not a view to see through), an argument of the function, or
/// an allocation; null when that allocation is made inside the range (the
/// range's own tile or panel).
Value traceOut(Value v, const llvm::DenseSet<Operation *> &inside) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<memref::ViewOp>(def))
      return v;
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      return inside.contains(def) ? nullptr : v;
    v = view.getViewSource();
  }
  return v; // a block argument
}

/// Whether the code after `last` can see buffer `v`: an argument of the
/// function (an output), or a buffer some later op uses, directly or
/// through views. A workspace slot used only inside the range (a packed
/// panel) is the kernel's own.
bool seenAfter(Value v, Operation *last) {
  if (isa<BlockArgument>(v))
    return true;
  Block *block = last->getBlock();
  for (Operation *user : v.getUsers()) {
    Operation *top = block->findAncestorOpInBlock(*user);
    if (top && last->isBeforeInBlock(top))
      return true;
    if (auto view = dyn_cast<ViewLikeOpInterface>(user); view && view.getViewSource() == v)
      for (Value r : user->getResults())
        if (seenAfter(r, last))
          return true;
  }
  return false;
}

/// The field of the args struct that `gep` addresses (`getelementptr
/// %args[0, i]`), or -1.
int64_t fieldOf(LLVM::GEPOp gep) {
  auto indices = gep.getIndices();
  if (indices.size() != 2)
    return -1;
  if (auto attr = llvm::dyn_cast_if_present<IntegerAttr>(indices[1]))
    return attr.getInt();
  return -1;
}

/// In an outlined parallel body, the args-struct field a memref came from:
/// `unrealized_cast(llvm.load(gep %args[0, i]))`, seen through the body's
/// views; -1 for the body's own buffers and scratch.
int64_t fieldOfBodyBuffer(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto cast = dyn_cast<UnrealizedConversionCastOp>(def)) {
      if (cast.getInputs().size() != 1)
        return -1;
      auto load = cast.getInputs()[0].getDefiningOp<LLVM::LoadOp>();
      auto gep = load ? load.getAddr().getDefiningOp<LLVM::GEPOp>() : nullptr;
      return gep ? fieldOf(gep) : -1;
    }
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      return -1;
    v = view.getViewSource();
  }
  return -1;
}

/// The memref the caller stored into field `i` of a parallel call's args.
Value passedInField(func::CallOp call, int64_t i) {
  for (Operation *user : call.getOperand(2).getUsers()) {
    auto gep = dyn_cast<LLVM::GEPOp>(user);
    if (!gep || fieldOf(gep) != i)
      continue;
    for (Operation *gepUser : gep->getUsers())
      if (auto store = dyn_cast<LLVM::StoreOp>(gepUser))
        if (auto cast = store.getValue().getDefiningOp<UnrealizedConversionCastOp>())
          for (Value in : cast.getInputs())
            if (isa<MemRefType>(in.getType()))
              return in;
  }
  return nullptr;
}

} // namespace

namespace {

/// The buffers that the ops [first, last] write (`writesOnly`) or use at
/// all, each found as writtenBuffers says.
SmallVector<Value> buffersOf(ModuleOp module, Operation *first, Operation *last, bool writesOnly) {
  llvm::DenseSet<Operation *> inside;
  for (Operation *op = first;; op = op->getNextNode()) {
    op->walk([&](Operation *nested) { inside.insert(nested); });
    if (op == last)
      break;
  }
  auto accessed = [&](Operation *op) {
    if (writesOnly)
      return writesOf(op);
    SmallVector<Value> all;
    for (Value v : op->getOperands())
      if (isa<MemRefType>(v.getType()))
        all.push_back(v);
    return all;
  };
  llvm::SetVector<Value> out;
  auto add = [&](Value v) {
    if (Value traced = v ? traceOut(v, inside) : nullptr; traced && (!writesOnly || seenAfter(traced, last)))
      out.insert(traced);
  };
  for (Operation *op = first;; op = op->getNextNode()) {
    op->walk([&](Operation *nested) {
      for (Value v : accessed(nested))
        add(v);
      auto call = dyn_cast<func::CallOp>(nested);
      if (!call || call.getCallee() != kiln::kParallelForFunction || call.getNumOperands() < 3)
        return;
      auto ref = call.getOperand(0).getDefiningOp<func::ConstantOp>();
      auto body = ref ? module.lookupSymbol<func::FuncOp>(ref.getValue()) : nullptr;
      if (!body)
        return;
      body.walk([&](Operation *inner) {
        for (Value v : accessed(inner))
          if (int64_t field = fieldOfBodyBuffer(v); field >= 0)
            add(passedInField(call, field));
      });
    });
    if (op == last)
      break;
  }
  return out.takeVector();
}

} // namespace

SmallVector<Value> writtenBuffers(ModuleOp module, Operation *first, Operation *last) {
  return buffersOf(module, first, last, /*writesOnly=*/true);
}

SmallVector<Value> usedBuffers(ModuleOp module, Operation *first, Operation *last) {
  return buffersOf(module, first, last, /*writesOnly=*/false);
}

} // namespace kiln
