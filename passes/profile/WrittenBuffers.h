//===- WrittenBuffers.h - the buffers a kernel writes -----------*- C++ -*-===//
//
// The numerics bisector (`kiln run --check`) compares what each kernel
// wrote with the reference interpreter. These are the buffers to read:
// those a kernel of the entry writes, as the code after it sees them.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_PROFILE_WRITTENBUFFERS_H
#define KILN_PASSES_PROFILE_WRITTENBUFFERS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"

namespace kiln {

/// The buffers that the ops [first, last] of one block write, in the
/// order they are first written: each write traced back through every view
/// to the buffer it lands in (a workspace slot, an argument of the
/// function, an allocation), so that a kernel writing a reshaped or sliced
/// view is seen writing the tensor's whole buffer. Buffers the range
/// allocates itself, and workspace slots no op after the range uses (a
/// tile, a packed panel), are left out. A call that runs a loop on the
/// thread pool (`kiln_rt1_parallel_for`) writes what its outlined body
/// writes through the args struct.
llvm::SmallVector<mlir::Value> writtenBuffers(mlir::ModuleOp module, mlir::Operation *first,
                                              mlir::Operation *last);

/// The buffers that the ops [first, last] read or write, found the same
/// way (the range's own allocations left out).
llvm::SmallVector<mlir::Value> usedBuffers(mlir::ModuleOp module, mlir::Operation *first, mlir::Operation *last);

} // namespace kiln

#endif
