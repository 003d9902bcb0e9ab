//===- Library.cpp - libkiln.so ------------------------------------------===//
//
// libkiln.so is made of the static component libraries (frontend, ir,
// passes, codegen, runtime), linked in whole; this file only names the
// library's version for `kiln --version` and users.
//
//===----------------------------------------------------------------------===//
#include "kiln/Function.h"

namespace kiln {
const char *version() { return "0.1.0"; }
} // namespace kiln
