//===- OnnxTensor.h - ONNX TensorProto <-> kiln HostTensor --------*- C++ -*-===//
//
// The values of initializers, Constant nodes and the test data of ONNX's
// backend tests: raw_data (little-endian) or the typed repeated fields, in
// the dtypes kiln has (float, double, int32, int64, bool). External data is
// read from a file beside the model, which must stay inside the model's
// folder, at an offset and length checked against the file.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_ONNX_ONNXTENSOR_H
#define KILN_FRONTEND_ONNX_ONNXTENSOR_H

#include "kiln/HostTensor.h"
#include "kiln/Status.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

namespace kiln::onnx_import {

/// kiln's dtype for ONNX's TensorProto.DataType `type`, or nothing.
std::optional<DType> dtypeOf(int32_t type);
/// ONNX's name of TensorProto.DataType `type` ("FLOAT", "UINT8", ...).
std::string onnxTypeName(int32_t type);

/// The tensor's values; `modelDir` is where external data is looked for.
Result<HostTensor> readTensor(const onnx::TensorProto &tensor, const std::string &modelDir);

/// A TensorProto file (the backend tests' input_N.pb / output_N.pb).
Result<HostTensor> readTensorFile(const std::string &path);

} // namespace kiln::onnx_import

#endif
