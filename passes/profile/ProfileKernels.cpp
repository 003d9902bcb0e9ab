//===- ProfileKernels.cpp - time every kernel of the entry ---------------===//
//
// The per-kernel profile (issue 12) is drawn here, once, for every reader:
// `kiln run --profile`, `Function::profile()`, kiln-train-bench and
// (later) `kiln report` and `--check` read the counters and the kernel
// table this pass leaves, never instrumenting again.
//
// Where: at the end of the bufferized phase, when every kernel is a
// top-level op of the entry (a loop nest, a linalg op, or a call that runs
// an outlined loop on the thread pool) and the workspace is planned; the
// clock reads are calls to an external function, so LLVM keeps the
// kernels' memory traffic between them.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/fusion/SourceOps.h"
#include "passes/profile/KernelTable.h"
#include "passes/profile/WrittenBuffers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"

namespace kiln {
#define GEN_PASS_DEF_PROFILEKERNELS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

using kiln::kProfileCounters;
constexpr llvm::StringLiteral kNow = "kiln_rt1_profile_now";
constexpr llvm::StringLiteral kProbe = "kiln_rt1_check_probe";

bool isParallelCall(Operation *op) {
  auto call = dyn_cast<func::CallOp>(op);
  return call && call.getCallee() == kiln::kParallelForFunction;
}

/// An op that does a kernel's work (the rest is views, constants, index
/// arithmetic and the stores that pass a parallel loop its arguments).
bool isKernelOp(Operation *op) {
  return isa<linalg::LinalgOp, memref::CopyOp, scf::ForOp, scf::ParallelOp, scf::ForallOp, scf::WhileOp,
             scf::IfOp, vector::TransferWriteOp>(op) ||
         isParallelCall(op);
}

/// The body a parallel-loop call runs (kiln-parallelize-loops' outlined
/// function), or null.
func::FuncOp outlinedBody(ModuleOp module, Operation *call) {
  auto ref = call->getOperand(0).getDefiningOp<func::ConstantOp>();
  return ref ? module.lookupSymbol<func::FuncOp>(ref.getValue()) : nullptr;
}

/// One row of the profile: the ops [first, last] of the entry's block.
struct Kernel {
  Operation *first, *last;
  Location loc;
};

/// The trip count of a loop with constant bounds, else 0.
int64_t tripCount(scf::ForOp loop) {
  auto lb = getConstantIntValue(loop.getLowerBound()), ub = getConstantIntValue(loop.getUpperBound()),
       step = getConstantIntValue(loop.getStep());
  if (!lb || !ub || !step || *step <= 0)
    return 0;
  return std::max<int64_t>(0, (*ub - *lb + *step - 1) / *step);
}

/// Floating-point operations of one execution of `op` (vector ops count
/// their lanes; a multiply-add two).
int64_t flopsOf(Operation *op) {
  if (op->getNumResults() != 1)
    return 0;
  Type t = op->getResult(0).getType();
  int64_t lanes = 1;
  if (auto v = dyn_cast<VectorType>(t))
    lanes = v.getNumElements(), t = v.getElementType();
  if (!isa<FloatType>(t))
    return 0;
  if (isa<math::FmaOp, vector::FMAOp>(op))
    return 2 * lanes;
  if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp>(op))
    return lanes;
  return 0;
}

/// The phase that formed a kernel, for the checker's report: a tiling pass
/// (it named the kernel, or a row kernel), fusion (several source ops) or
/// the lowering of one op.
std::string formingPhase(const std::string &kind, bool named, size_t sources) {
  if (named || kind == "row")
    return "tiled";
  return sources > 1 ? "fused" : "linalg";
}

struct ProfileKernelsPass : kiln::impl::ProfileKernelsBase<ProfileKernelsPass> {
  using ProfileKernelsBase::ProfileKernelsBase;

  /// Every op nested in [first, last], and in the bodies of the parallel
  /// loops they call.
  void walkKernel(ModuleOp module, const Kernel &k, function_ref<void(Operation *)> fn) {
    for (Operation *op = k.first;; op = op->getNextNode()) {
      // Outer ops first: a kernel's own name comes before its inner loops'.
      op->walk<WalkOrder::PreOrder>([&](Operation *nested) {
        fn(nested);
        if (isParallelCall(nested))
          if (func::FuncOp body = outlinedBody(module, nested))
            body.walk<WalkOrder::PreOrder>([&](Operation *inner) { fn(inner); });
      });
      if (op == k.last)
        break;
    }
  }

