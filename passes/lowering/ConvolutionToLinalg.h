//===- ConvolutionToLinalg.h - conv2d and its gradients to linalg -*- C++ -*-===//
#ifndef KILN_PASSES_LOWERING_CONVOLUTIONTOLINALG_H
#define KILN_PASSES_LOWERING_CONVOLUTIONTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace kiln {
/// kiln-lower-nn-to-linalg's patterns for the window ops: nn.conv2d,
/// nn.max_pool2d, nn.avg_pool2d and their gradient ops.
void populateConvolutionLowering(mlir::RewritePatternSet &patterns);
} // namespace kiln

#endif
