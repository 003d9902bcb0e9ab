//===- Conv2dGeometry.h - the attributes of a 2-D convolution -----*- C++ -*-===//
//
// nn.conv2d and its two gradient ops carry the same strides, padding,
// dilations and groups; the shape rules, the reference interpreter, the
// gradient rule and the lowering read them through this one struct.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_CONV2DGEOMETRY_H
#define KILN_IR_CONV2DGEOMETRY_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>

namespace kiln::nn {

struct Conv2dGeometry {
  int64_t strideH = 1, strideW = 1;
  int64_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0; // ONNX's pads order
  int64_t dilationH = 1, dilationW = 1;
  int64_t groups = 1;

  /// From attributes the shape rule accepted (2 strides, 4 pads, 2 dilations).
  static Conv2dGeometry of(llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                           llvm::ArrayRef<int64_t> dilations, int64_t groups) {
    return {strides[0], strides[1], padding[0], padding[1], padding[2], padding[3], dilations[0], dilations[1],
            groups};
  }
  template <typename Op> static Conv2dGeometry of(Op op) {
    return of(op.getStrides(), op.getPadding(), op.getDilations(), op.getGroups());
  }

  /// The output length along one axis: (in + pads - dilation (kernel - 1) - 1) / stride + 1,
  /// rounded down; below 1 when the window does not fit.
  static int64_t outputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBefore, int64_t padAfter,
                            int64_t dilation) {
    int64_t span = in + padBefore + padAfter - dilation * (kernel - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
  }
  int64_t outputHeight(int64_t h, int64_t kh) const {
    return outputSize(h, kh, strideH, padTop, padBottom, dilationH);
  }
  int64_t outputWidth(int64_t w, int64_t kw) const {
    return outputSize(w, kw, strideW, padLeft, padRight, dilationW);
  }
};

} // namespace kiln::nn

#endif