  /// The floating-point operations of one call of the kernel: each float
  /// op's count times the trip counts of the loops around it; in a
  /// parallel loop's outlined body, the loop over the chunk runs the call's
  /// trip count in all.
  int64_t flopsOfKernel(ModuleOp module, const Kernel &k) {
    int64_t total = 0;
    auto count = [&](Operation *root, int64_t outer) {
      root->walk([&](Operation *op) {
        int64_t f = flopsOf(op);
        if (f == 0)
          return;
        int64_t trips = outer;
        for (Operation *p = op->getParentOp(); p && p != root->getParentOp(); p = p->getParentOp())
          if (auto loop = dyn_cast<scf::ForOp>(p))
            if (int64_t n = tripCount(loop))
              trips *= n;
        total += f * trips;
      });
    };
    for (Operation *op = k.first;; op = op->getNextNode()) {
      if (isParallelCall(op)) {
        func::FuncOp body = outlinedBody(module, op);
        auto trips = getConstantIntValue(op->getOperand(1));
        if (body && trips)
          count(body, *trips);
      } else {
        count(op, 1);
      }
      if (op == k.last)
        break;
    }
    return total;
  }

  /// What the kernel is, for the table, when no matmul loop names it:
  /// matmul (`matmul`: it computes register tiles), row (vector reductions:
  /// softmax, layer norm, losses), reduction, copy, fill, or elementwise.
  std::string kindOf(ModuleOp module, const Kernel &k, bool matmul) {
    if (matmul)
      return "matmul";
    bool rows = false, reduction = false, other = false, copies = false, fills = false;
    walkKernel(module, k, [&](Operation *op) {
      if (isa<vector::MultiDimReductionOp, vector::ReductionOp>(op))
        rows = true;
      else if (auto g = dyn_cast<linalg::GenericOp>(op))
        reduction |= g.getNumReductionLoops() > 0, other = true;
      else if (isa<linalg::CopyOp, memref::CopyOp>(op))
        copies = true;
      else if (isa<linalg::FillOp>(op))
        fills = true;
      else if (isa<scf::ForOp, vector::TransferWriteOp, memref::StoreOp>(op))
        other = true;
    });
    if (rows)
      return "row";
    if (reduction)
      return "reduction";
    if (copies && !other)
      return "copy";
    if (fills && !other && !copies)
      return "fill";
    return "elementwise";
  }

  /// Bytes of the buffers the kernel touches: each memref it uses, traced
  /// back through the views made inside the kernel to the buffer it was
  /// given, counted once.
  int64_t bytesTouched(ModuleOp module, const Kernel &k) {
    llvm::DenseSet<Operation *> inside;
    walkKernel(module, k, [&](Operation *op) { inside.insert(op); });
    // A parallel loop gets its buffers through its args struct: the
    // memrefs cast to descriptors and stored into it.
    SmallVector<Value> passed;
    walkKernel(module, k, [&](Operation *op) {
      if (!isParallelCall(op))
        return;
      for (Operation *gep : op->getOperand(2).getUsers())
        for (Operation *user : gep->getUsers())
          if (auto store = dyn_cast<LLVM::StoreOp>(user))
            if (auto cast = store.getValue().getDefiningOp<UnrealizedConversionCastOp>())
              for (Value v : cast.getInputs())
                passed.push_back(v);
    });
    llvm::DenseSet<Value> buffers;
    for (Value v : passed)
      if (isa<MemRefType>(v.getType()))
        buffers.insert(v);
    for (Operation *op : inside)
      for (Value v : op->getOperands()) {
        if (!isa<MemRefType>(v.getType()))
          continue;
        while (Operation *def = v.getDefiningOp()) {
          auto view = dyn_cast<ViewLikeOpInterface>(def);
          if (!view || !inside.contains(def) || isa<memref::ViewOp>(def))
            break;
          v = view.getViewSource();
        }
        if (Operation *def = v.getDefiningOp(); def && inside.contains(def))
          continue; // a buffer of the kernel's own (a tile, a panel)
        buffers.insert(v);
      }
    int64_t bytes = 0;
    for (Value v : buffers)
      bytes += kiln::bytesOf(cast<MemRefType>(v.getType()));
    return bytes;
  }

