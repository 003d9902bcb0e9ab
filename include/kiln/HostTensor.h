//===- kiln/HostTensor.h - a tensor in host memory ---------------*- C++ -*-===//
#ifndef KILN_HOSTTENSOR_H
#define KILN_HOSTTENSOR_H

#include "kiln/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// Element types; the values match kiln_dtype in kiln_rt.h.
enum class DType : int { f32 = 0, f64 = 1, i32 = 2, i64 = 3, boolean = 4 };

const char *dtypeName(DType dtype); // "f32", "f64", "i32", "i64", "bool"
size_t dtypeSize(DType dtype);

using Shape = std::vector<int64_t>;
std::string shapeString(const Shape &shape); // "[2, 3]"
int64_t numElements(const Shape &shape);
/// The bytes of a tensor of `dtype` and `shape`, or -1 when the count or
/// the byte size does not fit in int64 (or a dimension is negative).
int64_t checkedBytes(DType dtype, const Shape &shape);

/// A row-major, contiguous, 64-byte-aligned tensor that owns its storage.
/// Booleans are one byte per element.
class HostTensor {
public:
  HostTensor() = default;
  /// Zero-initialised. Throws std::bad_alloc when the memory cannot be had
  /// (or the size overflows); allocate() reports that as an Error instead.
  HostTensor(DType dtype, Shape shape);
  /// Zero-initialised, or an error naming `what` (e.g. `parameter "w"`),
  /// the type and its byte size when it cannot be allocated.
  static Result<HostTensor> allocate(DType dtype, Shape shape, const std::string &what);
  /// Copies are deep; moves are cheap.
  HostTensor(const HostTensor &other);
  HostTensor &operator=(const HostTensor &other);
  HostTensor(HostTensor &&) = default;
  HostTensor &operator=(HostTensor &&) = default;

  static HostTensor fromVector(const std::vector<float> &values, Shape shape);
  static HostTensor fromVector(const std::vector<double> &values, Shape shape);

  static Result<HostTensor> loadNpy(const std::string &path);
  Status saveNpy(const std::string &path) const;

  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_; }
  int64_t size() const { return numElements(shape_); }
  size_t bytes() const { return size() * dtypeSize(dtype_); }
  void *data() { return data_.get(); }
  const void *data() const { return data_.get(); }
  template <typename T> T *data() { return static_cast<T *>(data()); }
  template <typename T> const T *data() const { return static_cast<const T *>(data()); }

  /// Element i converted to double (any dtype).
  double at(int64_t i) const;
  /// Sets element i from a double (converted to the dtype).
  void set(int64_t i, double value);

  /// "f32[2, 3]"
  std::string typeString() const;

private:
  struct Free {
    void operator()(void *p) const;
  };
  DType dtype_ = DType::f32;
  Shape shape_;
  std::unique_ptr<void, Free> data_;
};

} // namespace kiln

#endif
