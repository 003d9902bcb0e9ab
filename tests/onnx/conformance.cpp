//===- conformance.cpp - ONNX's backend node tests through kiln ----------===//
//
// Runs the node tests of Debian's libonnx-testdata (one model per op
// variant, with inputs and expected outputs as TensorProto files) through
// kiln: import, compile, run each test_data_set_*, compare with ONNX's
// default tolerances (|got - want| <= 1e-7 + 1e-3 |want|; integers and
// booleans exactly). Each test counts for the op it tests (its one node's
// type; an `_expanded` test, the decomposition of an op into others, for
// the op of the test it expands). A test kiln refuses counts as failed.
// Counted, as the issue defines the denominator: the tests of its listed
// ops with opset 7 or later whose inputs and outputs are float, double,
// int64 or bool tensors.
//
//   kiln-onnx-conformance DATA_DIR [--markdown FILE] [--expect FILE] [--shard I/N] [-v]
//
// --markdown writes the per-op table (docs/onnx.md's); --expect FILE lists
// tests that must pass (one name per line): exit 1 if one of them fails,
// so the suite cannot silently regress. Prints one line per test and the
// totals for the issue's listed ops.
//
//===----------------------------------------------------------------------===//
#include "frontend/onnx/OnnxTensor.h"
#include "kiln/kiln.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using namespace kiln;

namespace {

/// The ops issue 16 lists: the conformance rate's denominator.
const std::set<std::string> kListed = {
    "Add", "Sub", "Mul", "Div", "Pow", "Neg", "Abs", "Exp", "Log", "Sqrt", "Reciprocal", "Equal", "Less",
    "Greater", "LessOrEqual", "GreaterOrEqual", "Max", "Min", "Sum", "Mean", "MatMul", "Gemm", "Relu", "Sigmoid",
    "Tanh", "Erf", "Gelu", "Softmax", "LogSoftmax", "LayerNormalization", "Reshape", "Transpose", "Squeeze",
    "Unsqueeze", "Flatten", "Concat", "Slice", "Gather", "Where", "Cast", "Expand", "Shape", "Size", "Constant",
    "ConstantOfShape", "Range", "ReduceSum", "ReduceMean", "ReduceMax", "Identity", "Dropout",
    "SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool",
    "BatchNormalization", "RNN", "GRU", "LSTM"};

struct Outcome {
  std::string test, op;
  bool pass = false;
  std::string reason;
};

Result<onnx::ModelProto> readModel(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto model;
  if (!in || !model.ParseFromIstream(&in))
    return Error{path + ": cannot parse"};
  return model;
}

/// Whether the issue's denominator counts the test: opset 7 or later, and
/// every graph input and output a float, double, int64 or bool tensor.
bool counted(const onnx::ModelProto &model) {
  for (const onnx::OperatorSetIdProto &o : model.opset_import())
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() < 7)
      return false;
  auto ok = [](const onnx::ValueInfoProto &v) {
    if (!v.type().has_tensor_type())
      return false;
    int32_t t = v.type().tensor_type().elem_type();
    return t == onnx::TensorProto::FLOAT || t == onnx::TensorProto::DOUBLE || t == onnx::TensorProto::INT64 ||
           t == onnx::TensorProto::BOOL;
  };
  for (const onnx::ValueInfoProto &v : model.graph().input())
    if (!ok(v))
      return false;
  for (const onnx::ValueInfoProto &v : model.graph().output())
    if (!ok(v))
      return false;
  return true;
}

/// The op a (non-expanded) test tests: its one node's type, or the last
/// node's where there are several (Constant nodes feed the tested op).
std::string testedOp(const onnx::ModelProto &model) {
  const onnx::GraphProto &g = model.graph();
  for (int i = g.node_size() - 1; i >= 0; --i)
    if (g.node(i).op_type() != "Constant")
      return g.node(i).op_type();
  return g.node_size() ? g.node(0).op_type() : "(none)";
}

std::string compare(const HostTensor &got, const HostTensor &want) {
  if (got.dtype() != want.dtype())
    return "dtype " + got.typeString() + ", expected " + want.typeString();
  if (got.shape() != want.shape())
    return "shape " + shapeString(got.shape()) + ", expected " + shapeString(want.shape());
  bool exact = got.dtype() != DType::f32 && got.dtype() != DType::f64;
  for (int64_t i = 0; i < got.size(); ++i) {
    double g = got.at(i), w = want.at(i);
    if (std::isnan(w) && std::isnan(g))
      continue;
    bool ok = exact ? g == w : std::abs(g - w) <= 1e-7 + 1e-3 * std::abs(w);
    if (!ok) {
      char buffer[160];
      std::snprintf(buffer, sizeof buffer, "element %lld: %.9g, expected %.9g", (long long)i, g, w);
      return buffer;
    }
  }
  return "";
}

