//===- HostTensor.cpp - a tensor in host memory, .npy I/O ----------------===//
#include "kiln/HostTensor.h"
#include "kiln_rt.h"

#include <cstring>
#include <new>

namespace kiln {

const char *dtypeName(DType dtype) { return kiln_dtype_name(kiln_dtype(dtype)); }
size_t dtypeSize(DType dtype) { return kiln_dtype_size(kiln_dtype(dtype)); }

std::string shapeString(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t checkedBytes(DType dtype, const Shape &shape) {
  int64_t bytes = int64_t(dtypeSize(dtype));
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes))
      return -1;
  return bytes;
}

void HostTensor::Free::operator()(void *p) const { kiln_free(p); }

HostTensor::HostTensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  int64_t n = checkedBytes(dtype_, shape_);
  if (n < 0)
    throw std::bad_alloc();
  data_.reset(kiln_alloc(size_t(n)));
  if (!data_ && n > 0)
    throw std::bad_alloc();
  std::memset(data_.get(), 0, size_t(n));
}

Result<HostTensor> HostTensor::allocate(DType dtype, Shape shape, const std::string &what) {
  std::string type = std::string(dtypeName(dtype)) + shapeString(shape);
  int64_t n = checkedBytes(dtype, shape);
  if (n < 0)
    return Error{what + ": " + type + " has more bytes than int64 can count"};
  HostTensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_.reset(kiln_alloc(size_t(n)));
  if (!t.data_ && n > 0)
    return Error{"cannot allocate " + std::to_string(n) + " bytes for " + what + " (" + type + ")"};
  std::memset(t.data_.get(), 0, size_t(n));
  return t;
}

HostTensor::HostTensor(const HostTensor &other) : HostTensor(other.dtype_, other.shape_) {
  if (other.data_)
    std::memcpy(data_.get(), other.data_.get(), bytes());
}

HostTensor &HostTensor::operator=(const HostTensor &other) {
  if (this != &other)
    *this = HostTensor(other);
  return *this;
}

HostTensor HostTensor::fromVector(const std::vector<float> &values, Shape shape) {
  HostTensor t(DType::f32, std::move(shape));
  std::memcpy(t.data(), values.data(), std::min(values.size(), size_t(t.size())) * sizeof(float));
  return t;
}

HostTensor HostTensor::fromVector(const std::vector<double> &values, Shape shape) {
  HostTensor t(DType::f64, std::move(shape));
  std::memcpy(t.data(), values.data(), std::min(values.size(), size_t(t.size())) * sizeof(double));
  return t;
}

Result<HostTensor> HostTensor::loadNpy(const std::string &path) {
  kiln_npy npy;
  char err[512];
  if (kiln_npy_read(path.c_str(), &npy, err, sizeof err) != KILN_OK)
    return Error{err};
  HostTensor t(DType(npy.dtype), Shape(npy.shape, npy.shape + npy.rank));
  std::memcpy(t.data(), npy.data, t.bytes());
  kiln_npy_free(&npy);
  return t;
}

Status HostTensor::saveNpy(const std::string &path) const {
  char err[512];
  if (kiln_npy_write(path.c_str(), kiln_dtype(dtype_), int32_t(shape_.size()), shape_.data(),
                     data(), err, sizeof err) != KILN_OK)
    return Error{err};
  return {};
}

double HostTensor::at(int64_t i) const {
  switch (dtype_) {
  case DType::f32: return data<float>()[i];
  case DType::f64: return data<double>()[i];
  case DType::i32: return data<int32_t>()[i];
  case DType::i64: return double(data<int64_t>()[i]);
  case DType::boolean: return data<uint8_t>()[i] ? 1.0 : 0.0;
  }
  return 0;
}

void HostTensor::set(int64_t i, double v) {
  switch (dtype_) {
  case DType::f32: data<float>()[i] = float(v); break;
  case DType::f64: data<double>()[i] = v; break;
  case DType::i32: data<int32_t>()[i] = int32_t(v); break;
  case DType::i64: data<int64_t>()[i] = int64_t(v); break;
  case DType::boolean: data<uint8_t>()[i] = v != 0; break;
  }
}

std::string HostTensor::typeString() const { return dtypeName(dtype_) + shapeString(shape_); }

} // namespace kiln
