//===- Passes.h - kiln's passes ----------------------------------*- C++ -*-===//
#ifndef KILN_PASSES_PASSES_H
#define KILN_PASSES_PASSES_H

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include <memory>

namespace kiln {

/// Marks a loop whose iterations write disjoint outputs and share no
/// reduction: kiln-tile-matmul and kiln-tile-rows set it, and
/// kiln-parallelize-loops runs such loops on the runtime's thread pool.
constexpr llvm::StringLiteral kParallelAttr = "kiln.parallel";

/// The runtime function a parallel loop's call runs its outlined body on
/// (`kiln_rt1_parallel_for(body, trips, args, scratch_bytes)`, runtime/):
/// kiln-parallelize-loops makes the calls, later passes recognise them.
constexpr llvm::StringLiteral kParallelForFunction = "kiln_rt1_parallel_for";

/// Marks a function kiln outlined from its caller (a parallel loop's body,
/// a sequential kernel): kiln-outline-kernels leaves such functions as
/// they are.
constexpr llvm::StringLiteral kOutlinedAttr = "kiln.outlined";

/// What the kernel whose outermost loop this is computes ("matmul
/// 2048x128x512"): kiln-tile-matmul sets it, kiln-parallelize-loops moves it
/// to the call that replaces the loop, kiln-profile-kernels names the
/// kernel's row with it.
constexpr llvm::StringLiteral kKernelAttr = "kiln.kernel";

/// The useful floating-point operations of one run of such a kernel (an
/// i64), where counting its float ops times its loops' trip counts cannot
/// (flash attention's key loop has a bound that depends on the query
/// block); travels and is read like kiln.kernel.
constexpr llvm::StringLiteral kKernelFlopsAttr = "kiln.kernel_flops";

/// On the module (an i64): the most scratch one thread uses in any of its
/// parallel loops (kiln-parallelize-loops); kiln-emit-entry exports it as
/// `<symbol>_scratch_size()`. The runtime allocates it once per thread.
constexpr llvm::StringLiteral kScratchSizeAttr = "kiln.scratch_size";

/// With --profile: kiln-profile-kernels' counters (a module global) and its
/// kernel table (a JSON string on the entry), which kiln-emit-entry exports
/// as `<symbol>_profile_counters()` and `<symbol>_profile_kernels()`.
constexpr llvm::StringLiteral kProfileCounters = "kiln_profile_counters";
constexpr llvm::StringLiteral kProfileTableAttr = "nn.profile";

/// The bytes a statically shaped tensor or memref of `type` holds (each
/// element's bits rounded up to whole bytes, an index as 8; 0 if dynamic):
/// what the passes that size caches, scratch and workspaces count.
inline int64_t bytesOf(mlir::ShapedType type) {
  if (!type.hasStaticShape())
    return 0;
  mlir::Type element = type.getElementType();
  int64_t bits = element.isIntOrFloat() ? element.getIntOrFloatBitWidth() : 64;
  return type.getNumElements() * ((bits + 7) / 8);
}

/// Whether kiln-lower-nn-to-linalg gives `op` a run-time index check, whose
/// message embeds the op's source position in the compiled object (so the
/// object cache's key must include that position).
bool hasRuntimeIndexCheck(mlir::Operation *op);

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"
} // namespace kiln

#endif
