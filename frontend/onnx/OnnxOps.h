//===- OnnxOps.h - one ONNX node to kiln ops (internal) -----------*- C++ -*-===//
//
// The importer (OnnxImport.cpp) hands each node to the converter its op type
// names (OnnxOps.cpp, one function per op or family), with the node's
// inputs as Tensors and, where known while importing (initializers,
// Constant and Shape outputs), their values: shapes, axes and slice bounds
// must be known, as kiln's shapes are static.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_ONNX_ONNXOPS_H
#define KILN_FRONTEND_ONNX_ONNXOPS_H

#include "kiln/Graph.h"
#include "kiln/HostTensor.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>
#include <vector>

namespace kiln::onnx_import {

struct Node {
  const onnx::NodeProto &proto;
  int64_t opset; // the model's version of the default (ai.onnx) domain
  Graph &graph;
  std::string modelDir;
  std::vector<Tensor> inputs;               // invalid where the optional input is omitted ("")
  std::vector<const HostTensor *> known;    // the inputs' values where known while importing
  std::vector<Tensor> outputs;              // the converter's results, in the node's output order
  std::vector<std::optional<HostTensor>> knownOutputs; // values it folded (Shape, Constant, ...)
  std::string error;

  bool has(const std::string &name) const;
  int64_t attrInt(const std::string &name, int64_t otherwise) const;
  float attrFloat(const std::string &name, float otherwise) const;
  std::string attrString(const std::string &name, const std::string &otherwise) const;
  std::optional<std::vector<int64_t>> attrInts(const std::string &name) const;
  const onnx::AttributeProto *attr(const std::string &name) const;

  /// Input i, or an error when it is omitted or past the end.
  bool input(size_t i, Tensor &out);
  /// Input i's value as int64s (axes, shapes, bounds), or an error naming
  /// it when it is not known while importing.
  bool knownInts(size_t i, const char *what, std::vector<int64_t> &out);
  bool fail(const std::string &message) {
    error = message;
    return false;
  }
  /// Sets output i (and its known value).
  void result(size_t i, Tensor t, std::optional<HostTensor> value = std::nullopt);
};

using Converter = bool (*)(Node &);
/// The converter of ai.onnx's `opType`, or nullptr.
Converter converterFor(const std::string &opType);
/// Computes an elementwise node (Add, Sub, Mul, Div, comparisons, Where,
/// Cast, ...) whose inputs are all known (OnnxFold.cpp); false when it is
/// not one or its values are too large to fold.
bool foldKnownValues(Node &n);

} // namespace kiln::onnx_import

#endif
