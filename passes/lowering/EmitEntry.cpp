//===- EmitEntry.cpp - the ABI entry function (docs/abi.md) --------------===//
#include "ir/Dialect.h"
#include "passes/Passes.h"
#include "kiln_rt.h"

#include <cstddef>

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_EMITENTRY
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

// The ABI's codes and kiln_context's layout, from the runtime's header (the
// generated code runs on the host's ABI: the same offsets).
constexpr int32_t kErrNullBuffer = KILN_ERR_NULL_BUFFER;
constexpr int32_t kErrMisaligned = KILN_ERR_MISALIGNED;
constexpr int32_t kErrIndexRange = KILN_ERR_INDEX_RANGE;
constexpr int64_t kCtxErrorSite = offsetof(kiln_context, error_site),
                  kCtxErrorIndex = offsetof(kiln_context, error_index),
                  kCtxErrorBound = offsetof(kiln_context, error_bound);
constexpr int64_t kAlignment = KILN_ALIGNMENT;

/// The declaration of runtime function `name`, added once.
LLVM::LLVMFuncOp runtimeFunction(ModuleOp module, StringRef name, Type result, ArrayRef<Type> params) {
  if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  return b.create<LLVM::LLVMFuncOp>(module.getLoc(), name, LLVM::LLVMFunctionType::get(result, params));
}

/// &slot[k] for a slot of i64.
Value element(OpBuilder &b, Location loc, Value slot, int64_t k) {
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  return b.create<LLVM::GEPOp>(loc, ptr, b.getI64Type(), slot, ArrayRef<LLVM::GEPArg>{LLVM::GEPArg(int32_t(k))});
}

/// base + bytes, as a pointer.
Value byteOffset(OpBuilder &b, Location loc, Value base, int64_t bytes) {
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  return b.create<LLVM::GEPOp>(loc, ptr, b.getI8Type(), base, ArrayRef<LLVM::GEPArg>{LLVM::GEPArg(int32_t(bytes))});
}

