//===- ParallelizeLoops.cpp - parallel tile loops on the runtime's pool ---===//
//
// A loop marked `kiln.parallel` (kiln-tile-matmul marks the output-tile loops
// of matmuls worth threads) has iterations that write disjoint outputs. Each
// outermost such loop becomes
//
//   func.func private @<f>_parallel_<k>(%begin, %end : index,
//                                        %args, %scratch : !llvm.ptr)
//
// running iterations [begin, end) of the original loop, and in its place a
// call `kiln_rt1_parallel_for(@<f>_parallel_<k>, trip count, args, bytes)`.
// The values the body uses from outside travel in one stack struct `args`:
// memrefs as their LLVM descriptors (bridged by unrealized casts that
// finalize-memref-to-llvm and reconcile-unrealized-casts fold away), index
// values as i64, scalars as themselves. Buffers private to an iteration
// (allocated in the body, or allocated before the loop, used only in it and
// fully overwritten first in every iteration, or in every iteration of an
// inner loop that holds all their uses: a packed B panel) move into the
// calling thread's scratch, so threads never share them.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_PARALLELIZELOOPS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kParallelAttr;

namespace {

constexpr int64_t kScratchAlignment = 64;

bool isStaticIdentityBuffer(MemRefType type) {
  return type.hasStaticShape() && type.getLayout().isIdentity();
}

/// The first op of `body` (at its top level) that touches `buffer`.
Operation *firstUser(Block &body, Value buffer) {
  for (Operation &op : body) {
    bool uses = false;
    op.walk([&](Operation *nested) {
      uses |= llvm::is_contained(nested->getOperands(), buffer);
    });
    if (uses)
      return &op;
  }
  return nullptr;
}

bool usedOnlyIn(memref::AllocOp alloc, scf::ForOp loop) {
  return llvm::all_of(alloc->getUsers(), [&](Operation *user) { return loop->isProperAncestor(user); });
}

/// The innermost block, from `block` down, whose ops hold every use of
/// `buffer`: while all uses are inside one op of the block (an inner loop)
/// and in one block of its regions, that block.
Block *blockOfUses(Block &block, Value buffer) {
  Block *at = &block;
  while (Operation *first = firstUser(*at, buffer)) {
    if (first->getNumRegions() == 0 ||
        !llvm::all_of(buffer.getUsers(), [&](Operation *user) { return first->isProperAncestor(user); }))
      return at;
    Block *inner = nullptr;
    for (Region &region : first->getRegions())
      for (Block &candidate : region)
        if (firstUser(candidate, buffer)) {
          if (inner)
            return at; // uses in two blocks (the branches of an if)
          inner = &candidate;
        }
    if (!inner)
      return at;
    at = inner;
  }
  return at;
}

/// A buffer allocated before `loop` and used only in it is private to each
/// iteration if each iteration first overwrites all of it with a linalg op
/// that does not read it (the packed panel of B is such a buffer), before
/// any other use; or if that holds of each iteration of an inner loop that
/// holds every use (a temporary of one block of flash attention's keys).
bool isPrivateToIterations(memref::AllocOp alloc, scf::ForOp loop) {
  if (!isStaticIdentityBuffer(alloc.getType()))
    return false;
  Block *uses = blockOfUses(*loop.getBody(), alloc);
  auto writer = dyn_cast_or_null<linalg::LinalgOp>(firstUser(*uses, alloc));
  if (!writer || writer->getBlock() != uses)
    return false;
  bool overwritten = false;
  for (OpOperand &operand : writer->getOpOperands()) {
    if (operand.get() != alloc.getResult())
      continue;
    if (!writer.isDpsInit(&operand) || writer.payloadUsesValueFromOperand(&operand))
      return false;
    overwritten = true;
  }
  return overwritten;
}

/// Appends to `chain`, producers first, the ops that compute `v` from
/// constants alone (pure, no regions, one result); false if `v` needs
/// anything else (an argument, a load, a block argument).
bool fromConstants(Value v, SmallVectorImpl<Operation *> &chain) {
  Operation *def = v.getDefiningOp();
  if (!def || def->getNumResults() != 1 || def->getNumRegions() != 0 || !isMemoryEffectFree(def))
    return false;
  if (!def->hasTrait<OpTrait::ConstantLike>())
    for (Value operand : def->getOperands())
      if (!fromConstants(operand, chain))
        return false;
  if (!llvm::is_contained(chain, def))
    chain.push_back(def);
  return true;
}

bool isPassable(Type type) {
  if (auto memref = dyn_cast<MemRefType>(type))
    return isStrided(memref);
  return type.isIntOrIndexOrFloat();
}

struct ParallelizeLoopsPass : kiln::impl::ParallelizeLoopsBase<ParallelizeLoopsPass> {
  using ParallelizeLoopsBase::ParallelizeLoopsBase;

