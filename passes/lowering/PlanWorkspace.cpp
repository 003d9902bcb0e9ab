//===- PlanWorkspace.cpp - temporaries in one caller-given workspace -----===//
//
// After bufferization the entry function allocates its temporaries with
// memref.alloc and frees them with memref.dealloc. This pass gives each a
// fixed offset in one workspace buffer instead: live ranges come from the
// positions of the alloc and its dealloc in the function's top-level block,
// and offsets are chosen first-fit (64-byte aligned) so that buffers whose
// ranges do not overlap share memory. Allocations inside loops or with
// conditional deallocation stay on the heap.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_PLANWORKSPACE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr int64_t kAlignment = 64;

struct Buffer {
  memref::AllocOp alloc;
  memref::DeallocOp dealloc; // null: live to the end
  int64_t start, end;        // positions in the block
  int64_t bytes, offset = -1;
};

int64_t byteSize(MemRefType type) {
  int64_t bytes = kiln::bytesOf(type);
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

struct PlanWorkspacePass : kiln::impl::PlanWorkspaceBase<PlanWorkspacePass> {
  using PlanWorkspaceBase::PlanWorkspaceBase;

  void runOnOperation() override {
    auto f = getOperation().lookupSymbol<func::FuncOp>(entry);
    if (!f || f.isExternal())
      return; // nothing to plan (kiln-opt on a module without the entry)
    Block &body = f.getBody().front();
    llvm::DenseMap<Operation *, int64_t> position;
    int64_t n = 0;
    for (Operation &op : body)
      position[&op] = n++;

    SmallVector<Buffer> buffers;
    for (Operation &op : body) {
      auto alloc = dyn_cast<memref::AllocOp>(op);
      if (!alloc)
        continue;
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() || !alloc.getDynamicSizes().empty())
        continue;
      Buffer b{alloc, nullptr, position[&op], n, byteSize(type)};
      bool plannable = true;
      for (Operation *user : alloc->getUsers()) {
        auto dealloc = dyn_cast<memref::DeallocOp>(user);
        if (!dealloc)
          continue;
        if (dealloc->getBlock() != &body)
          plannable = false; // freed conditionally: leave it on the heap
        b.dealloc = dealloc;
        b.end = position.lookup(dealloc);
      }
      if (plannable)
        buffers.push_back(b);
    }
    if (buffers.empty())
      return;

    // First fit: the lowest aligned offset not overlapping any placed buffer
    // whose live range overlaps this one's.
    int64_t total = 0;
    for (size_t i = 0; i < buffers.size(); ++i) {
      SmallVector<std::pair<int64_t, int64_t>> taken;
      for (size_t j = 0; j < i; ++j)
        if (buffers[j].start <= buffers[i].end && buffers[i].start <= buffers[j].end)
          taken.push_back({buffers[j].offset, buffers[j].offset + buffers[j].bytes});
      llvm::sort(taken);
      int64_t offset = 0;
      for (auto [lo, hi] : taken)
        if (offset + buffers[i].bytes <= lo)
          break;
        else
          offset = std::max(offset, hi);
      buffers[i].offset = offset;
      total = std::max(total, offset + buffers[i].bytes);
    }

    // The workspace is the entry's new last argument.
    OpBuilder b(f.getContext());
    auto wsType = MemRefType::get({total}, b.getI8Type());
    unsigned index = f.getNumArguments();
    f.insertArgument(index, wsType,
                     b.getDictionaryAttr(
                         b.getNamedAttr(kiln::nn::kWorkspaceAttr, b.getI64IntegerAttr(total))),
                     f.getLoc());
    Value ws = f.getArgument(index);
    for (Buffer &buf : buffers) {
      b.setInsertionPoint(buf.alloc);
      Value offset = b.create<arith::ConstantIndexOp>(buf.alloc.getLoc(), buf.offset);
      Value view = b.create<memref::ViewOp>(buf.alloc.getLoc(), buf.alloc.getType(), ws, offset,
                                            ValueRange{});
      buf.alloc.replaceAllUsesWith(view);
      if (buf.dealloc)
        buf.dealloc.erase();
      buf.alloc.erase();
    }
  }
};

} // namespace
