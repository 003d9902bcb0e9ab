//===- OutlineKernels.cpp - every kernel of a function in its own function ===//
//
// After kiln-parallelize-loops the loops worth threads run in outlined
// functions, but every other kernel (a small matmul, an elementwise loop, a
// row kernel, a recurrence's step loop) is still inlined in the model's
// function, which thereby held a third of a training step's code. Compile
// time follows the largest function: MLIR's per-function lowerings and
// LLVM's optimization and code generation run a function on one core, so
// one big entry left the second core idle (the LM step's entry took 0.87 s
// of LLVM's time against 0.15-0.29 s for each eighth of the rest).
//
// The top-level ops of a function that hold loops (a loop nest, a linalg
// op, an scf.if around them) and have no results, and each call of a
// parallel loop with the stores that fill its args struct, go into
//
//   func.func private @<f>_kernel_<k>(<the buffers and scalars they read>)
//
// called in their place; consecutive ones share a function up to
// `max-function-ops` ops (1000), since every function costs LLVM a run of its
// whole pipeline: one function per kernel (220 of them in the LM step) cost
// more than the balance saved. An op with effects between two kernels (a
// profile clock read) keeps its place between their calls.
//
// Views of buffers (the workspace's slices, subviews) and index arithmetic
// are recomputed in the kernel from their roots, so the call passes a few
// bare pointers, and LLVM still sees every workspace slice as an offset
// from one pointer: it proves them disjoint, as it did in the caller,
// instead of checking at run time. (Passing each view as a descriptor in a
// stack struct, as parallel bodies take theirs, made LLVM's dead-store
// elimination over the caller's thousands of stores take 0.8 s.) The
// kernels are `noinline`, so LLVM does not merge them back; a call costs
// nanoseconds against a kernel's microseconds, and `perf` and the perf map
// name each kernel function.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_OUTLINEKERNELS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Whether `op` lowers to at least one loop.
bool holdsLoops(Operation *op) {
  return op->walk([](Operation *nested) {
             return isa<LoopLikeOpInterface, linalg::LinalgOp>(nested) ? WalkResult::interrupt()
                                                                     : WalkResult::advance();
           })
      .wasInterrupted();
}

/// Whether a value of `type` can be a kernel's argument: one register's
/// worth once lowered (a static memref travels as a bare pointer).
bool isPassable(Type type) {
  if (auto memref = dyn_cast<MemRefType>(type))
    return LLVMTypeConverter::canConvertToBarePtr(memref) &&
           (memref.getNumElements() > 0 || memref.getRank() <= 1); // see kiln-empty-buffer-args
  return type.isIntOrIndexOrFloat() || isa<VectorType, LLVM::LLVMPointerType>(type);
}

/// What a kernel takes from its caller: the roots it is passed, and the
/// pure ops (views, index arithmetic, constants) it recomputes from them,
/// producers first.
struct KernelInputs {
  SmallVector<Value> roots;
  SmallVector<Operation *> recomputed;

  /// Adds `v`; false if it can be neither recomputed nor passed.
  bool add(Value v) {
    Operation *def = v.getDefiningOp();
    if (def && def->getNumResults() == 1 && def->getNumRegions() == 0 && isMemoryEffectFree(def)) {
      if (llvm::is_contained(recomputed, def))
        return true;
      for (Value operand : def->getOperands())
        if (!add(operand))
          return false;
      recomputed.push_back(def);
      return true;
    }
    if (!isPassable(v.getType()))
      return false;
    if (!llvm::is_contained(roots, v))
      roots.push_back(v);
    return true;
  }
};

struct OutlineKernelsPass : kiln::impl::OutlineKernelsBase<OutlineKernelsPass> {
  using OutlineKernelsBase::OutlineKernelsBase;

  /// What `ops` use from outside, if all of it can reach a kernel.
  static std::optional<KernelInputs> inputsOf(ArrayRef<Operation *> ops) {
    llvm::SetVector<Value> used;
    for (Operation *op : ops) {
      for (Value v : op->getOperands())
        if (!llvm::is_contained(ops, v.getDefiningOp()))
          used.insert(v);
      for (Region &region : op->getRegions())
        getUsedValuesDefinedAbove(region, used);
    }
    KernelInputs inputs;
    for (Value v : used)
      if (!inputs.add(v))
        return std::nullopt;
    return inputs;
  }

