//===- kiln.cpp - the kiln driver -----------------------------------------===//
//
//   kiln run MODEL.mlir --input NAME=FILE.npy ... --output-dir DIR [--reference]
//   kiln compile MODEL.mlir --emit=<phase>|llvm-ir|asm|obj [-o FILE]
//   kiln phases
//
// Bad input (a malformed file, an invalid op, a wrong or missing input)
// prints one clear message and exits 1; a bad command line exits 2.
//
//===----------------------------------------------------------------------===//
#include "kiln/kiln.h"
#include "kiln_rt.h" // kiln_num_threads: the default thread count
#include "passes/Pipeline.h"

#include <fmt/core.h>
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Program.h"
#include "llvm/TargetParser/Host.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int kBadInput = 1;
constexpr int kBadUsage = 2;

/// The options of every command that compiles, for `kiln --help` and
/// `kiln compile --help` alike.
const char *kLoweringOptions = R"(  --train-step            compile a training step (<entry>_train_step): inputs
                          plus lr, returns the loss, updates parameters in place
  --optimizer KIND        sgd (default), adam or adamw, with --momentum M,
                          --weight-decay W, --clip-norm N (gradients scaled to
                          global L2 norm N at most); --loss NAME picks the loss
  --target-cpu CPU        host (default), x86-64-v3, skylake-avx512, ...
  --tile-sizes M,N        matmul register tile (default: from the target)
  --threads N             the threads the code is made for (default:
                          KILN_NUM_THREADS, else this machine's CPUs); with 2
                          or more a recurrence whose batch rows are
                          independent runs them in blocks, one per thread
  --sanitize=thread       instrument the generated code for ThreadSanitizer
                          (AOT: link the program with -fsanitize=thread)
  --print-ir-after-all    print the IR after every pass (stderr)
  --dump-dir DIR          write one numbered file per pass into DIR
  --timing                print the time of every pass, per phase (stderr)
  --explain-fusion        per kernel: the ops fused into it; per op left
                          alone: why (stderr, one line each, file:line:col)
  --no-cache              compile again even if this model was compiled before
)";

const std::string kUsage = R"(kiln: a dataflow-graph compiler for neural networks

usage: (`kiln COMMAND --help` for one command, `kiln --version`)
  kiln run MODEL.mlir --input NAME=FILE.npy ... --output-dir DIR [options]
      compile MODEL.mlir, run it on the inputs, write OUTPUTNAME.npy per result
      --reference        run the double-precision reference interpreter instead
      --params-dir DIR   parameter values from DIR/PARAM.npy (trained weights)
      --profile          time every kernel and print where the time went
      --check            compare every kernel with the reference interpreter
  kiln compile MODEL.mlir --emit=STAGE [-o FILE] [options]
      print (or write) the model at STAGE: a phase (see `kiln phases`),
      llvm-ir or asm
  kiln compile MODEL.mlir --emit=obj|static-lib|shared-lib|exe -o OUT [options]
      an artifact that runs without LLVM, MLIR or kiln: an object or library
      with a C header NAME.h beside it, or a standalone executable taking
      --input NAME=FILE.npy ... --output-dir DIR like `kiln run`
      --name NAME          symbol prefix (default: from OUT's file name)
      --weights=external   stored weights in OUT.weights (NAME_load_weights)
      --params-dir DIR     parameter values from DIR/PARAM.npy (trained weights)
      --stats              workspace and weight bytes, kernels, time per phase
  kiln report MODEL.mlir -o REPORT.html [--input NAME=FILE.npy ...] [options]
      one self-contained HTML page: the source, every phase's IR linked to
      the source lines, passes and times, the graph, fusion and tiling
      decisions; with inputs the per-kernel profile and attention maps
  kiln graph MODEL.mlir [-o FILE.dot] [--png FILE.png]
      draw the nn graph as Graphviz DOT (ops with shapes, source locations as
      tooltips; inputs, parameters and outputs in their own shapes); --png
      renders it with Graphviz's `dot` (apt-get install graphviz)
  kiln phases
      list the phases, in order, with the passes each one runs
  kiln import MODEL.onnx [-o FILE.mlir] [--shape NAME=DIMS ...]
      the ONNX model as kiln IR, its ops located at the ONNX nodes (every
      command also takes a .onnx MODEL directly, --shape giving an input's
      symbolic dimensions, e.g. x=1x3x28x28; docs/onnx.md)

  kiln grad MODEL.mlir --input NAME=FILE.npy ... --output-dir DIR [--wrt NAME,...]
      the outputs and the gradient with respect to each named argument
      (default: every parameter), written as ARGUMENT.npy; a non-scalar
      output y needs its cotangent as --input d_y=FILE.npy; --of OUTPUT
      differentiates that output alone

options:
  --entry NAME            the function to compile (default: @main or the only one)
  --wrt NAME,...          compile the gradient function (<entry>_grad)
  --name SYMBOL           the exported entry symbol (default: kiln_main)
)" + std::string(kLoweringOptions) + R"(                          (the object cache: $XDG_CACHE_HOME/kiln, or
                          $KILN_CACHE_DIR; KILN_CACHE=off turns it off)
)";