struct EmitEntryPass : kiln::impl::EmitEntryBase<EmitEntryPass> {
  using EmitEntryBase::EmitEntryBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto model = module.lookupSymbol<LLVM::LLVMFuncOp>(entry);
    if (!model || model.isExternal()) {
      module.emitError() << "kiln-emit-entry: no lowered function @" << entry;
      return signalPassFailure();
    }
    if (module.lookupSymbol(symbol)) {
      module.emitError() << "kiln-emit-entry: the entry symbol @" << symbol
                         << " is already taken; choose another name";
      return signalPassFailure();
    }
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    // Two arguments are not caller buffers: the `nn.status` slot (ops with
    // run-time index checks), which the entry provides itself, and the
    // `nn.workspace` (kiln-plan-workspace), which is the caller's workspace.
    int statusArg = -1, workspaceArg = -1;
    int64_t workspaceSize = 0;
    for (unsigned i = 0; i < model.getNumArguments(); ++i) {
      if (model.getArgAttr(i, "nn.status"))
        statusArg = int(i);
      if (auto ws = model.getArgAttrOfType<IntegerAttr>(i, "nn.workspace")) {
        workspaceArg = int(i);
        workspaceSize = ws.getInt();
      }
    }
    for (Type t : model.getArgumentTypes())
      if (t != ptrType) {
        model.emitError() << "kiln-emit-entry: expected bare buffer pointers, got " << t;
        return signalPassFailure();
      }
    // Only the entry is exported: everything defined here becomes internal.
    auto internal = LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal);
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (!fn.isExternal())
        fn.setLinkageAttr(internal);
    for (auto global : module.getOps<LLVM::GlobalOp>())
      global.setLinkageAttr(internal);

    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    Location loc = model.getLoc();
    auto i32 = b.getI32Type();
    auto i64 = b.getI64Type();
    auto fnType = LLVM::LLVMFunctionType::get(i32, {ptrType, ptrType, ptrType});
    auto fn = b.create<LLVM::LLVMFuncOp>(loc, symbol, fnType);
    Block *body = fn.addEntryBlock(b);
    Block *fail = fn.addBlock();
    fail->addArgument(i32, loc);
    Block *run = fn.addBlock();

    // Check every buffer: non-null and aligned. The first failure decides the code.
    b.setInsertionPointToStart(body);
    Value buffers = body->getArgument(0), context = body->getArgument(1);
    Value zero32 = b.create<LLVM::ConstantOp>(loc, i32, 0);
    Value zero64 = b.create<LLVM::ConstantOp>(loc, i64, 0);
    Value mask = b.create<LLVM::ConstantOp>(loc, i64, kAlignment - 1);
    Value nullCode = b.create<LLVM::ConstantOp>(loc, i32, kErrNullBuffer);
    Value alignCode = b.create<LLVM::ConstantOp>(loc, i32, kErrMisaligned);
    Value code = zero32;
    SmallVector<Value> pointers; // the model's arguments, in order
    int32_t nextBuffer = 0;
    for (unsigned i = 0; i < model.getNumArguments(); ++i) {
      if (int(i) == statusArg) {
        pointers.push_back(Value()); // the slot is made below
        continue;
      }
      Value p;
      if (int(i) == workspaceArg) {
        p = body->getArgument(2);
      } else {
        Value slot = b.create<LLVM::GEPOp>(loc, ptrType, ptrType, buffers,
                                           ArrayRef<LLVM::GEPArg>{LLVM::GEPArg(nextBuffer++)});
        p = b.create<LLVM::LoadOp>(loc, ptrType, slot);
      }
      pointers.push_back(p);
      Value address = b.create<LLVM::PtrToIntOp>(loc, i64, p);
      Value isNull = b.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::eq, address, zero64);
      Value low = b.create<LLVM::AndOp>(loc, address, mask);
      Value misaligned = b.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::ne, low, zero64);
      Value here = b.create<LLVM::SelectOp>(
          loc, isNull, nullCode, b.create<LLVM::SelectOp>(loc, misaligned, alignCode, zero32));
      Value noneYet = b.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::eq, code, zero32);
      code = b.create<LLVM::SelectOp>(loc, noneYet, here, code);
    }
    Value bad = b.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::ne, code, zero32);
    b.create<LLVM::CondBrOp>(loc, bad, fail, ValueRange{code}, run, ValueRange{});

    b.setInsertionPointToStart(fail);
    b.create<LLVM::ReturnOp>(loc, fail->getArgument(0));

    // Clear ctx->status (ctx may be NULL), run the model, return the status.
    b.setInsertionPointToStart(run);
    Value nullPtr = b.create<LLVM::ZeroOp>(loc, ptrType);
    Value hasCtx = b.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::ne, context, nullPtr);
    Block *clear = fn.addBlock();
    Block *call = fn.addBlock();
    b.create<LLVM::CondBrOp>(loc, hasCtx, clear, call);
    b.setInsertionPointToStart(clear);
    b.create<LLVM::StoreOp>(loc, zero32, context);
    b.create<LLVM::BrOp>(loc, call);
    b.setInsertionPointToStart(call);
    Value statusSlot;
    if (statusArg >= 0) {
      // [site, offending index, bound] (kiln-lower-nn-to-linalg), zeroed.
      Value three = b.create<LLVM::ConstantOp>(loc, i64, 3);
      statusSlot = b.create<LLVM::AllocaOp>(loc, ptrType, i64, three, /*alignment=*/8);
      for (int k = 0; k < 3; ++k)
        b.create<LLVM::StoreOp>(loc, zero64, element(b, loc, statusSlot, k));
      pointers[statusArg] = statusSlot;
    }
    // Parallel loops (kiln-parallelize-loops) take the thread count from
    // ctx and report a failure (no scratch memory) when the model returns.
    bool parallel = bool(module.lookupSymbol<LLVM::LLVMFuncOp>(kiln::kParallelForFunction));
    if (parallel)
      b.create<LLVM::CallOp>(loc, runtimeFunction(module, "kiln_rt1_parallel_begin",
                                                  LLVM::LLVMVoidType::get(ctx), {ptrType}),
                             ValueRange{context});
    b.create<LLVM::CallOp>(loc, model, pointers);
    if (parallel) {
      Value code = b.create<LLVM::CallOp>(loc, runtimeFunction(module, "kiln_rt1_parallel_end", i32, {}),
                                          ValueRange{})
                       .getResult();
      Value failed = b.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::ne, code, zero32);
      Block *fine = fn.addBlock();
      b.create<LLVM::CondBrOp>(loc, failed, fail, ValueRange{code}, fine, ValueRange{});
      b.setInsertionPointToStart(fine);
    }
    if (statusArg >= 0) {
      // A run-time error of the model (an index out of range) is the
      // result; ctx, when given, says which check failed and on what.
      Value site = b.create<LLVM::LoadOp>(loc, i64, element(b, loc, statusSlot, 0));
      Value failed = b.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::ne, site, zero64);
      Block *report = fn.addBlock();
      Block *fine = fn.addBlock();
      b.create<LLVM::CondBrOp>(loc, failed, report, ValueRange{}, fine, ValueRange{});
      b.setInsertionPointToStart(report);
      Value code = b.create<LLVM::ConstantOp>(loc, i32, kErrIndexRange);
      Block *store = fn.addBlock();
      b.create<LLVM::CondBrOp>(loc, hasCtx, store, ValueRange{}, fail, ValueRange{code});
      b.setInsertionPointToStart(store);
      b.create<LLVM::StoreOp>(loc, code, context);
      b.create<LLVM::StoreOp>(loc, b.create<LLVM::TruncOp>(loc, i32, site), byteOffset(b, loc, context, kCtxErrorSite));
      b.create<LLVM::StoreOp>(loc, b.create<LLVM::LoadOp>(loc, i64, element(b, loc, statusSlot, 1)),
                              byteOffset(b, loc, context, kCtxErrorIndex));
      b.create<LLVM::StoreOp>(loc, b.create<LLVM::LoadOp>(loc, i64, element(b, loc, statusSlot, 2)),
                              byteOffset(b, loc, context, kCtxErrorBound));
      b.create<LLVM::BrOp>(loc, ValueRange{code}, fail);
      b.setInsertionPointToStart(fine);
    }
    Block *readStatus = fn.addBlock();
    Block *done = fn.addBlock();
    done->addArgument(i32, loc);
    b.create<LLVM::CondBrOp>(loc, hasCtx, readStatus, ValueRange{}, done, ValueRange{zero32});
    b.setInsertionPointToStart(readStatus);
    Value status = b.create<LLVM::LoadOp>(loc, i32, context);
    b.create<LLVM::BrOp>(loc, ValueRange{status}, done);
    b.setInsertionPointToStart(done);
    b.create<LLVM::ReturnOp>(loc, done->getArgument(0));

    // <symbol>_error_site(site): what the failing check is ("nn.gather at
    // model.mlir:5:8"), for messages; NULL for an unknown site.
    {
      auto sites = model->getAttrOfType<ArrayAttr>(kiln::nn::kErrorSitesAttr);
      b.setInsertionPointToEnd(module.getBody());
      auto siteFn = b.create<LLVM::LLVMFuncOp>(loc, symbol + "_error_site",
                                               LLVM::LLVMFunctionType::get(ptrType, {i32}));
      Block *entry = siteFn.addEntryBlock(b);
      Block *unknown = siteFn.addBlock();
      b.setInsertionPointToStart(unknown);
      b.create<LLVM::ReturnOp>(loc, b.create<LLVM::ZeroOp>(loc, ptrType).getResult());
      SmallVector<Block *> cases;
      SmallVector<int32_t> values;
      for (auto [k, name] : llvm::enumerate(sites ? sites.getValue() : ArrayRef<Attribute>())) {
        Block *c = siteFn.addBlock();
        b.setInsertionPointToStart(c);
        std::string terminated = cast<StringAttr>(name).getValue().str();
        terminated.push_back('\0'); // a C string
        Value text = LLVM::createGlobalString(loc, b, symbol + "_site_" + std::to_string(k + 1),
                                              terminated, LLVM::Linkage::Internal);
        b.create<LLVM::ReturnOp>(loc, text);
        cases.push_back(c);
        values.push_back(int32_t(k + 1));
      }
      b.setInsertionPointToStart(entry);
      SmallVector<ValueRange> operands(cases.size(), ValueRange{});
      b.create<LLVM::SwitchOp>(loc, entry->getArgument(0), unknown, ValueRange{}, values, cases, operands);
    }

    // With --profile (kiln-profile-kernels): <symbol>_profile_counters(),
    // the (kernels + 1) x 2 int64 counters (nanoseconds, calls; the last
    // row the whole call), and <symbol>_profile_kernels(), the JSON table
    // that describes each row.
    if (auto table = model->getAttrOfType<StringAttr>(kiln::kProfileTableAttr)) {
      auto counters = module.lookupSymbol<LLVM::GlobalOp>(kiln::kProfileCounters);
      if (!counters) {
        module.emitError() << "kiln-emit-entry: a profiled entry without its counters";
        return signalPassFailure();
      }
      b.setInsertionPointToEnd(module.getBody());
      auto countersFn = b.create<LLVM::LLVMFuncOp>(loc, symbol + "_profile_counters",
                                                   LLVM::LLVMFunctionType::get(ptrType, {}));
      b.setInsertionPointToStart(countersFn.addEntryBlock(b));
      b.create<LLVM::ReturnOp>(loc, b.create<LLVM::AddressOfOp>(loc, counters).getResult());
      b.setInsertionPointToEnd(module.getBody());
      auto tableFn = b.create<LLVM::LLVMFuncOp>(loc, symbol + "_profile_kernels",
                                                LLVM::LLVMFunctionType::get(ptrType, {}));
      b.setInsertionPointToStart(tableFn.addEntryBlock(b));
      std::string terminated = table.getValue().str();
      terminated.push_back('\0');
      b.create<LLVM::ReturnOp>(loc, LLVM::createGlobalString(loc, b, symbol + "_profile_table", terminated,
                                                             LLVM::Linkage::Internal));
    }

    // <symbol>_workspace_size(): the bytes the caller passes as `workspace`.
    b.setInsertionPointToEnd(module.getBody());
    auto sizeFn = b.create<LLVM::LLVMFuncOp>(loc, symbol + "_workspace_size",
                                             LLVM::LLVMFunctionType::get(i64, {}));
    b.setInsertionPointToStart(sizeFn.addEntryBlock(b));
    b.create<LLVM::ReturnOp>(loc, b.create<LLVM::ConstantOp>(loc, i64, workspaceSize).getResult());

    // <symbol>_scratch_size(): the bytes of scratch each thread of a
    // parallel loop uses (kiln-parallelize-loops), beside the workspace.
    int64_t scratchSize = 0;
    if (auto attr = module->getAttrOfType<IntegerAttr>(kiln::kScratchSizeAttr))
      scratchSize = attr.getInt();
    b.setInsertionPointToEnd(module.getBody());
    auto scratchFn = b.create<LLVM::LLVMFuncOp>(loc, symbol + "_scratch_size", LLVM::LLVMFunctionType::get(i64, {}));
    b.setInsertionPointToStart(scratchFn.addEntryBlock(b));
    b.create<LLVM::ReturnOp>(loc, b.create<LLVM::ConstantOp>(loc, i64, scratchSize).getResult());
  }
};

} // namespace