  /// The stores that fill the args struct of `call` (kiln-parallelize-loops'
  /// `kiln_rt1_parallel_for`), then the call; empty if another op touches
  /// the struct or a store is not at the top level of the call's block.
  static SmallVector<Operation *> parallelCallGroup(func::CallOp call) {
    auto slot = call.getOperand(2).getDefiningOp<LLVM::AllocaOp>();
    if (!slot)
      return {};
    SmallVector<Operation *> group;
    for (Operation *user : slot->getUsers()) {
      if (user == call)
        continue;
      auto field = dyn_cast<LLVM::GEPOp>(user);
      if (!field)
        return {};
      for (Operation *fieldUser : field->getUsers()) {
        auto store = dyn_cast<LLVM::StoreOp>(fieldUser);
        if (!store || store.getAddr() != field || store->getBlock() != call->getBlock() ||
            !store->isBeforeInBlock(call))
          return {};
        group.push_back(store);
      }
    }
    llvm::sort(group, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    group.push_back(call);
    return group;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    nextIndex = 0;
    SmallVector<func::FuncOp> callers;
    for (func::FuncOp f : module.getOps<func::FuncOp>())
      if (!f.isExternal() && !f->hasAttr(kiln::kOutlinedAttr))
        callers.push_back(f);
    for (func::FuncOp f : callers)
      for (Block &block : f.getBody())
        outlineBlock(module, f, block);
  }

  /// Outlines `block`'s kernels in order, consecutive ones together up to
  /// `maxFunctionOps` ops a function.
  void outlineBlock(ModuleOp module, func::FuncOp caller, Block &block) {
    // A parallel loop's call goes with the stores that pass it its
    // arguments: left in the caller, thousands of them between the calls
    // made LLVM's dead-store elimination take 0.3 s there. They move to
    // the call (nothing else reads the struct).
    llvm::DenseMap<Operation *, SmallVector<Operation *>> groups;
    llvm::DenseSet<Operation *> movedToCall;
    for (Operation &op : block)
      if (auto call = dyn_cast<func::CallOp>(op); call && call.getCallee() == kiln::kParallelForFunction)
        if (SmallVector<Operation *> group = parallelCallGroup(call); !group.empty()) {
          movedToCall.insert(group.begin(), group.end() - 1);
          groups[call] = std::move(group);
        }
    SmallVector<Operation *> chunk;
    int64_t chunkOps = 0;
    auto flush = [&] {
      if (!chunk.empty())
        if (std::optional<KernelInputs> inputs = inputsOf(chunk))
          outline(module, caller, chunk, *inputs, nextIndex++);
      chunk.clear();
      chunkOps = 0;
    };
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (movedToCall.contains(&op))
        continue;
      SmallVector<Operation *> kernel;
      if (auto it = groups.find(&op); it != groups.end())
        kernel = it->second;
      else if (op.getNumResults() == 0 && (op.getNumRegions() > 0 || isa<linalg::LinalgOp>(op)) && holdsLoops(&op))
        kernel = {&op};
      if (kernel.empty()) {
        // Views and index arithmetic stay (kernels recompute them); any
        // other op keeps its place between the kernels before and after.
        if (!isMemoryEffectFree(&op) || op.getNumRegions() > 0)
          flush();
        continue;
      }
      if (!inputsOf(kernel)) { // stays where it is
        flush();
        continue;
      }
      int64_t ops = 0;
      for (Operation *k : kernel)
        k->walk([&](Operation *) { ++ops; });
      if (chunkOps > 0 && chunkOps + ops > maxFunctionOps)
        flush();
      chunk.append(kernel);
      chunkOps += ops;
    }
    flush();
  }

  unsigned nextIndex = 0; // of the module's kernel functions

  void outline(ModuleOp module, func::FuncOp caller, ArrayRef<Operation *> ops, const KernelInputs &inputs,
               unsigned index) {
    MLIRContext *ctx = &getContext();
    Location loc = ops.back()->getLoc();
    OpBuilder mb(ctx);
    mb.setInsertionPoint(caller);
    std::string name = (caller.getSymName() + "_kernel_" + Twine(index)).str();
    for (unsigned again = 0; module.lookupSymbol(name); ++again) // a user's function may have the name
      name = (caller.getSymName() + "_kernel_" + Twine(index) + "_" + Twine(again)).str();
    auto fn = mb.create<func::FuncOp>(loc, name, FunctionType::get(ctx, ValueRange(inputs.roots).getTypes(), {}));
    fn.setPrivate();
    fn->setAttr(kiln::kOutlinedAttr, UnitAttr::get(ctx));
    // Kept a function of its own through LLVM's inliner (the attribute
    // reaches llvm.func through convert-func-to-llvm).
    fn->setAttr("passthrough", ArrayAttr::get(ctx, {StringAttr::get(ctx, "noinline")}));
    Block *entry = fn.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    map.map(inputs.roots, entry->getArguments());
    for (Operation *r : inputs.recomputed)
      b.clone(*r, map);
    for (Operation *op : ops)
      b.clone(*op, map);
    b.create<func::ReturnOp>(loc);

    OpBuilder cb(ops.back());
    cb.create<func::CallOp>(loc, fn, inputs.roots);
    for (Operation *op : llvm::reverse(ops))
      op->erase();
    // What only the kernel used is dead in the caller now.
    for (Operation *r : llvm::reverse(inputs.recomputed))
      if (r->use_empty() && r->getBlock() && isOpTriviallyDead(r))
        r->erase();
  }
};

} // namespace
