//===- ConvolutionToLinalg.h - conv2d and its gradients to linalg -*- C++ -*-===//
#ifndef KILN_PASSES_LOWERING_CONVOLUTIONTOLINALG_H
#define KILN_PASSES_LOWERING_CONVOLUTIONTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace kiln {
/// kiln-lower-nn-to-linalg's patterns for nn.conv2d,
/// nn.conv2d_backward_input and nn.conv2d_backward_weight.
void populateConvolutionLowering(mlir::RewritePatternSet &patterns);
} // namespace kiln

#endif
