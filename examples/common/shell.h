//===- shell.h - running the programs the examples build ------------------===//
//
// The examples that compile a model ahead of time link it with a C program
// (cc) and run that program; these quote the paths and arguments for the
// shell and collect the program's output.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdio>
#include <optional>
#include <string>

/// `text` quoted for the shell.
inline std::string shellQuoted(const std::string &text) {
  std::string out = "'";
  for (char c : text)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Runs `command`; its standard output (without the last newline), or
/// nothing when it could not run or exited non-zero.
inline std::optional<std::string> outputOf(const std::string &command) {
  FILE *pipe = popen(command.c_str(), "r");
  if (!pipe)
    return std::nullopt;
  std::string out;
  char chunk[4096];
  for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;)
    out.append(chunk, n);
  if (pclose(pipe) != 0)
    return std::nullopt;
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}
