//===- ScanToLoop.h - nn.scan to an scf.for over its steps -------*- C++ -*-===//
#ifndef KILN_PASSES_LOWERING_SCANTOLOOP_H
#define KILN_PASSES_LOWERING_SCANTOLOOP_H

#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"

namespace kiln {
/// Every nn.scan under `root` as one scf.for over its steps, never
/// unrolled; its body's nn ops move into the loop unchanged, for
/// kiln-lower-nn-to-linalg to lower where they land. Fails (with a located
/// error) on a body holding an op whose run-time check cannot report from
/// inside a loop yet (nn.gather, nn.cross_entropy).
mlir::LogicalResult lowerScans(mlir::Operation *root);

/// The float ops of one step of `scan` (an nn.scan): products counted
/// 2 M N K, other ops one per result element. The profile rates a
/// recurrence's kernel by it (times its steps).
double scanStepFlops(mlir::Operation *scan);
} // namespace kiln

#endif
