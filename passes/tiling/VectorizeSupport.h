//===- VectorizeSupport.h - shared by the tiling passes ---------*- C++ -*-===//
//
// kiln-tile-matmul and kiln-tile-rows both tile, canonicalize, then
// vectorize what they fused; these are the pieces they share.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_TILING_VECTORIZESUPPORT_H
#define KILN_PASSES_TILING_VECTORIZESUPPORT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>
#include <string>

namespace kiln {

/// Why the elementwise body of `op` must not be vectorized, or nullopt:
/// booleans are bytes in memory but bits in a vector (a vectorized read of
/// an i1 mask would read packed bits), and math is native vector code only
/// for f32 (kiln-approximate-math; f64's is libm, one element at a time).
std::optional<std::string> whyNotVectorizable(mlir::linalg::GenericOp op);

/// True if some operand of `op` is read at an index that falls as a loop
/// index rises (e.g. `KH - 1 - kh`: a flipped convolution kernel). MLIR's
/// tiling computes an operand's slice from the index at the loops' lower
/// bounds and assumes it only grows, so such an op must not be tiled: its
/// slices would be wrong.
bool readsAgainstTheLoops(mlir::linalg::LinalgOp op);

/// True if a result of `op` is returned as an update written in place into
/// an argument (a training step's parameters: `nn.updates`, planned by
/// kiln-update-in-place on the whole op, so the tiling passes leave it
/// whole). Other returned results are tiled like any other.
bool returnsInPlaceUpdate(mlir::Operation *op);

/// The indices `map` gives when the op's loops stand at `loopValues` (one
/// index value per loop), as values, folded where constant: what a register
/// tile's vector code reads and writes at.
llvm::SmallVector<mlir::Value> indicesAt(mlir::OpBuilder &b, mlir::Location loc, mlir::AffineMap map,
                                         llvm::ArrayRef<mlir::Value> loopValues);

/// The canonicalize pass's patterns (every loaded dialect's and registered
/// op's, which fold peeled bounds into static slice and tile shapes), plus
/// `extra`, applied to `f`.
mlir::LogicalResult canonicalizeWith(mlir::func::FuncOp f, mlir::RewritePatternSet extra);

} // namespace kiln

#endif
