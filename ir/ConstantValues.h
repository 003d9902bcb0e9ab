//===- ConstantValues.h - read a constant's values, dense or blob -*- C++ -*-===//
//
// A constant's elements arrive as a DenseElementsAttr (small constants,
// parsed text) or a DenseResourceElementsAttr (a blob: what the C++ Graph
// makes of a HostTensor, never printed or uniqued element by element).
// Everything that reads a constant's values goes through here.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_CONSTANTVALUES_H
#define KILN_IR_CONSTANTVALUES_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/Support/LogicalResult.h"

#include <vector>

namespace kiln::nn {

/// The elements of `attr` in row-major order as doubles (exact for f32,
/// f64, i32 and booleans; i64 beyond 2^53 rounds). Failure for an element
/// type kiln does not use, or a blob of the wrong size or already released.
mlir::FailureOr<std::vector<double>> constantValues(mlir::ElementsAttr attr);

} // namespace kiln::nn

#endif
