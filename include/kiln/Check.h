//===- kiln/Check.h - the numerics bisector's report -------------*- C++ -*-===//
//
// A Function compiled with CompileOptions::check can run one call beside
// the reference interpreter (Function::check, `kiln run --check`): after
// every kernel, each buffer the kernel wrote is compared with the value the
// reference computes for the nn op it holds, the reference going on from the
// compiled values where they agree, so that each kernel is judged on its own
// inputs. The report names the first kernel whose result is wrong. The
// kernels are the per-kernel profile's (Profile.h): one table, two readers.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CHECK_H
#define KILN_CHECK_H

#include "kiln/HostTensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// One buffer a kernel wrote, against the reference.
struct CheckedBuffer {
  enum class Verdict {
    Match,       // it holds `op`'s value, within the tolerance
    Mismatch,    // some source op of the kernel has its type, none its values
    NoReference, // no source op of the kernel has its type: an internal
                 // buffer (a padded copy, saved statistics), not compared
  };
  int slot = 0;
  std::string type;  // "f32[64x40]"
  Verdict verdict = Verdict::NoReference;
  std::string op;    // Match: the op whose value it holds; Mismatch: the nearest
  bool operand = false; // Match: it holds an operand of `op` (a copy the lowering made)
  double maxError = 0;          // the largest |got - want| (NaN against a number: inf)
  std::vector<int64_t> worstAt; // where it is
  double got = 0, want = 0;     // the values there
  double tolerance = 0;         // what |got - want| may be there
};

/// One kernel of the compiled function (a row of the profile's table).
struct KernelCheck {
  int id = 0;
  std::string kind;  // "matmul 64x40x24", "row", "elementwise", ...
  std::string ops;   // its source ops: "nn.matmul at model.mlir:5:8, ..."
  std::string phase; // the phase that formed it: linalg, fused or tiled
  std::vector<CheckedBuffer> buffers;
  bool wrong() const;
  bool checked() const; // at least one buffer compared
};

struct CheckReport {
  std::vector<HostTensor> outputs;  // the call's results, as run() returns them
  std::vector<KernelCheck> kernels; // in program order
  /// The first kernel with a mismatching buffer (its id), or -1.
  int firstWrong = -1;
  /// The tolerance, per float dtype: |got - want| <= rel * |want| + abs * max|want|
  /// over the buffer, with the reference rounded to the buffer's dtype first
  /// (integers and booleans exactly).
  static double relativeTolerance(bool f64);
  static double absoluteTolerance(bool f64);
  /// The counts, each wrong kernel with its wrong buffers (`everyKernel`:
  /// every kernel with every buffer), then the verdict.
  std::string text(bool everyKernel = false) const;
};

} // namespace kiln

#endif
