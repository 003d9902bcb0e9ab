//===- kiln/Aot.h - ahead-of-time artifacts ----------------------*- C++ -*-===//
//
// compileArtifact turns a model into an object, a static or shared library
// (each with a C header beside it) or a standalone executable. The artifact
// needs no LLVM, MLIR or kiln at run time: only libc and libm. It exports
// only <name>_* symbols (the kiln runtime inside it is made local), so
// several artifacts link into one program.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_AOT_H
#define KILN_AOT_H

#include "kiln/Function.h"

namespace kiln {

struct ArtifactOptions {
  std::string kind = "obj"; // obj, static-lib, shared-lib or exe
  std::string output;       // the file to write
  std::string name;         // symbol prefix; default: from the output file's name
  /// Stored weights go to OUTPUT.weights (read by <name>_load_weights)
  /// instead of the artifact's read-only data.
  bool externalWeights = false;
  /// Parameter values from DIR/<param>.npy where present (trained weights).
  std::string paramsDir;
};

struct ArtifactReport {
  std::vector<std::string> files; // written
  std::string name;
  int64_t workspaceBytes = 0, weightBytes = 0, kernels = 0;
  std::vector<std::pair<std::string, double>> phaseSeconds; // MLIR phases, then codegen, link
  double totalSeconds = 0;
};

/// Parameter values from DIR/<param>.npy where present (`--params-dir`, for
/// compile, run and grad alike); the parameters are the entries of
/// `tensors` with isParam. A missing directory, a file of the wrong dtype or
/// shape, or a directory holding none of the parameters is an error naming
/// it. An empty `dir` gives no values.
Result<std::map<std::string, HostTensor>> loadParamsDir(const std::string &dir,
                                                        const std::vector<TensorInfo> &tensors);

Result<ArtifactReport> compileArtifact(const std::string &mlirSource, const std::string &sourceName,
                                       const CompileOptions &options,
                                       const ArtifactOptions &artifact);
/// The same for a model built with the C++ API (or imported from ONNX):
/// its module is compiled as it is, its weights never printed as text.
Result<ArtifactReport> compileArtifact(const Graph &graph, const CompileOptions &options,
                                       const ArtifactOptions &artifact);

} // namespace kiln

#endif