  /// Hands each buffer `written` to the checker's probe, after `perturb`
  /// (for the kernel being perturbed) has planted its error; the probes'
  /// descriptions for the kernel table. A buffer with a dynamic shape or
  /// strides, no elements or an element type the checker cannot read is
  /// not probed.
  llvm::json::Array probeBuffers(OpBuilder &b, Location loc, func::FuncOp probe, int64_t kernel,
                                 ArrayRef<Value> written) {
    llvm::json::Array probes;
    bool perturbed = kernel != perturbKernel;
    for (Value v : written) {
      auto type = cast<MemRefType>(v.getType());
      SmallVector<int64_t> strides;
      int64_t offset;
      std::string dtype = kiln::kernelTableDType(type.getElementType());
      if (!type.hasStaticShape() || type.getNumElements() == 0 || dtype.empty() ||
          failed(getStridesAndOffset(type, strides, offset)) ||
          llvm::any_of(strides, ShapedType::isDynamic))
        continue;
      if (!perturbed && isa<FloatType>(type.getElementType())) {
        perturb(b, loc, v);
        perturbed = true;
      }
      auto index = [&](int64_t i) -> Value { return b.create<arith::ConstantIndexOp>(loc, i); };
      Value pointer = alignedPointer(b, loc, v);
      Value elementOffset = b.create<memref::ExtractStridedMetadataOp>(loc, v).getOffset();
      b.create<func::CallOp>(loc, probe,
                             ValueRange{index(kernel), index(int64_t(probes.size())), pointer, elementOffset});
      probes.push_back(llvm::json::Object{{"slot", int64_t(probes.size())},
                                          {"dtype", dtype},
                                          {"shape", llvm::json::Array(type.getShape())},
                                          {"strides", llvm::json::Array(strides)}});
    }
    return probes;
  }

