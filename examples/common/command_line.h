//===- command_line.h - the examples' flags and their values --------------===//
//
// The example programs take `--flag VALUE` options. A missing or malformed
// value is a message naming the flag and what it needs, and exit status 2
// (a bad command line), never an exception or a silent default.
//
//   CommandLine args(argc, argv, "kiln-fashion-mnist");
//   while (args.next())
//     if (args.is("--epochs")) epochs = args.count();
//     else args.usage("[--epochs N] ...");
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

class CommandLine {
public:
  CommandLine(int argc, char **argv, std::string program) : argc_(argc), argv_(argv), program_(std::move(program)) {}

  /// Moves to the next flag; false after the last.
  bool next() {
    if (++i_ >= argc_)
      return false;
    flag_ = argv_[i_];
    return true;
  }
  bool is(const char *flag) const { return flag_ == flag; }
  const std::string &flag() const { return flag_; }

  /// The flag's value (the next argument).
  std::string value() {
    if (i_ + 1 >= argc_)
      fail(flag_ + " needs a value");
    return argv_[++i_];
  }
  /// A positive integer value.
  int64_t count() {
    std::string v = value();
    char *end = nullptr;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || n < 1)
      fail(flag_ + " needs a positive integer, not '" + v + "'");
    return int64_t(n);
  }
  /// A non-negative number.
  double real() {
    std::string v = value();
    char *end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || !(x >= 0))
      fail(flag_ + " needs a non-negative number, not '" + v + "'");
    return x;
  }
  /// An unsigned integer (a seed).
  uint64_t seed() {
    std::string v = value();
    char *end = nullptr;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end || v[0] == '-')
      fail(flag_ + " needs an unsigned integer, not '" + v + "'");
    return uint64_t(n);
  }

  /// An unknown flag: the usage line, exit status 2.
  [[noreturn]] void usage(const std::string &options) const {
    std::fprintf(stderr, "%s: unknown option %s\nusage: %s %s\n", program_.c_str(), flag_.c_str(), program_.c_str(),
                 options.c_str());
    std::exit(2);
  }

private:
  [[noreturn]] void fail(const std::string &message) const {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
    std::exit(2);
  }

  int argc_;
  char **argv_;
  std::string program_;
  int i_ = 0;
  std::string flag_;
};
