//===- kiln/kiln.h - the kiln C++ API ----------------------------*- C++ -*-===//
// Build a graph (Graph.h), compile and call it (Function.h), move tensors in
// and out (HostTensor.h). No MLIR or LLVM type appears in these headers.
#ifndef KILN_KILN_H
#define KILN_KILN_H
#include "kiln/Aot.h"
#include "kiln/Check.h"
#include "kiln/Function.h"
#include "kiln/Graph.h"
#include "kiln/HostTensor.h"
#include "kiln/Onnx.h"
#include "kiln/Profile.h"
#include "kiln/Recurrent.h"
#include "kiln/Report.h"
#include "kiln/Status.h"
#include "kiln/Train.h"
#endif
