//===- LowerAttention.cpp - nn.attention as its composite or flash -------===//
//
// nn.attention is spelled with other nn ops (ir/AttentionComposite.h),
// which the usual lowering, matmul tiling and row kernels then take.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "ir/AttentionComposite.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_LOWERATTENTION
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::nn;

namespace {

struct LowerAttentionPass : kiln::impl::LowerAttentionBase<LowerAttentionPass> {
  using LowerAttentionBase::LowerAttentionBase;

  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops) {
      OpBuilder b(op);
      NNBuilder nb(b, op.getLoc());
      op.replaceAllUsesWith(attentionComposite(nb, op));
      op.erase();
    }
  }
};

} // namespace
