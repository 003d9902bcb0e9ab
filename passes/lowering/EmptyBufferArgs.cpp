//===- EmptyBufferArgs.cpp - zero-sized buffer arguments as memref<0xT> ---===//
//
// See kiln-empty-buffer-args in Passes.td.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_EMPTYBUFFERARGS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// A statically shaped, identity-layout memref with no elements and a rank
/// the calling convention cannot lower (rank 1 already lowers).
bool needsRewrite(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.hasStaticShape() && memref.getLayout().isIdentity() &&
         memref.getRank() > 1 && memref.getNumElements() == 0;
}

struct EmptyBufferArgsPass : kiln::impl::EmptyBufferArgsBase<EmptyBufferArgsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block &entry = func.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    bool changed = false;
    for (BlockArgument arg : entry.getArguments()) {
      if (!needsRewrite(arg.getType()))
        continue;
      auto type = cast<MemRefType>(arg.getType());
      changed = true;
      auto flat = MemRefType::get({0}, type.getElementType(), MemRefLayoutAttrInterface(),
                                  type.getMemorySpace());
      arg.setType(flat);
      if (arg.use_empty())
        continue;
      // Canonical (row-major) strides of the original shape.
      SmallVector<int64_t> strides(type.getRank(), 1);
      for (int64_t d = type.getRank() - 2; d >= 0; --d)
        strides[d] = strides[d + 1] * type.getDimSize(d + 1);
      auto view = b.create<memref::ReinterpretCastOp>(arg.getLoc(), type, arg, /*offset=*/0,
                                                      type.getShape(), strides);
      arg.replaceAllUsesExcept(view, view);
    }
    if (changed)
      func.setFunctionType(FunctionType::get(&getContext(), entry.getArgumentTypes(),
                                             func.getFunctionType().getResults()));
  }
};

} // namespace
