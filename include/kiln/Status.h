//===- kiln/Status.h - errors as values --------------------------*- C++ -*-===//
//
// kiln reports bad input as values, never by aborting or throwing: every
// call that can fail returns a Result<T> holding either a T or an Error with
// a message that names the place (file:line:col, input name, expected vs
// given).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_STATUS_H
#define KILN_STATUS_H

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace kiln {

struct Error {
  std::string message;
};

template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : value_(std::move(value)) {}
  Result(Error error) : error_(std::move(error)) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string &error() const { return error_.message; }

  T &value() & { return checked(), *value_; }
  T &&value() && { return checked(), std::move(*value_); }
  T *operator->() { return &value(); }
  T &operator*() & { return value(); }
  T &&operator*() && { return std::move(*this).value(); }

private:
  void checked() const {
    if (!value_) { // a caller bug: using a failed result's value
      std::fprintf(stderr, "kiln: used the value of a failed Result: %s\n", error_.message.c_str());
      std::abort();
    }
  }
  std::optional<T> value_;
  Error error_;
};

/// Success or an Error.
class [[nodiscard]] Status {
public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string &error() const { return error_.message; }

private:
  Error error_;
  bool failed_ = false;
};

} // namespace kiln

#endif
