//===- OnnxTensor.cpp - ONNX TensorProto <-> kiln HostTensor -------------===//
#include "frontend/onnx/OnnxTensor.h"

#include <cstring>
#include <filesystem>
#include <fstream>

namespace kiln::onnx_import {

using onnx::TensorProto;

std::optional<DType> dtypeOf(int32_t type) {
  switch (type) {
  case TensorProto::FLOAT: return DType::f32;
  case TensorProto::DOUBLE: return DType::f64;
  case TensorProto::INT32: return DType::i32;
  case TensorProto::INT64: return DType::i64;
  case TensorProto::BOOL: return DType::boolean;
  default: return std::nullopt;
  }
}

std::string onnxTypeName(int32_t type) {
  if (TensorProto::DataType_IsValid(type))
    return TensorProto::DataType_Name(TensorProto::DataType(type));
  return "data type " + std::to_string(type);
}

namespace {

std::string described(const TensorProto &t) {
  return t.name().empty() ? std::string("a tensor") : "tensor \"" + t.name() + "\"";
}

/// The external data's bytes: location (inside `modelDir`), offset, length.
Result<std::string> externalBytes(const TensorProto &t, const std::string &modelDir, size_t expected) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const onnx::StringStringEntryProto &e : t.external_data()) {
    char *end = nullptr;
    if (e.key() == "location")
      location = e.value();
    else if (e.key() == "offset")
      offset = std::strtoll(e.value().c_str(), &end, 10);
    else if (e.key() == "length")
      length = std::strtoll(e.value().c_str(), &end, 10);
    if (end && *end)
      return Error{described(t) + ": external data " + e.key() + " \"" + e.value() + "\" is not a number"};
  }
  namespace fs = std::filesystem;
  if (location.empty())
    return Error{described(t) + ": external data without a location"};
  std::error_code ec;
  fs::path dir = fs::weakly_canonical(modelDir.empty() ? "." : modelDir, ec);
  fs::path file = fs::weakly_canonical(dir / location, ec);
  auto [d, f] = std::mismatch(dir.begin(), dir.end(), file.begin(), file.end());
  if (fs::path(location).is_absolute() || d != dir.end())
    return Error{described(t) + ": external data location \"" + location +
                 "\" is outside the model's folder (refused)"};
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return Error{described(t) + ": cannot open its external data " + file.string()};
  in.seekg(0, std::ios::end);
  int64_t size = int64_t(in.tellg());
  if (length < 0)
    length = int64_t(expected);
  if (offset < 0 || length != int64_t(expected) || offset > size || length > size - offset)
    return Error{described(t) + ": external data at offset " + std::to_string(offset) + ", " +
                 std::to_string(length) + " bytes, does not fit its " + std::to_string(expected) +
                 " bytes in " + file.string() + " (" + std::to_string(size) + " bytes)"};
  std::string bytes(size_t(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in)
    return Error{described(t) + ": cannot read its external data " + file.string()};
  return bytes;
}

} // namespace

Result<HostTensor> readTensor(const TensorProto &t, const std::string &modelDir) {
  std::optional<DType> dtype = dtypeOf(t.data_type());
  if (!dtype)
    return Error{described(t) + " is " + onnxTypeName(t.data_type()) +
                 ": kiln has float, double, int32, int64 and bool tensors"};
  Shape shape(t.dims().begin(), t.dims().end());
  if (checkedBytes(*dtype, shape) < 0)
    return Error{described(t) + " has shape " + shapeString(shape) + ": negative or too large"};
  auto tensor = HostTensor::allocate(*dtype, shape, described(t));
  if (!tensor)
    return Error{tensor.error()};
  const int64_t n = tensor->size();
  const size_t bytes = tensor->bytes();
  auto mismatch = [&](int64_t given) {
    return Error{described(t) + " of shape " + shapeString(shape) + " holds " + std::to_string(given) +
                 " values, expected " + std::to_string(n)};
  };
  if (t.data_location() == TensorProto::EXTERNAL) {
    auto raw = externalBytes(t, modelDir, bytes);
    if (!raw)
      return Error{raw.error()};
    std::memcpy(tensor->data(), raw->data(), bytes);
    return tensor;
  }
  if (t.has_raw_data()) { // little-endian, as this machine
    if (t.raw_data().size() != bytes)
      return Error{described(t) + " of shape " + shapeString(shape) + " has " +
                   std::to_string(t.raw_data().size()) + " bytes of raw data, expected " + std::to_string(bytes)};
    std::memcpy(tensor->data(), t.raw_data().data(), bytes);
    return tensor;
  }
  switch (*dtype) {
  case DType::f32:
    if (t.float_data_size() != n)
      return mismatch(t.float_data_size());
    std::copy(t.float_data().begin(), t.float_data().end(), tensor->data<float>());
    break;
  case DType::f64:
    if (t.double_data_size() != n)
      return mismatch(t.double_data_size());
    std::copy(t.double_data().begin(), t.double_data().end(), tensor->data<double>());
    break;
  case DType::i64:
    if (t.int64_data_size() != n)
      return mismatch(t.int64_data_size());
    std::copy(t.int64_data().begin(), t.int64_data().end(), tensor->data<int64_t>());
    break;
  case DType::i32:
  case DType::boolean: // both in int32_data
    if (t.int32_data_size() != n)
      return mismatch(t.int32_data_size());
    for (int64_t i = 0; i < n; ++i)
      tensor->set(i, double(t.int32_data(int(i))));
    break;
  }
  return tensor;
}

Result<HostTensor> readTensorFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error{path + ": cannot open"};
  TensorProto t;
  if (!t.ParseFromIstream(&in))
    return Error{path + ": not a TensorProto"};
  auto tensor = readTensor(t, std::filesystem::path(path).parent_path().string());
  if (!tensor)
    return Error{path + ": " + tensor.error()};
  return tensor;
}

} // namespace kiln::onnx_import
