//===- ModelLimits.h - the limits a model must keep to be compiled -*- C++ -*-===//
//
// Checked before lowering, each with an error naming what broke it
// (docs/reliability.md, "Limits").
//
// Tensor sizes: generated code indexes buffers with 64-bit integers and the ABI states
// sizes in int64_t, so a tensor whose element count or byte size does not
// fit in int64 (f32[2^32, 2^32, 4]) would wrap around silently: a header
// with COUNT = 0, a buffer far too small. Such types are refused before
// lowering, with the op and the type named.
//
// Op count: compile time grows about linearly with the number of ops (a
// chain of 20,000 ops takes about a minute on 2 cores); a model over
// kMaxOps is refused rather than left compiling for many minutes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_MODELLIMITS_H
#define KILN_IR_MODELLIMITS_H

#include "mlir/IR/BuiltinOps.h"
#include <optional>

namespace kiln::nn {

/// The bytes a value of `type` occupies, or nothing when the element count
/// or the byte size exceeds INT64_MAX. Booleans take one byte per element.
std::optional<int64_t> tensorBytes(mlir::RankedTensorType type);

/// Checks every function argument and op result in `module`; emits an
/// error at the first value too large to address and fails.
mlir::LogicalResult verifyTensorSizes(mlir::ModuleOp module);

/// The most ops a model (all its functions) may have.
inline constexpr int64_t kMaxOps = 50000;

/// Fails with an error at the module if it holds more than kMaxOps ops.
mlir::LogicalResult verifyOpCount(mlir::ModuleOp module);

} // namespace kiln::nn

#endif
