//===- kiln/Function.h - compile a model and call it (JIT) -------*- C++ -*-===//
#ifndef KILN_FUNCTION_H
#define KILN_FUNCTION_H

#include "kiln/Check.h"
#include "kiln/HostTensor.h"
#include "kiln/Profile.h"
#include "kiln/Status.h"

#include <initializer_list>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

class Graph;

/// How a parameter starts (the `nn.param` attribute).
class HostTensor;
struct ParamInit {
  enum class Kind { Normal, Uniform, Zeros, Ones, Values } kind = Kind::Zeros;
  double a = 0, b = 0;    // normal: mean, std; uniform: low, high
  uint64_t seed = 0;
  std::vector<double> values; // Kind::Values
  /// Kind::Values given as a tensor of the parameter's dtype and shape
  /// (tensorInit: an imported weight, copied once into the IR).
  std::shared_ptr<const HostTensor> tensor;
};

/// One named input, parameter or output of a compiled function.
struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  bool isParam = false;
  ParamInit init; // parameters only
};

/// A training step's optimizer (PyTorch's semantics). The learning rate is a
/// run-time input of the step, so schedules need no recompilation.
struct Optimizer {
  std::string kind = "sgd"; // sgd, adam or adamw
  double momentum = 0;      // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0; // adam, adamw
  /// > 0: the gradients are scaled together so that their global L2 norm
  /// (over every trained parameter) is at most this, before the update,
  /// as PyTorch's clip_grad_norm_ (coefficient max / (norm + 1e-6), at most 1).
  double clipNorm = 0;
  static Optimizer sgd(double momentum = 0) { return {"sgd", momentum}; }
  static Optimizer adam(double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8) {
    return {"adam", 0, beta1, beta2, eps, 0};
  }
  static Optimizer adamw(double weightDecay = 0.01, double beta1 = 0.9, double beta2 = 0.999,
                         double eps = 1e-8) {
    return {"adamw", 0, beta1, beta2, eps, weightDecay};
  }
  /// This optimizer with gradient clipping by global norm (see clipNorm).
  Optimizer clippedTo(double maxNorm) const {
    Optimizer o = *this;
    o.clipNorm = maxNorm;
    return o;
  }
};

/// Compile `<entry>_train_step` instead of the model: inputs are the
/// model's inputs and `lr`; the output is the loss; parameters and optimizer
/// state are updated in place in the Function's own storage.
struct TrainStepRequest {
  std::string loss;                // "" = the first rank-0 output
  std::vector<std::string> params; // empty = every parameter
  Optimizer optimizer;
};