/// `kiln COMMAND --help`: what the command does and the options it takes.
struct CommandHelp {
  const char *name;
  std::string text;
};
const CommandHelp kCommandHelp[] = {
    {"run", R"(usage: kiln run MODEL.mlir --input NAME=FILE.npy ... --output-dir DIR [options]

Compiles MODEL (JIT), runs it on the inputs and writes OUTPUTNAME.npy per
result into DIR. Every input of the model must be given; parameters take
their initializers' values.

options:
  --input NAME=FILE.npy   an input (repeat for each)
  --output-dir DIR        where the results go (created if missing)
  --params-dir DIR        parameter values from DIR/PARAM.npy (trained weights)
  --reference             run the double-precision reference interpreter instead
  --profile               time every kernel; print the table (share, ms per call,
                          GFLOP/s or GB/s, % of the measured peak, source ops)
  --profile-json FILE     the same as JSON, into FILE
  --repeat N              run N times (the profile averages over the calls)
  --check                 run beside the reference interpreter, compare every
                          kernel's result and name the first wrong kernel with
                          its source ops (exit 1 if one is wrong)
  --check-perturb-kernel K  with --check, plant a small error in kernel K
                          (to test the checker itself)
  --entry NAME            the function to run (default: @main or the only one)
  --target-cpu CPU        host (default), x86-64-v3, skylake-avx512, ...
  --threads N             compile for and run on N threads (default:
                          KILN_NUM_THREADS, else this machine's CPUs)
  --no-cache              compile again even if this model was compiled before
  --print-ir-after-all, --dump-dir DIR, --timing, --explain-fusion
                          inspect the compilation (see `kiln compile --help`)
exit status: 0 success, 1 bad model or input (a located message) or, with
--check, a wrong kernel; 2 bad command line
)"},
    {"compile", R"(usage: kiln compile MODEL.mlir --emit=STAGE [-o FILE] [options]
       kiln compile MODEL.mlir --emit=obj|static-lib|shared-lib|exe -o OUT [options]

Prints (or writes) the model at STAGE: a phase (nn, grad, linalg, fused,
tiled, bufferized, llvm; see `kiln phases`), llvm-ir or asm. Or writes an
artifact that runs without LLVM, MLIR or kiln: an object or library with a
C header NAME.h beside it (docs/abi.md), or a standalone executable taking
--input NAME=FILE.npy ... --output-dir DIR like `kiln run`.

options:
  --emit STAGE            the stage or artifact kind
  -o FILE                 the output file (stdout for text stages without -o)
  --name NAME             symbol prefix (default: from OUT's file name)
  --weights=external      stored weights in OUT.weights (NAME_load_weights)
  --params-dir DIR        parameter values from DIR/PARAM.npy (trained weights)
  --stats                 workspace and weight bytes, kernels, time per phase
  --entry NAME            the function to compile (default: @main or the only one)
  --wrt NAME,...          compile the gradient function (<entry>_grad)
)" + std::string(kLoweringOptions) + R"(exit status: 0 success, 1 bad model or input (a located message), 2 bad command line
)"},
    {"grad", R"(usage: kiln grad MODEL.mlir --input NAME=FILE.npy ... --output-dir DIR [options]

Runs the gradient function: writes the outputs and, as ARGUMENT.npy, the
gradient with respect to each argument named by --wrt (default: every
parameter). A rank-0 output is seeded with 1; a non-scalar output y needs
its cotangent as --input d_y=FILE.npy, unless --of picks one output (the
others' cotangents are then zero).

options:
  --input NAME=FILE.npy   an input or a cotangent d_OUTPUT (repeat for each)
  --output-dir DIR        where the results go (created if missing)
  --wrt NAME,...          the arguments to differentiate with respect to
  --of OUTPUT             the gradient of this output alone
  --params-dir DIR        parameter values from DIR/PARAM.npy (trained weights)
  --profile, --profile-json FILE, --repeat N, --check
                          time every kernel, or check it, as for `kiln run`
  --entry NAME, --target-cpu CPU, --no-cache, --timing, --dump-dir DIR
                          as for `kiln compile`
exit status: 0 success, 1 bad model or input (a located message), 2 bad command line
)"},
    {"graph", R"(usage: kiln graph MODEL.mlir [-o FILE.dot] [--png FILE.png] [--entry NAME]

Draws the nn graph as Graphviz DOT: ops with their shapes, source locations
as tooltips; inputs, parameters and outputs in their own shapes. Without -o
the DOT text goes to stdout; --png renders it with Graphviz's `dot`
(apt-get install graphviz).
exit status: 0 success, 1 bad model (a located message), 2 bad command line
)"},
    {"report", R"(usage: kiln report MODEL.mlir|MODEL.onnx -o REPORT.html [options]

Compiles MODEL phase by phase and writes one self-contained HTML page (no
network, no external file; docs/report.md): the model's source with line
numbers; every phase (nn, grad, linalg, fused, tiled, bufferized, llvm) as a
tab with its IR, passes and their times, each op linked to the source lines
it came from (pick a line to see what it became, or an op to see where it
came from); the graph (Graphviz's dot when installed, else kiln's layered
layout); every fusion and tiling decision. Given the model's inputs, it runs
the model --repeat times (default 5) with the per-kernel profiler (a
sortable table and a chart) and shows the attention maps of the first batch
item, computed by the reference interpreter.

options:
  -o FILE.html            the page (required)
  --input NAME=FILE.npy   an input of the compiled function (repeat for each)
  --params-dir DIR        parameter values from DIR/PARAM.npy (trained weights)
  --repeat N              profiled calls (default 5)
  --profile               without --input: profile a run on made-up inputs
                          (floats uniform in [-1, 1), scalars 0.001, integers 0)
  --labels TEXT           label the attention maps' positions with TEXT's
                          characters (e.g. the input text)
  --graph-layout L        auto (default), dot or kiln
  --ir-limit BYTES        cut each phase's IR beyond BYTES (default 2097152)
  --train-step, --optimizer, --loss, --wrt, --entry, --target-cpu, --tile-sizes
                          what to compile, as for `kiln compile`
exit status: 0 success, 1 bad model or input (a located message), 2 bad command line
)"},
    {"import", R"(usage: kiln import MODEL.onnx [-o FILE.mlir] [--shape NAME=DIMS ...]

Imports an ONNX model (docs/onnx.md: the ops, per opset) and prints its kiln
IR, or writes it to FILE.mlir: graph inputs become inputs, float
initializers parameters with their values (under their ONNX names:
'=', '/' and control characters become '_'), integer ones
constants, each node nn ops whose locations name it ("MODEL.onnx":N:1 for
the N-th node, with its name and op type). `kiln run|compile|grad|graph`
take the .onnx file directly as well. --shape NAME=DIMS (e.g. x=1x3x28x28)
gives an input whose dimensions are symbolic in the file its shape; `kiln
run` and `kiln grad` bind an integer --input that gives a shape, axes or
slice bounds into the model (kiln's shapes are static).
exit status: 0 success, 1 unreadable model or unsupported op (a located message), 2 bad command line
)"},
    {"phases", R"(usage: kiln phases

Lists the phases of a compilation, in order, with the passes each runs;
`kiln compile --emit=PHASE` prints a model after that phase.
)"},
};

struct Args {
  std::string command, model, emit, output, outputDir, png, weights, paramsDir, profileJson;
  std::string graphLayout = "auto", labels, commandLine; // kiln report
  size_t irLimit = size_t(2) << 20;                       // kiln report --ir-limit
  bool repeatGiven = false;
  bool stats = false;
  int repeat = 1; // --repeat: calls of the compiled function (run, grad)
  std::vector<std::string> wrt;
  bool wrtGiven = false;
  std::vector<std::pair<std::string, std::string>> inputs;
  std::map<std::string, kiln::Shape> shapes; // --shape NAME=DIMS: an ONNX input's symbolic dimensions
  bool reference = false;
  kiln::CompileOptions options;
};

int usageError(const std::string &message) {
  std::cerr << "kiln: error: " << message << "\n(run `kiln --help` for usage)\n";
  return kBadUsage;
}

int inputError(const std::string &message) {
  // MLIR diagnostics already read "file:line:col: error: ...".
  bool located = message.find(": error: ") != std::string::npos;
  std::string text = message.rfind("error: ", 0) == 0 ? message.substr(7) : message;
  std::cerr << (located ? "" : "kiln: error: ") << text << "\n";
  return kBadInput;
}

/// Parses argv; returns 0 to continue or an exit code.
int parseArgs(int argc, char **argv, Args &args) {
  std::vector<std::string> rest(argv + 1, argv + argc);
  if (rest.empty())
    return usageError("no command given");
  args.command = rest[0];
  for (size_t i = 1; i < rest.size(); ++i) {
    std::string arg = rest[i];
    std::string value;
    bool hasValue = false;
    if (arg.rfind("--", 0) == 0) {
      if (size_t eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        hasValue = true;
      }
    }
    auto need = [&](std::string &out) -> bool {
      if (hasValue) {
        out = value;
        return true;
      }
      if (i + 1 >= rest.size())
        return false;
      out = rest[++i];
      return true;
    };
    std::string v;
    if (arg == "--input") {
      if (!need(v))
        return usageError("--input needs NAME=FILE.npy");
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        return usageError("--input '" + v + "' is not NAME=FILE.npy");
      args.inputs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (arg == "--shape") {
      if (!need(v))
        return usageError("--shape needs NAME=DIMS, e.g. x=1x3x28x28");
      size_t eq = v.find('=');
      kiln::Shape dims;
      std::stringstream list(eq == std::string::npos ? "" : v.substr(eq + 1));
      bool ok = eq != std::string::npos && eq > 0 && eq + 1 < v.size();
      for (std::string d; ok && std::getline(list, d, 'x');) {
        char *end = nullptr;
        long long n = std::strtoll(d.c_str(), &end, 10);
        ok = !d.empty() && !*end && n >= 0;
        dims.push_back(n);
      }
      if (!ok)
        return usageError("--shape '" + v + "' is not NAME=DIMS (dimensions joined by x, e.g. x=1x3x28x28)");
      args.shapes[v.substr(0, eq)] = dims;
    } else if (arg == "--output-dir") {
      if (!need(args.outputDir))
        return usageError("--output-dir needs a directory");
    } else if (arg == "-o") {
      if (!need(args.output))
        return usageError("-o needs a file name");
    } else if (arg == "--weights") {
      if (!need(args.weights) || (args.weights != "embedded" && args.weights != "external"))
        return usageError("--weights must be embedded or external");
    } else if (arg == "--params-dir") {
      if (!need(args.paramsDir))
        return usageError("--params-dir needs a directory");
    } else if (arg == "--of") {
      if (!need(args.options.gradientOf) || args.options.gradientOf.empty())
        return usageError("--of needs an output name");
    } else if (arg == "--sanitize") {
      if (!need(v) || v != "thread")
        return usageError("--sanitize supports 'thread' (ThreadSanitizer), got '" + v + "'");
      args.options.threadSanitizer = true;
    } else if (arg == "--stats") {
      args.stats = true;
    } else if (arg == "--png") {
      if (!need(args.png))
        return usageError("--png needs a file name");
    } else if (arg == "--emit") {
      if (!need(args.emit))
        return usageError("--emit needs a stage");
    } else if (arg == "--entry") {
      if (!need(args.options.entry))
        return usageError("--entry needs a function name");
    } else if (arg == "--name") {
      if (!need(args.options.symbol))
        return usageError("--name needs a symbol");
    } else if (arg == "--target-cpu") {
      if (!need(args.options.targetCpu))
        return usageError("--target-cpu needs a CPU name");
    } else if (arg == "--dump-dir") {
      if (!need(args.options.dumpDir))
        return usageError("--dump-dir needs a directory");
    } else if (arg == "--wrt") {
      if (!need(v))
        return usageError("--wrt needs argument names, e.g. --wrt w1,b1");
      args.wrtGiven = true;
      for (size_t start = 0; start <= v.size();) {
        size_t comma = v.find(',', start);
        std::string name = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!name.empty())
          args.wrt.push_back(name);
        if (comma == std::string::npos)
          break;
        start = comma + 1;
      }
    } else if (arg == "--tile-sizes") {
      if (!need(v))
        return usageError("--tile-sizes needs M,N");
      long long m = 0, n = 0;
      char extra;
      if (std::sscanf(v.c_str(), "%lld,%lld%c", &m, &n, &extra) != 2 || m <= 0 || n <= 0)
        return usageError("--tile-sizes needs two positive numbers M,N, got '" + v + "'");
      args.options.tileRows = m;
      args.options.tileColumns = n;
    } else if (arg == "--threads") {
      if (!need(v))
        return usageError("--threads needs a count, e.g. --threads 2");
      long long n = 0;
      char extra;
      if (std::sscanf(v.c_str(), "%lld%c", &n, &extra) != 1 || n <= 0 || n > 256)
        return usageError("--threads needs a whole number from 1 to 256, got '" + v + "'");
      args.options.threads = n;
    } else if (arg == "--train-step") {
      if (!args.options.trainStep)
        args.options.trainStep = kiln::TrainStepRequest{};
    } else if (arg == "--optimizer" || arg == "--momentum" || arg == "--weight-decay" || arg == "--loss" ||
               arg == "--clip-norm") {
      if (!need(v))
        return usageError(arg + " needs a value");
      if (!args.options.trainStep)
        args.options.trainStep = kiln::TrainStepRequest{};
      kiln::Optimizer &o = args.options.trainStep->optimizer;
      char *end = nullptr;
      if (arg == "--optimizer") {
        if (v != "sgd" && v != "adam" && v != "adamw")
          return usageError("--optimizer must be sgd, adam or adamw, got '" + v + "'");
        double wd = o.weightDecay, clip = o.clipNorm;
        o = v == "sgd" ? kiln::Optimizer::sgd(o.momentum) : v == "adam" ? kiln::Optimizer::adam()
                                                                         : kiln::Optimizer::adamw();
        if (wd != 0)
          o.weightDecay = wd;
        o.clipNorm = clip;
      } else if (arg == "--loss") {
        args.options.trainStep->loss = v;
      } else {
        double number = std::strtod(v.c_str(), &end);
        if (!end || *end)
          return usageError(arg + " needs a number, got '" + v + "'");
        if (arg == "--clip-norm" && !(number > 0 && std::isfinite(number)))
          return usageError("--clip-norm needs a positive number, got '" + v + "'");
        (arg == "--momentum" ? o.momentum : arg == "--clip-norm" ? o.clipNorm : o.weightDecay) = number;
      }
    } else if (arg == "--print-ir-after-all") {
      args.options.printIrAfterAll = true;
    } else if (arg == "--no-cache") {
      args.options.cache = false;
    } else if (arg == "--timing") {
      args.options.timing = true;
    } else if (arg == "--explain-fusion") {
      args.options.explainFusion = true;
    } else if (arg == "--reference") {
      args.reference = true;
    } else if (arg == "--profile") {
      args.options.profile = true;
    } else if (arg == "--check") {
      args.options.check = true;
    } else if (arg == "--check-perturb-kernel") {
      if (!need(v))
        return usageError("--check-perturb-kernel needs a kernel number");
      char *end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (!end || *end || n < 0)
        return usageError("--check-perturb-kernel needs a kernel number, got '" + v + "'");
      args.options.check = true;
      args.options.checkPerturbKernel = n;
    } else if (arg == "--profile-json") {
      if (!need(args.profileJson))
        return usageError("--profile-json needs a file name");
      args.options.profile = true;
    } else if (arg == "--repeat") {
      if (!need(v))
        return usageError("--repeat needs a count");
      char *end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (!end || *end || n < 1 || n > 1000000)
        return usageError("--repeat needs a count from 1 to 1000000, got '" + v + "'");
      args.repeat = int(n);
      args.repeatGiven = true;
    } else if (arg == "--graph-layout") {
      if (!need(args.graphLayout) ||
          (args.graphLayout != "auto" && args.graphLayout != "dot" && args.graphLayout != "kiln"))
        return usageError("--graph-layout must be auto, dot or kiln");
    } else if (arg == "--labels") {
      if (!need(args.labels))
        return usageError("--labels needs a text");
    } else if (arg == "--ir-limit") {
      if (!need(v))
        return usageError("--ir-limit needs a byte count");
      char *end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (!end || *end || n < 1024)
        return usageError("--ir-limit needs a byte count of at least 1024, got '" + v + "'");
      args.irLimit = size_t(n);
    } else if (!arg.empty() && arg[0] == '-') {
      return usageError("unknown option '" + rest[i] + "'");
    } else if (args.model.empty()) {
      args.model = arg;
    } else {
      return usageError("unexpected argument '" + arg + "' (one model file only)");
    }
  }
  return 0;
}

/// A model as the commands take it: kiln IR text, or an ONNX model imported
/// as a Graph, which is compiled as it is (its weights never become text).
struct Model {
  std::string text;
  std::unique_ptr<kiln::Graph> graph;
  /// The kiln IR text (printed from the graph where there is one: for the
  /// commands that show or re-read IR).
  std::string source() const { return graph ? graph->str(/*withLocations=*/true) : text; }
  kiln::Result<kiln::Function> compile(const std::string &name, const kiln::CompileOptions &options) const {
    return graph ? kiln::Function::compile(*graph, options) : kiln::Function::compileSource(text, name, options);
  }
};

/// The model file (kiln::readModelFile: a directory, a device or a file
/// over 1 GiB is an error naming the file, checked before reading). An ONNX
/// model is imported with --shape's dimensions; where an input must be
/// known while importing (a shape, axes or bounds), the integer tensors
/// given with --input are bound to it and leave `inputs`.
Model readModel(const Args &args, std::string &error, std::map<std::string, kiln::HostTensor> *inputs = nullptr) {
  if (kiln::isOnnxPath(args.model)) {
    kiln::OnnxImportOptions options;
    options.shapes = args.shapes;
    auto graph = kiln::importOnnx(args.model, options);
    if (!graph && inputs && graph.error().find("must be known while importing") != std::string::npos) {
      for (const auto &[name, value] : *inputs)
        if (value.dtype() == kiln::DType::i64 || value.dtype() == kiln::DType::i32)
          options.inputValues.emplace(name, value);
      graph = kiln::importOnnx(args.model, options);
      if (graph)
        for (const auto &[name, value] : options.inputValues)
          inputs->erase(name);
    }
    if (!graph) {
      error = graph.error();
      return {};
    }
    return {"", std::move(*graph)};
  }
  if (!args.shapes.empty()) {
    error = "--shape is for ONNX models (" + args.model + " is kiln IR, whose shapes are in the text)";
    return {};
  }
  auto text = kiln::readModelFile(args.model);
  if (!text) {
    error = text.error();
    return {};
  }
  return {std::move(*text), nullptr};
}

/// The model's kiln IR text (an ONNX model printed), for the commands that
/// show or lower IR text.
std::string readFile(const Args &args, std::string &error, std::map<std::string, kiln::HostTensor> *inputs = nullptr) {
  return readModel(args, error, inputs).source();
}

/// Loads every --input NAME=FILE.npy; returns 0 or the exit code after
/// printing why.
int loadInputs(const Args &args, std::map<std::string, kiln::HostTensor> &inputs) {
  for (const auto &[name, path] : args.inputs) {
    if (inputs.count(name))
      return inputError("input \"" + name + "\" is given twice");
    auto tensor = kiln::HostTensor::loadNpy(path);
    if (!tensor)
      return inputError("input \"" + name + "\": " + tensor.error());
    inputs.emplace(name, std::move(*tensor));
  }
  return 0;
}

/// --params-dir DIR: the parameters' values from DIR/PARAM.npy where present
/// (as `kiln compile --params-dir` takes them); a directory that is missing
/// or holds none of them is an error, never a silent run on initial values.
/// Returns 0 or the exit code after printing why.
int loadParams(const Args &args, const std::vector<kiln::TensorInfo> &params,
               std::map<std::string, kiln::HostTensor> &values) {
  if (args.paramsDir.empty())
    return 0;
  auto loaded = kiln::loadParamsDir(args.paramsDir, params);
  if (!loaded)
    return inputError(loaded.error());
  if (loaded->empty()) // the model has no parameters: the directory cannot be what was meant
    return inputError("--params-dir " + args.paramsDir +
                      " holds none of the model's parameters (expected none: the model has no parameters)");
  values = std::move(*loaded);
  return 0;
}

/// loadParams into a compiled function.
int setParams(const Args &args, kiln::Function &fn) {
  std::map<std::string, kiln::HostTensor> params;
  if (int code = loadParams(args, fn.params(), params))
    return code;
  for (const auto &[name, value] : params)
    if (kiln::Status s = fn.setParam(name, value); !s)
      return inputError(s.error());
  return 0;
}

/// Creates `dir` for output files; returns 0 or the exit code.
int makeOutputDir(const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return inputError("cannot create --output-dir '" + dir + "': " + ec.message());
  return 0;
}

/// The model's text and its --input files, for `kiln run` and `kiln grad`;
/// returns 0 or the exit code.
int loadModelAndInputs(const Args &args, const std::string &command, Model &model,
                       std::map<std::string, kiln::HostTensor> &inputs) {
  if (args.model.empty())
    return usageError("kiln " + command + " needs a MODEL.mlir");
  if (args.outputDir.empty())
    return usageError("kiln " + command + " needs --output-dir DIR");
  if (int code = loadInputs(args, inputs))
    return code;
  std::string error;
  model = readModel(args, error, &inputs);
  if (!error.empty())
    return inputError(error);
  return 0;
}

/// Runs `fn` --repeat times (the last call's results): the profile's
/// figures are then averages over the calls.
/// With --check, the first call runs beside the reference interpreter and
/// its report goes to stderr; `checkFailed` says whether a kernel was wrong.
kiln::Result<std::vector<kiln::HostTensor>> runRepeatedly(const Args &args, kiln::Function &fn,
                                                          const std::map<std::string, kiln::HostTensor> &inputs,
                                                          bool &checkFailed) {
  kiln::Result<std::vector<kiln::HostTensor>> results = kiln::Error{"not run"};
  if (args.options.check) {
    auto ordered = kiln::orderInputs(fn.inputs(), inputs);
    if (!ordered)
      return kiln::Error{ordered.error()};
    auto report = fn.check(*ordered);
    if (!report)
      return kiln::Error{report.error()};
    fmt::print(stderr, "kiln: check of {}: {}", args.model, report->text());
    checkFailed = report->firstWrong >= 0;
    results = std::move(report->outputs);
  } else {
    results = fn.run(inputs);
  }
  for (int i = 1; i < args.repeat && results; ++i)
    results = fn.run(inputs);
  return results;
}

/// --profile: the per-kernel table on stderr; --profile-json FILE: as JSON.
int reportProfile(const Args &args, const kiln::Function &fn) {
  if (!args.options.profile)
    return 0;
  auto profile = fn.profile();
  if (!profile)
    return inputError(profile.error());
  int threads = fn.numThreads() > 0 ? fn.numThreads() : kiln_num_threads();
  if (!args.profileJson.empty()) {
    std::ofstream out(args.profileJson);
    out << profile->json(threads);
    if (!out)
      return inputError("cannot write --profile-json file '" + args.profileJson + "'");
  } else {
    fmt::print(stderr, "kiln: profile of {}: {}", args.model, profile->table(threads));
  }
  return 0;
}

int runCommand(const Args &args) {
  Model model;
  std::map<std::string, kiln::HostTensor> inputs;
  if (int code = loadModelAndInputs(args, "run", model, inputs))
    return code;

  std::vector<kiln::TensorInfo> outputs;
  kiln::Result<std::vector<kiln::HostTensor>> results = kiln::Error{"not run"};
  bool checkFailed = false;
  auto start = std::chrono::steady_clock::now();
  if (args.reference && args.options.check)
    return usageError("--reference and --check exclude each other (--check runs both)");
  if (args.reference) {
    std::string source = model.source(); // the interpreter reads kiln IR
    auto signature = kiln::readSignature(source, args.model, args.options.entry);
    if (!signature)
      return inputError(signature.error());
    outputs = signature->outputs;
    auto ordered = kiln::orderInputs(signature->inputs, inputs);
    if (!ordered)
      return inputError(ordered.error());
    std::map<std::string, kiln::HostTensor> params;
    if (int code = loadParams(args, signature->params, params))
      return code;
    results = kiln::runReference(source, args.model, *ordered, args.options.entry, params);
    // The interpreter computes in double; files keep the model's dtypes.
    if (results)
      for (size_t i = 0; i < outputs.size(); ++i) {
        kiln::HostTensor converted(outputs[i].dtype, outputs[i].shape);
        for (int64_t k = 0; k < converted.size(); ++k)
          converted.set(k, (*results)[i].at(k));
        (*results)[i] = std::move(converted);
      }
  } else {
    auto fn = model.compile(args.model, args.options);
    if (!fn)
      return inputError(fn.error());
    model.graph.reset(); // an imported model's weights: the Function holds its own
    if (int code = setParams(args, *fn))
      return code;
    if (args.options.threads > 0)
      fn->setNumThreads(int(args.options.threads));
    outputs = fn->outputs();
    results = runRepeatedly(args, *fn, inputs, checkFailed);
    if (results)
      if (int code = reportProfile(args, *fn))
        return code;
  }
  if (!results)
    return inputError(results.error());
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  if (int code = makeOutputDir(args.outputDir))
    return code;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string path = args.outputDir + "/" + outputs[i].name + ".npy";
    if (kiln::Status s = (*results)[i].saveNpy(path); !s)
      return inputError(s.error());
    fmt::print("{}: {} -> {}\n", outputs[i].name, (*results)[i].typeString(), path);
  }
  std::fflush(stdout);
  fmt::print(stderr, "kiln: {} {} in {:.0f} ms\n",
             args.reference ? "interpreted" : "compiled and ran", args.model, ms);
  return checkFailed ? inputError("--check: a kernel's result differs from the reference (see above)") : 0;
}

int compileCommand(const Args &args) {
  if (args.model.empty())
    return usageError("kiln compile needs a MODEL.mlir");
  if (args.emit.empty())
    return usageError("kiln compile needs --emit=STAGE (see `kiln phases`)");
  if (args.options.check)
    return usageError("--check runs a model beside the reference: use it with kiln run or kiln grad");
  std::string error;
  Model model = readModel(args, error);
  if (!error.empty())
    return inputError(error);
  if (args.emit == "obj" || args.emit == "static-lib" || args.emit == "shared-lib" ||
      args.emit == "exe") {
    if (args.output.empty() || args.output == "-")
      return usageError("--emit=" + args.emit + " needs -o FILE");
    kiln::ArtifactOptions artifact;
    artifact.kind = args.emit;
    artifact.output = args.output;
    artifact.name = args.options.symbol == "kiln_main" ? "" : args.options.symbol;
    artifact.externalWeights = args.weights == "external";
    artifact.paramsDir = args.paramsDir;
    auto report = model.graph ? kiln::compileArtifact(*model.graph, args.options, artifact)
                              : kiln::compileArtifact(model.text, args.model, args.options, artifact);
    if (!report)
      return inputError(report.error());
    for (const std::string &f : report->files)
      fmt::print("wrote {}\n", f);
    if (args.stats) {
      fmt::print("name: {}\nworkspace: {} bytes\nweights: {} bytes (stored)\nkernels: {}\n",
                 report->name, report->workspaceBytes, report->weightBytes, report->kernels);
      for (const auto &[phase, seconds] : report->phaseSeconds)
        fmt::print("time {:<12} {:8.1f} ms\n", phase, 1000 * seconds);
      fmt::print("time {:<12} {:8.1f} ms\n", "total", 1000 * report->totalSeconds);
    }
    return 0;
  }
  auto out = model.graph ? kiln::lowerToStage(*model.graph, args.emit, args.options)
                         : kiln::lowerToStage(model.text, args.model, args.emit, args.options);
  if (!out)
    return inputError(out.error());
  if (args.output.empty() || args.output == "-") {
    if (args.emit == "obj")
      return usageError("--emit=obj writes binary: give -o FILE");
    std::cout << *out;
    return 0;
  }
  std::ofstream file(args.output, std::ios::binary);
  file << *out;
  if (!file)
    return inputError("cannot write " + args.output);
  return 0;
}

int importCommand(const Args &args) {
  if (args.model.empty() || !kiln::isOnnxPath(args.model))
    return usageError("kiln import needs a MODEL.onnx");
  std::string error, text = readFile(args, error);
  if (!error.empty())
    return inputError(error);
  if (args.output.empty() || args.output == "-") {
    std::cout << text;
    return 0;
  }
  std::ofstream file(args.output, std::ios::binary);
  file << text;
  if (!file)
    return inputError("cannot write " + args.output);
  return 0;
}

int graphCommand(const Args &args) {
  if (args.model.empty())
    return usageError("kiln graph needs a MODEL.mlir");
  std::string error;
  std::string source = readFile(args, error);
  if (!error.empty())
    return inputError(error);
  auto dot = kiln::toGraphviz(source, args.model, args.options.entry);
  if (!dot)
    return inputError(dot.error());
  std::string dotPath = args.output;
  if (dotPath.empty() || dotPath == "-") {
    if (!args.png.empty())
      return usageError("--png needs -o FILE.dot for the DOT text it renders");
    std::cout << *dot;
    return 0;
  }
  std::ofstream file(dotPath);
  file << *dot;
  if (!file)
    return inputError("cannot write " + dotPath);
  file.close();
  if (args.png.empty())
    return 0;
  auto dotProgram = llvm::sys::findProgramByName("dot");
  if (!dotProgram)
    return inputError("Graphviz's `dot` is not installed, so no PNG was rendered (wrote " +
                      dotPath + "); install it with `apt-get install graphviz`");
  std::string message;
  llvm::StringRef argv[] = {*dotProgram, "-Tpng", dotPath, "-o", args.png};
  int rc = llvm::sys::ExecuteAndWait(*dotProgram, argv, std::nullopt, {}, 60, 0, &message);
  if (rc != 0)
    return inputError("`dot -Tpng " + dotPath + "` failed" +
                      (message.empty() ? "" : ": " + message));
  std::cerr << "kiln: wrote " << dotPath << " and " << args.png << "\n";
  return 0;
}

/// The UTF-8 characters of `text`, one string each (--labels).
std::vector<std::string> characters(const std::string &text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    size_t n = 1;
    while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80)
      ++n;
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

int reportCommand(const Args &args) {
  if (args.model.empty())
    return usageError("kiln report needs a MODEL.mlir or MODEL.onnx");
  if (args.output.empty() || args.output == "-")
    return usageError("kiln report needs -o FILE.html");
  kiln::ReportOptions report;
  if (int code = loadInputs(args, report.inputs))
    return code;
  std::string error;
  Model model = readModel(args, error, &report.inputs);
  if (!error.empty())
    return inputError(error);
  if (!args.paramsDir.empty()) {
    // (An imported model's from its graph: a GPT-2-sized one printed as
    // text took seconds and a copy of its weights.)
    auto signature = model.graph ? kiln::readSignature(*model.graph, args.options.entry)
                                 : kiln::readSignature(model.source(), args.model, args.options.entry);
    if (!signature)
      return inputError(signature.error());
    if (int code = loadParams(args, signature->params, report.params))
      return code;
  }
  report.compile = args.options;
  report.compile.profile = false; // the report profiles a run of its own
  report.madeUpInputs = args.options.profile && report.inputs.empty();
  report.profileRuns = args.repeatGiven ? args.repeat : 5;
  report.graphLayout = args.graphLayout;
  report.irLimitBytes = args.irLimit;
  report.positionLabels = characters(args.labels);
  report.commandLine = args.commandLine;
  auto html = model.graph ? kiln::reportHtml(*model.graph, report) : kiln::reportHtml(model.text, args.model, report);
  if (!html)
    return inputError(html.error());
  std::ofstream file(args.output, std::ios::binary);
  file << *html;
  if (!file)
    return inputError("cannot write " + args.output);
  std::cerr << "kiln: wrote " << args.output << " (" << (html->size() + 1023) / 1024 << " KiB)\n";
  return 0;
}

int phasesCommand() {
  kiln::PipelineOptions options;
  for (const kiln::Phase &p : kiln::phases())
    std::cout << p.name << "\n    " << p.summary << "\n    passes: " << kiln::phasePipelineText(p, options) << "\n";
  std::cout << "llvm-ir\n    LLVM IR after translation and O3 for the target CPU\n";
  std::cout << "asm\n    the target's assembly\n";
  std::cout << "obj\n    an ELF object (the JIT loads this very file)\n";
  return 0;
}

} // namespace

/// kiln grad: run <entry>_grad and write each gradient as ARGUMENT.npy.
int gradCommand(Args args) {
  args.options.gradientWrt = args.wrt;
  Model model;
  std::map<std::string, kiln::HostTensor> inputs;
  if (int code = loadModelAndInputs(args, "grad", model, inputs))
    return code;
  auto fn = model.compile(args.model, args.options);
  if (!fn)
    return inputError(fn.error());
  model.graph.reset(); // an imported model's weights: the Function holds its own
  if (int code = setParams(args, *fn))
    return code;
  bool checkFailed = false;
  auto results = runRepeatedly(args, *fn, inputs, checkFailed);
  if (!results)
    return inputError(results.error());
  if (int code = reportProfile(args, *fn))
    return code;
  if (int code = makeOutputDir(args.outputDir))
    return code;
  auto outputs = fn->outputs();
  // The gradients are the last results, named d_<argument>.
  size_t firstGrad = outputs.size();
  while (firstGrad > 0 && outputs[firstGrad - 1].name.rfind("d_", 0) == 0)
    --firstGrad;
  for (size_t i = 0; i < outputs.size(); ++i) {
    bool isGrad = i >= firstGrad;
    std::string name = isGrad ? outputs[i].name.substr(2) : outputs[i].name;
    std::string path = args.outputDir + "/" + name + ".npy";
    if (kiln::Status s = (*results)[i].saveNpy(path); !s)
      return inputError(s.error());
    fmt::print("{}{}: {} -> {}\n", isGrad ? "gradient of " : "", name, (*results)[i].typeString(), path);
  }
  return checkFailed ? inputError("--check: a kernel's result differs from the reference (see above)") : 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
                    !std::strcmp(argv[1], "help"))) {
    // `kiln help run` as `kiln run --help`.
    for (const CommandHelp &h : kCommandHelp)
      if (argc >= 3 && !std::strcmp(argv[2], h.name)) {
        std::cout << h.text;
        return 0;
      }
    std::cout << kUsage;
    return 0;
  }
  if (argc >= 2 && !std::strcmp(argv[1], "--version")) {
    std::cout << "kiln " << kiln::version() << " (LLVM and MLIR " << LLVM_VERSION_STRING
              << ", host CPU " << llvm::sys::getHostCPUName().str() << ")\n";
    return 0;
  }
  // `kiln COMMAND --help` (anywhere on the line) prints that command's help.
  for (int i = 2; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h"))
      for (const CommandHelp &h : kCommandHelp)
        if (!std::strcmp(argv[1], h.name)) {
          std::cout << h.text;
          return 0;
        }
  Args args;
  if (int code = parseArgs(argc, argv, args))
    return code;
  if (args.wrtGiven && args.wrt.empty())
    return usageError("--wrt needs argument names, e.g. --wrt w1,b1 (it was empty)");
  // --wrt compiles the gradient function, for compile as for grad.
  if (args.wrtGiven && args.command != "grad")
    args.options.gradientWrt = args.wrt;
  if (!args.options.gradientOf.empty() && args.command != "grad" && !args.wrtGiven)
    return usageError("--of picks the output of a gradient: use it with kiln grad or --wrt");
  if (args.command == "run")
    return runCommand(args);
  if (args.command == "compile")
    return compileCommand(args);
  if (args.command == "grad")
    return gradCommand(args);
  if (args.command == "graph")
    return graphCommand(args);
  if (args.command == "phases")
    return phasesCommand();
  if (args.command == "report") {
    for (int i = 0; i < argc; ++i)
      args.commandLine += (i ? " " : "") + std::string(i ? argv[i] : "kiln");
    return reportCommand(args);
  }
  if (args.command == "import")
    return importCommand(args);
  return usageError("unknown command '" + args.command + "' (run, compile, grad, graph, import, phases, report)");
}
