//===- kiln/Onnx.h - ONNX models in: the importer -----------------*- C++ -*-===//
//
// importOnnx reads an ONNX ModelProto (Debian's libonnx-dev: the protobuf
// schema only; ONNX's own shape inference is not used) and builds a kiln
// Graph from it: graph inputs become inputs, initializers parameters (their
// values as the initial values; integer ones, and every one with
// `initializersAsConstants`, constants), each node nn ops located at the
// node ("model.onnx":NODE_INDEX:1, named "node_name (OpType)"), graph
// outputs outputs. `kiln run|compile|grad|graph` and Function::compileFile
// take a .onnx file directly through it; `kiln import` writes the kiln IR.
//
// Names are kept ("onnx::MatMul_12", "fc.weight": gradients and
// --params-dir use PyTorch's names), except the characters a tensor name
// cannot hold ('=', '/', control characters), which become '_' (a clash
// gets a numeric suffix); AOT headers make C identifiers of them
// (docs/abi.md). docs/onnx.md lists the ops and the semantics per opset.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_ONNX_H
#define KILN_ONNX_H

#include "kiln/Graph.h"
#include "kiln/HostTensor.h"
#include "kiln/Status.h"

#include <map>
#include <memory>
#include <string>

namespace kiln {

struct OnnxImportOptions {
  /// Float initializers as constants instead of trainable parameters.
  bool initializersAsConstants = false;
  /// The dimensions of inputs whose shape in the file is symbolic or
  /// missing: name -> shape (kiln has static shapes).
  std::map<std::string, Shape> shapes;
  /// Inputs whose values are given at import: they become constants (and
  /// known values), as an input that gives a shape, axes or slice bounds
  /// must be for kiln's static shapes. They are no longer inputs of the
  /// graph.
  std::map<std::string, HostTensor> inputValues;
};

/// The model at `path` as a Graph named after its graph (or "main"); an
/// unreadable or malformed file, an unsupported op, attribute or dtype is an
/// error naming the file and node.
Result<std::unique_ptr<Graph>> importOnnx(const std::string &path, const OnnxImportOptions &options = {});

/// Whether `path` names an ONNX model (ends in ".onnx").
bool isOnnxPath(const std::string &path);

} // namespace kiln

#endif