struct CompileOptions {
  std::string entry;         // function to compile; "" = @main or the only one
  std::string symbol = "kiln_main"; // exported ABI symbol
  std::string targetCpu;     // "" = host; e.g. "x86-64-v3"
  bool printIrAfterAll = false; // every pass's output on stderr
  std::string dumpDir;       // one numbered file per pass
  bool timing = false;       // pass timing report on stderr
  /// Per kernel, what fusion and tiling fused and, for each op left alone,
  /// why; one line each on stderr (`kiln compile --explain-fusion`).
  bool explainFusion = false;
  /// Register tile rows and columns of matmuls, for experiments (0: the
  /// cost model's choice from the target).
  int64_t tileRows = 0, tileColumns = 0;
  /// The threads the code is made for (0: kiln_num_threads() where it is
  /// compiled, i.e. KILN_NUM_THREADS or the CPUs). With two or more, a
  /// recurrence whose batch rows are independent runs its rows in blocks,
  /// one per thread, each block's whole scan on one thread; on fewer
  /// threads at run time the blocks run one after another, with the same
  /// results.
  int64_t threads = 0;
  /// Compile `<entry>_grad` instead: the outputs followed by d_<arg> for
  /// each named argument (empty list: every parameter). Non-scalar outputs
  /// take a cotangent input d_<output>; rank-0 outputs are seeded with 1.
  std::optional<std::vector<std::string>> gradientWrt;
  /// With gradientWrt: differentiate this output alone (`kiln grad --of`);
  /// the others count as constants and take no cotangent.
  std::string gradientOf;
  std::optional<TrainStepRequest> trainStep;
  /// Reuse an object compiled before from the same IR, options, target and
  /// kiln build ($XDG_CACHE_HOME/kiln; off also with KILN_CACHE=off). Never
  /// used when IR printing, dumps, timing or --explain-fusion are asked for.
  bool cache = true;
  /// Instrument the generated code for ThreadSanitizer (`kiln compile
  /// --sanitize=thread`): data races inside and between parallel kernels are
  /// reported when the program is linked with -fsanitize=thread. AOT only:
  /// the JIT refuses it unless the process itself runs under TSan.
  bool threadSanitizer = false;
  /// Time every kernel of the compiled function (`--profile`): read with
  /// Function::profile(). Off by default; off, the code has no trace of it.
  bool profile = false;
  /// Make Function::check() possible (`kiln run --check`, the numerics
  /// bisector): the compiled code hands every buffer each kernel writes to
  /// the checker, and the Function keeps the nn module the reference
  /// interpreter runs. Implies the profile's kernel table. Never cached.
  bool check = false;
  /// Tests of the checker only: with check, plant an error (1e-3 x
  /// max(|x|, 1) added to one element) in what this kernel writes.
  int64_t checkPerturbKernel = -1;
};

/// The library's version, "major.minor.patch".
const char *version();

/// The ordered phase names (nn, linalg, bufferized, llvm) followed by the
/// codegen stages (llvm-ir, asm, obj).
std::vector<std::string> phaseNames();

/// Model files larger than this (1 GiB) are refused before they are read.
inline constexpr uint64_t kMaxModelFileBytes = uint64_t(1) << 30;

/// The text of a model file. A path that is no regular file (a directory; a
/// device such as /dev/zero, which would be read until memory runs out) or
/// a file over kMaxModelFileBytes is an error naming the path, checked
/// before anything is read. An ONNX model (a path ending in .onnx) is
/// imported (kiln/Onnx.h) and its kiln IR, with locations, returned: every
/// command and compileFile take .onnx files through this.
Result<std::string> readModelFile(const std::string &path);

/// Lowers `mlirSource` (kiln IR text) to `stage` and returns the text (or
/// the object bytes for "obj"). `sourceName` names the input in messages.
Result<std::string> lowerToStage(const std::string &mlirSource, const std::string &sourceName,
                                 const std::string &stage, const CompileOptions &options = {});
/// The same for a model built with the C++ API (or imported from ONNX).
Result<std::string> lowerToStage(const Graph &graph, const std::string &stage, const CompileOptions &options = {});

/// A compiled, callable model. It owns its parameters' storage, initialised
/// from their initializers, readable and writable by name.
class Function {
public:
  static Result<Function> compile(const Graph &graph, const CompileOptions &options = {});
  static Result<Function> compileSource(const std::string &mlirSource,
                                        const std::string &sourceName,
                                        const CompileOptions &options = {});
  static Result<Function> compileFile(const std::string &path, const CompileOptions &options = {});

  Function(Function &&) noexcept;
  Function &operator=(Function &&) noexcept;
  ~Function();

  /// Inputs (non-parameter arguments), parameters and outputs, in ABI order.
  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> params() const;
  std::vector<TensorInfo> outputs() const;
  /// Every argument (inputs and parameters interleaved as declared): the
  /// order of entry()'s buffers, which the outputs follow.
  std::vector<TensorInfo> arguments() const;

  /// Runs with inputs given in order. Count, dtypes and shapes are checked;
  /// a mismatch is an error naming the input, expected vs given.
  Result<std::vector<HostTensor>> run(const std::vector<HostTensor> &inputs);
  /// `fn.run({a, b})`: positional (without this, two tensors in braces would
  /// also match std::map's iterator-range constructor).
  Result<std::vector<HostTensor>> run(std::initializer_list<HostTensor> inputs) {
    return run(std::vector<HostTensor>(inputs));
  }
  /// Runs with inputs given by name; unknown or missing names are errors.
  Result<std::vector<HostTensor>> run(const std::map<std::string, HostTensor> &inputs);