  /// The address `v`'s offset counts from. Seen through views, as
  /// expand-strided-metadata sees them, except that a workspace slot
  /// (memref.view) starts its byte shift after the workspace's start.
  Value alignedPointer(OpBuilder &b, Location loc, Value v) {
    for (Value at = v; Operation *def = at.getDefiningOp();) {
      if (auto slot = dyn_cast<memref::ViewOp>(def)) {
        Value base = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, slot.getSource());
        return b.create<arith::AddIOp>(loc, base, slot.getByteShift());
      }
      auto view = dyn_cast<ViewLikeOpInterface>(def);
      if (!view)
        break;
      at = view.getViewSource();
    }
    return b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, v);
  }

  /// The planted error of `perturb-kernel`: x[0, ...] += 1e-3 * max(|x|, 1).
  void perturb(OpBuilder &b, Location loc, Value buffer) {
    auto type = cast<MemRefType>(buffer.getType());
    auto floatType = cast<FloatType>(type.getElementType());
    Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
    SmallVector<Value> at(type.getRank(), zero);
    Value x = b.create<memref::LoadOp>(loc, buffer, at);
    Value size = b.create<arith::MaximumFOp>(loc, b.create<math::AbsFOp>(loc, x),
                                             b.create<arith::ConstantOp>(loc, b.getFloatAttr(floatType, 1.0)));
    Value delta = b.create<arith::MulFOp>(loc, size, b.create<arith::ConstantOp>(loc, b.getFloatAttr(floatType, 1e-3)));
    b.create<memref::StoreOp>(loc, b.create<arith::AddFOp>(loc, x, delta), buffer, at);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto f = module.lookupSymbol<func::FuncOp>(entry);
    if (!f || f.isExternal() || !f.getBody().hasOneBlock()) {
      module.emitError() << "kiln-profile-kernels: no single-block function @" << entry;
      return signalPassFailure();
    }
    Block &body = f.getBody().front();

    // 1. The kernels. A matmul's outermost loop (kiln-tile-matmul names
    // it) starts one; an op computing only source ops of the kernel before
    // it continues that kernel (a matmul's peeled edge, the pieces of a row
    // kernel); copies and fills go with the loop after them when that loop
    // computes what they are for (a matmul's B panels). (A gradient's ops
    // carry its forward op's location, so the two gradients of one matmul,
    // computed back to back, are one row.)
    SmallVector<Kernel> kernels;
    SmallVector<Operation *> pending; // copies and fills not yet placed
    auto sourcesOf = [](Location loc) {
      llvm::StringSet<> s;
      for (const std::string &op : kiln::sourceOpList(loc))
        s.insert(op);
      return s;
    };
    auto continues = [&](Operation *op) {
      if (kernels.empty() || op->hasAttr(kiln::kKernelAttr))
        return false;
      if (kernels.back().loc == op->getLoc())
        return true;
      auto mine = sourcesOf(op->getLoc()), theirs = sourcesOf(kernels.back().loc);
      return !mine.empty() && llvm::all_of(mine.keys(), [&](StringRef s) { return theirs.contains(s); });
    };
    auto place = [&](Operation *op) {
      if (continues(op))
        kernels.back().last = op;
      else
        kernels.push_back({op, op, op->getLoc()});
    };
    for (Operation &op : body.without_terminator()) {
      if (!isKernelOp(&op))
        continue;
      if (isa<linalg::CopyOp, linalg::FillOp, memref::CopyOp>(op)) {
        pending.push_back(&op);
        continue;
      }
      auto sources = sourcesOf(op.getLoc());
      bool feeds = !pending.empty() && llvm::all_of(pending, [&](Operation *p) {
        auto ps = sourcesOf(p->getLoc());
        return !ps.empty() && llvm::all_of(ps.keys(), [&](StringRef s) { return sources.contains(s); });
      });
      if (feeds) {
        if (continues(&op))
          kernels.back().last = &op; // the panels of a peeled edge
        else
          kernels.push_back({pending.front(), &op, op.getLoc()});
      } else {
        for (Operation *p : pending)
          place(p);
        place(&op);
      }
      pending.clear();
    }
    for (Operation *p : pending)
      place(p);

    // 2. The counters: a row per kernel and one for the whole call.
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Location loc = f.getLoc();
    int64_t rows = int64_t(kernels.size()) + 1;
    auto i64 = b.getI64Type();
    auto countersType = MemRefType::get({rows, 2}, i64);
    b.setInsertionPointToStart(module.getBody());
    if (module.lookupSymbol(kProfileCounters) || module.lookupSymbol(kNow) || module.lookupSymbol(kProbe)) {
      module.emitError() << "kiln-profile-kernels: the module is already profiled";
      return signalPassFailure();
    }
    b.create<memref::GlobalOp>(loc, kProfileCounters, b.getStringAttr("private"), countersType,
                               DenseElementsAttr::get(RankedTensorType::get({rows, 2}, i64), int64_t(0)),
                               /*constant=*/false, /*alignment=*/b.getI64IntegerAttr(64));
    auto nowType = b.getFunctionType({}, {i64});
    auto now = b.create<func::FuncOp>(loc, kNow, nowType);
    now.setPrivate();

    func::FuncOp probe;
    if (check) {
      auto index = b.getIndexType();
      probe = b.create<func::FuncOp>(loc, kProbe, b.getFunctionType({index, index, index, index}, {}));
      probe.setPrivate();
    }

    b.setInsertionPointToStart(&body);
    Value counters = b.create<memref::GetGlobalOp>(loc, countersType, kProfileCounters);
    Value c0 = b.create<arith::ConstantIndexOp>(loc, 0), c1 = b.create<arith::ConstantIndexOp>(loc, 1);
    Value one = b.create<arith::ConstantIntOp>(loc, 1, 64);
    Value callStart = b.create<func::CallOp>(loc, now, ValueRange{}).getResult(0);
    // counters[row] += (now - start, 1)
    auto record = [&](OpBuilder &b, Location loc, int64_t row, Value start) {
      Value end = b.create<func::CallOp>(loc, now, ValueRange{}).getResult(0);
      Value r = b.create<arith::ConstantIndexOp>(loc, row);
      Value ns = b.create<memref::LoadOp>(loc, counters, ValueRange{r, c0});
      Value elapsed = b.create<arith::SubIOp>(loc, end, start);
      b.create<memref::StoreOp>(loc, b.create<arith::AddIOp>(loc, ns, elapsed), counters, ValueRange{r, c0});
      Value calls = b.create<memref::LoadOp>(loc, counters, ValueRange{r, c1});
      b.create<memref::StoreOp>(loc, b.create<arith::AddIOp>(loc, calls, one), counters, ValueRange{r, c1});
    };

    // What each kernel writes (before any instrumentation adds uses), but
    // not what is unfinished: a buffer that a later kernel writes again (a
    // matmul's zeroed output), or that a later kernel computing the same
    // source ops uses (a gradient scatter's first taps, the rest fused into
    // its consumer). Those are probed where they are finished, if at all.
    std::vector<SmallVector<Value>> written(kernels.size());
    if (check) {
      llvm::DenseMap<Value, size_t> lastWriter;
      std::vector<llvm::DenseSet<Value>> used(kernels.size());
      for (auto [id, k] : llvm::enumerate(kernels)) {
        written[id] = kiln::writtenBuffers(module, k.first, k.last);
        for (Value v : written[id])
          lastWriter[v] = id;
        for (Value v : kiln::usedBuffers(module, k.first, k.last))
          used[id].insert(v);
      }
      auto continuedLater = [&](size_t id, Value v) {
        auto mine = sourcesOf(kernels[id].loc);
        for (size_t later = id + 1; later < kernels.size(); ++later) {
          if (!used[later].contains(v))
            continue;
          auto theirs = sourcesOf(kernels[later].loc);
          if (!mine.empty() && llvm::all_of(mine.keys(), [&](StringRef s) { return theirs.contains(s); }))
            return true;
        }
        return false;
      };
      for (auto [id, buffers] : llvm::enumerate(written))
        llvm::erase_if(buffers, [&, id = id](Value v) { return lastWriter[v] != id || continuedLater(id, v); });
    }

    // 3. Each kernel bracketed by the clock; its row described.
    llvm::json::Array table;
    for (auto [id, k] : llvm::enumerate(kernels)) {
      // A matmul's loops name it ("matmul 2048x128x512", kiln-tile-matmul);
      // a loop that ran once may have been folded away with its name, so
      // a register tile's product (a multiply of R x C x 1 vectors) marks
      // a matmul too.
      std::string what;
      bool matmul = false;
      int64_t statedFlops = -1;
      walkKernel(module, k, [&](Operation *op) {
        if (auto attr = op->getAttrOfType<StringAttr>(kiln::kKernelAttr); attr && what.empty())
          what = attr.getValue().str();
        if (auto attr = op->getAttrOfType<IntegerAttr>(kiln::kKernelFlopsAttr); attr && statedFlops < 0)
          statedFlops = attr.getInt();
        if (auto mul = dyn_cast<arith::MulFOp>(op))
          if (auto v = dyn_cast<VectorType>(mul.getType()); v && v.getRank() >= 3 && v.getShape().back() == 1)
            matmul = true;
      });
      int64_t flops = statedFlops >= 0 ? statedFlops : flopsOfKernel(module, k);
      std::string kind = what.empty() ? kindOf(module, k, matmul) : what;
      llvm::json::Object row{{"id", int64_t(id)},
                             {"kind", kind},
                             {"ops", kiln::describeSourceOps(k.loc)},
                             {"flops", flops},
                             {"bytes", bytesTouched(module, k)}};
      if (check) {
        SmallVector<std::string> sources = kiln::sourceOpList(k.loc);
        row["phase"] = formingPhase(kind, !what.empty(), sources.size());
        row["sources"] = llvm::json::Array(sources);
      }
      b.setInsertionPoint(k.first);
      Value start = b.create<func::CallOp>(k.loc, now, ValueRange{}).getResult(0);
      b.setInsertionPointAfter(k.last);
      record(b, k.loc, int64_t(id), start);
      if (check)
        row["probes"] = probeBuffers(b, k.loc, probe, int64_t(id), written[id]);
      table.push_back(std::move(row));
    }
    b.setInsertionPoint(body.getTerminator());
    record(b, loc, rows - 1, callStart);

    std::string json;
    llvm::raw_string_ostream os(json);
    os << llvm::json::Value(std::move(table));
    f->setAttr(kiln::kProfileTableAttr, b.getStringAttr(json));
  }
};

} // namespace