/// PREFIX0.pb, PREFIX1.pb, ... of a data set into `out`, leaving out the
/// indices in `skip`; false with `error` when one cannot be read.
bool readNumbered(const fs::path &set, const std::string &prefix, const std::set<size_t> *skip,
                  std::vector<HostTensor> &out, std::string &error) {
  for (size_t i = 0;; ++i) {
    fs::path p = set / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p))
      return true;
    auto t = onnx_import::readTensorFile(p.string());
    if (!t) {
      error = t.error();
      return false;
    }
    if (!skip || !skip->count(i))
      out.push_back(std::move(*t));
  }
}

/// The names of the graph's inputs (initializers excepted), in order.
std::vector<std::string> inputNames(const std::string &modelPath) {
  std::vector<std::string> names;
  auto model = readModel(modelPath);
  if (!model)
    return names;
  std::set<std::string> initializers;
  for (const onnx::TensorProto &t : model->graph().initializer())
    initializers.insert(t.name());
  for (const onnx::ValueInfoProto &v : model->graph().input())
    if (!initializers.count(v.name()))
      names.push_back(v.name());
  return names;
}

Outcome run(const fs::path &dir, const std::string &op) {
  Outcome o{dir.filename().string(), op, false, ""};
  std::string modelPath = (dir / "model.onnx").string();
  std::vector<std::string> names = inputNames(modelPath);
  std::set<size_t> bound; // inputs given at import (their values from test_data_set_0)
  auto graph = importOnnx(modelPath);
  if (!graph && graph.error().find("must be known while importing") != std::string::npos) {
    // An input gives a shape, axes or bounds: bind the integer inputs to
    // the first data set's values (kiln specializes on them), as `kiln run`
    // binds what its --input files give.
    OnnxImportOptions options;
    for (size_t i = 0; i < names.size(); ++i) {
      auto t = onnx_import::readTensorFile((dir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb")).string());
      if (t && (t->dtype() == DType::i64 || t->dtype() == DType::i32)) {
        options.inputValues.emplace(names[i], std::move(*t));
        bound.insert(i);
      }
    }
    graph = importOnnx(modelPath, options);
    if (!graph && graph.error().find("must be known while importing") != std::string::npos) {
      // A float input gives them (Range's bounds): every input bound.
      for (size_t i = 0; i < names.size(); ++i)
        if (!bound.count(i))
          if (auto t = onnx_import::readTensorFile(
                  (dir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb")).string())) {
            options.inputValues.emplace(names[i], std::move(*t));
            bound.insert(i);
          }
      graph = importOnnx(modelPath, options);
    }
  }
  if (!graph) {
    o.reason = graph.error();
    return o;
  }
  auto fn = Function::compile(**graph);
  if (!fn) {
    o.reason = fn.error();
    return o;
  }
  std::vector<fs::path> sets;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) {
    o.reason = "no test_data_set_*";
    return o;
  }
  for (const fs::path &set : sets) {
    std::vector<HostTensor> inputs, outputs;
    std::string error;
    if (!readNumbered(set, "input_", &bound, inputs, error) || !readNumbered(set, "output_", nullptr, outputs, error)) {
      o.reason = error;
      return o;
    }
    auto got = fn->run(inputs);
    if (!got) {
      o.reason = got.error();
      return o;
    }
    if (got->size() != outputs.size()) {
      o.reason = std::to_string(got->size()) + " outputs, expected " + std::to_string(outputs.size());
      return o;
    }
    for (size_t i = 0; i < outputs.size(); ++i)
      if (std::string why = compare((*got)[i], outputs[i]); !why.empty()) {
        o.reason = "output #" + std::to_string(i) + ": " + why;
        return o;
      }
  }
  o.pass = true;
  return o;
}

std::string oneLine(std::string s, const std::string &dataDir = "") {
  // The data folder's path left out: "test_x/model.onnx:1:1: ...".
  for (size_t at; !dataDir.empty() && (at = s.find(dataDir + "/")) != std::string::npos;)
    s.erase(at, dataDir.size() + 1);
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '|', '/');
  if (s.size() > 200)
    s = s.substr(0, 197) + "...";
  return s;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: kiln-onnx-conformance DATA_DIR [--markdown FILE] [--expect FILE] [--shard I/N] [-v]\n");
    return 2;
  }
  std::string dataDir = argv[1], markdown, expectFile;
  int shard = 0, shards = 1;
  bool verbose = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--markdown" && i + 1 < argc)
      markdown = argv[++i];
    else if (a == "--expect" && i + 1 < argc)
      expectFile = argv[++i];
    else if (a == "--shard" && i + 1 < argc && std::sscanf(argv[++i], "%d/%d", &shard, &shards) == 2 &&
             shard >= 0 && shard < shards)
      continue;
    else if (a == "-v")
      verbose = true;
    else {
      std::fprintf(stderr, "kiln-onnx-conformance: unexpected argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (!fs::is_directory(dataDir)) {
    std::fprintf(stderr, "kiln-onnx-conformance: %s is not a directory (apt-get install libonnx-testdata)\n",
                 dataDir.c_str());
    return 2;
  }
  std::vector<fs::path> tests;
  for (const auto &e : fs::directory_iterator(dataDir))
    if (fs::exists(e.path() / "model.onnx"))
      tests.push_back(e.path());
  std::sort(tests.begin(), tests.end());
  // Each test's op (an expanded test's from the test it expands).
  std::map<std::string, std::string> opOf;
  std::set<std::string> notCounted; // opset below 7, or a dtype outside the issue's
  for (const fs::path &t : tests)
    if (auto model = readModel((t / "model.onnx").string())) {
      opOf[t.filename().string()] = testedOp(*model);
      if (!counted(*model))
        notCounted.insert(t.filename().string());
    }
  std::vector<Outcome> outcomes;
  for (size_t k = 0; k < tests.size(); ++k) {
    if (int(k % size_t(shards)) != shard)
      continue;
    std::string name = tests[k].filename().string(), op = opOf.count(name) ? opOf[name] : "(unreadable)";
    const std::string suffix = "_expanded";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      auto base = opOf.find(name.substr(0, name.size() - suffix.size()));
      if (base != opOf.end())
        op = base->second;
    }
    if (!kListed.count(op) || notCounted.count(name))
      continue;
    Outcome o = run(tests[k], op);
    if (verbose || !o.pass)
      std::printf("%s %s (%s)%s\n", o.pass ? "PASS" : "FAIL", o.test.c_str(), o.op.c_str(),
                  o.pass ? "" : (": " + oneLine(o.reason)).c_str());
    outcomes.push_back(std::move(o));
  }
  int passed = int(std::count_if(outcomes.begin(), outcomes.end(), [](const Outcome &o) { return o.pass; }));
  std::printf("kiln-onnx-conformance: %d of %zu node tests of the listed ops pass (%.1f%%)\n", passed,
              outcomes.size(), outcomes.empty() ? 0.0 : 100.0 * passed / double(outcomes.size()));

  if (!markdown.empty()) {
    std::map<std::string, std::vector<const Outcome *>> byOp;
    for (const Outcome &o : outcomes)
      byOp[o.op].push_back(&o);
    std::ofstream md(markdown);
    md << "| op | pass | of | failing tests (reason) |\n|---|---|---|---|\n";
    for (const std::string &op : kListed) {
      auto it = byOp.find(op);
      if (it == byOp.end()) {
        md << "| " << op << " | - | 0 | (no node test in this ONNX release) |\n";
        continue;
      }
      int p = 0;
      std::string failing;
      for (const Outcome *o : it->second) {
        p += o->pass;
        if (!o->pass)
          failing += (failing.empty() ? "" : "<br>") + o->test + ": " + oneLine(o->reason, dataDir);
      }
      md << "| " << op << " | " << p << " | " << it->second.size() << " | " << failing << " |\n";
    }
  }
  if (!expectFile.empty()) {
    std::ifstream in(expectFile);
    std::set<std::string> expected;
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#')
        expected.insert(line);
    int regressions = 0;
    for (const Outcome &o : outcomes)
      if (!o.pass && expected.count(o.test)) {
        std::printf("REGRESSION: %s was expected to pass\n", o.test.c_str());
        ++regressions;
      }
    if (regressions)
      return 1;
  }
  return 0;
}