  /// A parameter's current value, by name.
  Result<HostTensor> param(const std::string &name) const;
  Status setParam(const std::string &name, const HostTensor &value);
  Status loadParam(const std::string &name, const std::string &npyPath);

  /// Threads for run()'s parallel loops (matmul tiles); 0, the default,
  /// means KILN_NUM_THREADS if set, else the CPUs this process may use.
  /// Results are bit-identical for every count.
  void setNumThreads(int threads);
  int numThreads() const;

  /// The exported entry (docs/abi.md), for callers that manage buffers.
  using Entry = int32_t (*)(void *const *buffers, void *ctx, void *workspace);
  Entry entry() const;
  /// The workspace the entry needs (bytes, 64-byte aligned); run() passes
  /// the Function's own, so one Function serves one thread at a time.
  size_t workspaceSize() const;
  /// The scratch each thread running a parallel loop uses (bytes; the
  /// runtime allocates it once per thread and keeps it): a call needs
  /// workspaceSize() + threads x scratchSize() in all.
  size_t scratchSize() const;

  /// Where the calls' time went, kernel by kernel, since compilation or
  /// the last resetProfile(); an error unless compiled with
  /// CompileOptions::profile.
  Result<Profile> profile() const;
  void resetProfile();

  /// One call of run(inputs) beside the reference interpreter, every
  /// kernel's result compared (kiln/Check.h); an error unless compiled with
  /// CompileOptions::check. It is a real call: a training step's
  /// parameters are updated as by run().
  Result<CheckReport> check(const std::vector<HostTensor> &inputs);

  struct Impl;

private:
  explicit Function(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Graph;
/// The gradient function of `graph` with respect to `wrt` (see
/// CompileOptions::gradientWrt).
Result<Function> grad(const Graph &graph, const std::vector<std::string> &wrt = {},
                      CompileOptions options = {});
/// One compiled training step of `graph`: run({inputs..., lr}) returns the
/// loss and updates the parameters in place.
Result<Function> train_step(const Graph &graph, const std::string &loss,
                            const std::vector<std::string> &params, const Optimizer &optimizer,
                            CompileOptions options = {});

/// A model's named tensors, read without compiling it.
struct ModelSignature {
  std::vector<TensorInfo> inputs, params, outputs;
};
Result<ModelSignature> readSignature(const std::string &mlirSource, const std::string &sourceName,
                                     const std::string &entry = "");
/// The same of a Graph (an imported ONNX model's: no text printed or
/// parsed), without the parameters' stored initial values (`init.tensor`
/// left empty): names, kinds, dtypes and shapes.
Result<ModelSignature> readSignature(const Graph &graph, const std::string &entry = "");

/// The model's nn graph as Graphviz DOT text (see ir/GraphDot.h).
Result<std::string> toGraphviz(const std::string &mlirSource, const std::string &sourceName,
                               const std::string &entry = "");

/// Orders inputs given by name as `expected` lists them; unknown, missing
/// and mismatched (dtype, shape) inputs are errors naming the input.
Result<std::vector<HostTensor>> orderInputs(const std::vector<TensorInfo> &expected,
                                            const std::map<std::string, HostTensor> &inputs);

/// The reference interpreter: runs the model's @main (or `entry`) in double
/// precision, obviously and slowly. Parameters take their values from
/// `params` (by name) where given, else their initial values.
/// Float outputs come back as f64 (the oracle keeps its precision).
Result<std::vector<HostTensor>> runReference(const std::string &mlirSource,
                                             const std::string &sourceName,
                                             const std::vector<HostTensor> &inputs,
                                             const std::string &entry = "",
                                             const std::map<std::string, HostTensor> &params = {});

} // namespace kiln

#endif