  /// What the outlined body needs: values passed in `args`, buffers that
  /// move to scratch (with their offsets), constants cloned.
  struct Plan {
    SmallVector<Value> captures;
    SmallVector<std::pair<memref::AllocOp, int64_t>> privateBuffers;
    SmallVector<Operation *> constants; // and ops computed from them only, in order
    int64_t scratchBytes = 0;
  };

  std::optional<Plan> plan(scf::ForOp loop) {
    if (loop.getNumResults() != 0)
      return std::nullopt;
    std::optional<int64_t> trips = constantTripCount(loop.getLowerBound(), loop.getUpperBound(),
                                                     loop.getStep());
    if (trips && *trips < 2)
      return std::nullopt;
    Plan p;
    auto addScratch = [&](memref::AllocOp alloc) {
      MemRefType type = alloc.getType();
      int64_t bytes = kiln::bytesOf(type);
      p.privateBuffers.push_back({alloc, p.scratchBytes});
      p.scratchBytes += llvm::alignTo(bytes, kScratchAlignment);
    };
    bool ok = true;
    loop.getBody()->walk([&](memref::AllocOp alloc) {
      if (!isStaticIdentityBuffer(alloc.getType()))
        ok = false; // a dynamic temporary would be a heap allocation per call
      else
        addScratch(alloc);
    });
    llvm::SetVector<Value> above;
    getUsedValuesDefinedAbove(loop.getRegion(), above);
    above.insert(loop.getLowerBound()); // the chunk's bounds are computed inside
    above.insert(loop.getStep());
    for (Value v : above) {
      // Constants, and pure ops computed from constants only (a hoisted
      // broadcast of an iota vector), are recomputed in the body.
      if (SmallVector<Operation *> chain; fromConstants(v, chain)) {
        for (Operation *op : chain)
          if (!llvm::is_contained(p.constants, op))
            p.constants.push_back(op);
        continue;
      }
      if (auto alloc = v.getDefiningOp<memref::AllocOp>(); alloc && usedOnlyIn(alloc, loop)) {
        // Private to each iteration, or it carries values between them.
        if (!isPrivateToIterations(alloc, loop))
          return std::nullopt;
        addScratch(alloc);
        continue;
      }
      if (!isPassable(v.getType()))
        ok = false;
      p.captures.push_back(v);
    }
    if (!ok)
      return std::nullopt;
    return p;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<scf::ForOp> loops;
    module.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      if (loop->hasAttr(kParallelAttr) && plan(loop)) {
        loops.push_back(loop);
        return WalkResult::skip(); // loops inside run within one chunk
      }
      return WalkResult::advance();
    });
    LLVMTypeConverter converter(ctx);
    unsigned counter = 0;
    int64_t scratch = 0;
    for (scf::ForOp loop : loops) {
      Plan p = *plan(loop);
      scratch = std::max(scratch, p.scratchBytes);
      if (failed(outline(module, loop, p, converter, counter++)))
        return signalPassFailure();
    }
    if (auto before = module->getAttrOfType<IntegerAttr>(kiln::kScratchSizeAttr))
      scratch = std::max(scratch, before.getInt());
    module->setAttr(kiln::kScratchSizeAttr, IntegerAttr::get(IntegerType::get(ctx, 64), scratch));
    module.walk([](scf::ForOp loop) { loop->removeAttr(kParallelAttr); });
  }

  LogicalResult outline(ModuleOp module, scf::ForOp loop, const Plan &p,
                        LLVMTypeConverter &converter, unsigned index) {
    MLIRContext *ctx = &getContext();
    Location loc = loop.getLoc();
    auto parent = loop->getParentOfType<func::FuncOp>();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    auto indexType = IndexType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto bodyType = FunctionType::get(ctx, {indexType, indexType, ptrType, ptrType}, {});

    // The args struct: one field per capture, in its LLVM form.
    SmallVector<Type> fields;
    for (Value v : p.captures) {
      Type t = isa<IndexType>(v.getType()) ? Type(i64) : converter.convertType(v.getType());
      if (!t)
        return loop.emitError("kiln-parallelize-loops: cannot pass a value of type ") << v.getType();
      fields.push_back(t);
    }
    auto argsType = LLVM::LLVMStructType::getLiteral(ctx, fields);
    auto field = [&](OpBuilder &b, Value base, unsigned i) {
      return b.create<LLVM::GEPOp>(loc, ptrType, argsType, base,
                                   ArrayRef<LLVM::GEPArg>{0, int32_t(i)});
    };

    // The outlined body.
    OpBuilder mb(ctx);
    mb.setInsertionPoint(parent);
    std::string name = (parent.getSymName() + "_parallel_" + Twine(index)).str();
    for (unsigned again = 0; module.lookupSymbol(name); ++again) // a user's function may have the name
      name = (parent.getSymName() + "_parallel_" + Twine(index) + "_" + Twine(again)).str();
    auto fn = mb.create<func::FuncOp>(loc, name, bodyType);
    fn.setPrivate();
    fn->setAttr(kiln::kOutlinedAttr, UnitAttr::get(ctx));
    Block *entry = fn.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    for (Operation *c : p.constants)
      map.map(c->getResult(0), b.clone(*c, map)->getResult(0));
    Value args = entry->getArgument(2);
    for (auto [i, v] : llvm::enumerate(p.captures)) {
      Value loaded = b.create<LLVM::LoadOp>(loc, fields[i], field(b, args, i));
      if (isa<IndexType>(v.getType()))
        loaded = b.create<arith::IndexCastOp>(loc, indexType, loaded);
      else if (isa<MemRefType>(v.getType()))
        loaded = b.create<UnrealizedConversionCastOp>(loc, v.getType(), loaded).getResult(0);
      map.map(v, loaded);
    }
    Value scratch;
    if (p.scratchBytes > 0) {
      // The scratch pointer as a memref<bytes x i8>, carved up by views.
      auto scratchType = MemRefType::get({p.scratchBytes}, b.getI8Type());
      Type descType = converter.convertType(scratchType);
      Value scratchPtr = entry->getArgument(3);
      auto constant = [&](int64_t v) { return b.create<LLVM::ConstantOp>(loc, i64, v); };
      Value desc = b.create<LLVM::UndefOp>(loc, descType);
      desc = b.create<LLVM::InsertValueOp>(loc, desc, scratchPtr, ArrayRef<int64_t>{0});
      desc = b.create<LLVM::InsertValueOp>(loc, desc, scratchPtr, ArrayRef<int64_t>{1});
      desc = b.create<LLVM::InsertValueOp>(loc, desc, constant(0), ArrayRef<int64_t>{2});
      desc = b.create<LLVM::InsertValueOp>(loc, desc, constant(p.scratchBytes), ArrayRef<int64_t>{3, 0});
      desc = b.create<LLVM::InsertValueOp>(loc, desc, constant(1), ArrayRef<int64_t>{4, 0});
      scratch = b.create<UnrealizedConversionCastOp>(loc, scratchType, desc).getResult(0);
      // Buffers allocated before the loop: one view each, before the chunk.
      for (auto [alloc, offset] : p.privateBuffers)
        if (!loop->isProperAncestor(alloc))
          map.map(alloc.getResult(), view(b, scratch, alloc, offset));
    }
    // for iv = lb + begin * step to lb + end * step step step { body }
    Value lb = map.lookupOrDefault(loop.getLowerBound());
    Value step = map.lookupOrDefault(loop.getStep());
    auto from = [&](Value i) {
      return b.create<arith::AddIOp>(loc, lb, b.create<arith::MulIOp>(loc, i, step));
    };
    auto chunk = b.create<scf::ForOp>(loc, from(entry->getArgument(0)), from(entry->getArgument(1)), step);
    map.map(loop.getInductionVar(), chunk.getInductionVar());
    OpBuilder cb = OpBuilder::atBlockBegin(chunk.getBody());
    for (Operation &op : loop.getBody()->without_terminator())
      cb.clone(op, map);
    // Buffers allocated in the body: their clones become views in place.
    for (auto [alloc, offset] : p.privateBuffers) {
      if (!loop->isProperAncestor(alloc))
        continue;
      auto clone = cast<memref::AllocOp>(map.lookup(alloc.getOperation()));
      OpBuilder ab(clone);
      clone.replaceAllUsesWith(view(ab, scratch, alloc, offset));
      clone.erase();
    }
    b.create<func::ReturnOp>(loc);

    // The call that replaces the loop.
    b.setInsertionPointToStart(&parent.getBody().front());
    Value one = b.create<LLVM::ConstantOp>(loc, i64, 1);
    Value argsSlot = b.create<LLVM::AllocaOp>(loc, ptrType, argsType, one, /*alignment=*/8);
    b.setInsertionPoint(loop);
    for (auto [i, v] : llvm::enumerate(p.captures)) {
      Value stored = v;
      if (isa<IndexType>(v.getType()))
        stored = b.create<arith::IndexCastOp>(loc, i64, v);
      else if (isa<MemRefType>(v.getType()))
        stored = b.create<UnrealizedConversionCastOp>(loc, fields[i], v).getResult(0);
      b.create<LLVM::StoreOp>(loc, stored, field(b, argsSlot, i));
    }
    // Trip count ceil((ub - lb) / step); a non-positive count runs nothing.
    Value span = b.create<arith::SubIOp>(loc, loop.getUpperBound(), loop.getLowerBound());
    Value stepLess1 = b.create<arith::SubIOp>(loc, loop.getStep(), b.create<arith::ConstantIndexOp>(loc, 1));
    Value trips = b.create<arith::DivSIOp>(loc, b.create<arith::AddIOp>(loc, span, stepLess1), loop.getStep());
    Value fnRef = b.create<func::ConstantOp>(loc, bodyType, SymbolRefAttr::get(fn));
    Value bytes = b.create<arith::ConstantIndexOp>(loc, p.scratchBytes);
    auto call = b.create<func::CallOp>(loc, runtimeParallelFor(module, bodyType),
                                       ValueRange{fnRef, trips, argsSlot, bytes});
    for (StringRef name : {kiln::kKernelAttr, kiln::kKernelFlopsAttr}) // what the kernel is, for the profile
      if (Attribute what = loop->getAttr(name))
        call->setAttr(name, what);
    SmallVector<memref::AllocOp> before; // private buffers allocated before the loop
    for (auto [alloc, offset] : p.privateBuffers)
      if (!loop->isProperAncestor(alloc))
        before.push_back(alloc);
    loop.erase();
    for (memref::AllocOp alloc : before)
      alloc.erase();
    return success();
  }

  static Value view(OpBuilder &b, Value scratch, memref::AllocOp alloc, int64_t offset) {
    Value at = b.create<arith::ConstantIndexOp>(alloc.getLoc(), offset);
    return b.create<memref::ViewOp>(alloc.getLoc(), alloc.getType(), scratch, at, ValueRange{});
  }

  /// `func.func private @kiln_rt1_parallel_for(body, index, !llvm.ptr, index)`.
  static func::FuncOp runtimeParallelFor(ModuleOp module, FunctionType bodyType) {
    if (auto existing = module.lookupSymbol<func::FuncOp>(kiln::kParallelForFunction))
      return existing;
    MLIRContext *ctx = module.getContext();
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto index = IndexType::get(ctx);
    auto type = FunctionType::get(ctx, {bodyType, index, LLVM::LLVMPointerType::get(ctx), index}, {});
    auto decl = b.create<func::FuncOp>(module.getLoc(), kiln::kParallelForFunction, type);
    decl.setPrivate();
    return decl;
  }
};

} // namespace
