//===- OnnxImport.cpp - an ONNX model as a kiln Graph --------------------===//
//
// Reads the ModelProto (protobuf, through Debian's libonnx-dev schema),
// then walks its graph once, in order (ONNX graphs are topologically
// sorted): inputs, initializers, each node through its converter
// (OnnxOps.cpp) with the Graph's location set to that node, then the
// outputs. Values known while importing (integer initializers, Constant
// and Shape outputs and what is computed from them) are kept beside their
// Tensors, so shapes, axes and slice bounds given as inputs can be read.
//
//===----------------------------------------------------------------------===//
#include "kiln/Onnx.h"
#include "frontend/GraphImpl.h"
#include "frontend/onnx/OnnxOps.h"
#include "frontend/onnx/OnnxTensor.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace kiln {

using namespace onnx_import;

bool isOnnxPath(const std::string &path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

namespace {

/// ONNX names in kiln: kept as they are (PyTorch's `blocks.0.attn.weight`
/// is the parameter's name, its --params-dir file and its gradient's name),
/// except the characters a tensor name cannot hold ('=', '/', control
/// characters), which become '_'; unique (docs: kiln/Onnx.h).
class Names {
public:
  std::string operator()(const std::string &onnxName) {
    auto it = given_.find(onnxName);
    if (it != given_.end())
      return it->second;
    std::string name;
    for (char c : onnxName) {
      unsigned char u = static_cast<unsigned char>(c);
      name += u < 0x20 || u == 0x7f || c == '=' || c == '/' ? '_' : c;
    }
    if (name.empty())
      name = "_";
    if (name.size() > 256)
      name.resize(240); // room for a "_2" that keeps it unique
    std::string unique = name;
    for (int k = 2; taken_.count(unique); ++k)
      unique = name + "_" + std::to_string(k);
    taken_.insert(unique);
    return given_[onnxName] = unique;
  }

private:
  std::map<std::string, std::string> given_;
  std::set<std::string> taken_;
};

constexpr uint64_t kMaxOnnxFileBytes = uint64_t(4) << 30; // protobuf's own limit is 2 GiB

} // namespace

Result<std::unique_ptr<Graph>> importOnnx(const std::string &path, const OnnxImportOptions &options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return Error{path + ": cannot open" + (fs::is_directory(path, ec) ? std::string(" (a directory)") : "")};
  if (fs::file_size(path, ec) > kMaxOnnxFileBytes)
    return Error{path + ": larger than an ONNX file may be"};
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto model;
  if (!in || !model.ParseFromIstream(&in))
    return Error{path + ": not an ONNX model (cannot parse a ModelProto)"};
  const std::string modelDir = fs::path(path).parent_path().string();
  int64_t opset = -1;
  for (const onnx::OperatorSetIdProto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = o.version();
  if (opset < 0)
    return Error{path + ": the model imports no version of the default ONNX domain (opset_import)"};
  if (opset < 7)
    return Error{path + ": opset " + std::to_string(opset) + " is older than kiln reads (7 and later)"};
  const onnx::GraphProto &graph = model.graph();

  Names names;
  std::string graphName = graph.name().empty() ? "main" : names(graph.name());
  auto g = std::make_unique<Graph>(graphName);
  Graph::Impl &impl = g->impl();
  std::map<std::string, Tensor> values;
  std::map<std::string, HostTensor> known;
  auto fileError = [&](const std::string &message) -> Error { return Error{path + ": error: " + message}; };

  std::set<std::string> initializers;
  for (const onnx::TensorProto &t : graph.initializer())
    initializers.insert(t.name());
  // Inputs and initializers are located at the file (line 0: before the nodes).
  impl.sourceOverride = mlir::FileLineColLoc::get(&impl.ctx, path, 0, 0);
  impl.sourceOverrideText = path;

  // Inputs (an initializer listed among them, as IR version 3 did, is not one).
  for (const onnx::ValueInfoProto &v : graph.input()) {
    if (initializers.count(v.name()))
      continue;
    if (auto bound = options.inputValues.find(v.name()); bound != options.inputValues.end()) {
      values[v.name()] = g->constant(bound->second);
      known.insert_or_assign(v.name(), bound->second);
      continue;
    }
    if (!v.type().has_tensor_type())
      return fileError("input \"" + v.name() + "\" is not a tensor (sequences and maps are not supported)");
    const onnx::TypeProto::Tensor &type = v.type().tensor_type();
    std::optional<DType> dtype = dtypeOf(type.elem_type());
    if (!dtype)
      return fileError("input \"" + v.name() + "\" is " + onnxTypeName(type.elem_type()) +
                       ": kiln has float, double, int32, int64 and bool tensors");
    Shape shape;
    auto given = options.shapes.find(v.name());
    if (given != options.shapes.end()) {
      shape = given->second;
    } else {
      if (!type.has_shape())
        return fileError("input \"" + v.name() + "\" has no shape in the file: give it (--shape " + v.name() +
                         "=DIMS)");
      for (const onnx::TensorShapeProto::Dimension &d : type.shape().dim()) {
        if (!d.has_dim_value())
          return fileError("input \"" + v.name() + "\" has a symbolic dimension \"" + d.dim_param() +
                           "\": give its shape (--shape " + v.name() + "=DIMS)");
        shape.push_back(d.dim_value());
      }
    }
    values[v.name()] = g->input(names(v.name()), shape, *dtype);
  }

  // Initializers: float ones are parameters (trainable, PyTorch's names
  // mangled), others constants; integer values are also known here.
  for (const onnx::TensorProto &t : graph.initializer()) {
    auto value = readTensor(t, modelDir);
    if (!value)
      return fileError("initializer \"" + t.name() + "\": " + value.error());
    bool isFloat = value->dtype() == DType::f32 || value->dtype() == DType::f64;
    if (isFloat && !options.initializersAsConstants) {
      DType dtype = value->dtype();
      Shape shape = value->shape();
      values[t.name()] = g->param(names(t.name()), shape, tensorInit(std::move(*value)), dtype);
    } else {
      values[t.name()] = g->constant(*value);
      if (!isFloat || value->size() <= 64)
        known.emplace(t.name(), std::move(*value));
    }
  }
  if (Status s = g->status(); !s)
    return Error{s.error()};

  // The nodes, each located at itself.
  for (int k = 0; k < graph.node_size(); ++k) {
    const onnx::NodeProto &proto = graph.node(k);
    std::string label = (proto.name().empty() ? "#" + std::to_string(k) : proto.name()) + " (" + proto.op_type() + ")";
    impl.sourceOverride = mlir::NameLoc::get(mlir::StringAttr::get(&impl.ctx, label),
                                             mlir::FileLineColLoc::get(&impl.ctx, path, unsigned(k + 1), 1));
    impl.sourceOverrideText = path + ":" + std::to_string(k + 1) + ":1: node \"" + proto.name() + "\" (" +
                              proto.op_type() + ")";
    auto nodeError = [&](const std::string &message) -> Error {
      return Error{impl.sourceOverrideText + ": error: " + message};
    };
    if (!proto.domain().empty() && proto.domain() != "ai.onnx")
      return nodeError("domain \"" + proto.domain() + "\" is not supported (only the default ONNX domain)");
    Node node{proto, opset, *g, modelDir, {}, {}, {}, {}, {}};
    for (const std::string &name : proto.input()) {
      if (name.empty()) {
        node.inputs.emplace_back();
        node.known.push_back(nullptr);
        continue;
      }
      auto it = values.find(name);
      if (it == values.end())
        return nodeError("input \"" + name + "\" is not defined before this node");
      node.inputs.push_back(it->second);
      auto kv = known.find(name);
      node.known.push_back(kv == known.end() ? nullptr : &kv->second);
    }
    // Shape arithmetic on known values is computed here; the rest converted.
    bool allKnown = !node.known.empty() && std::all_of(node.known.begin(), node.known.end(),
                                                       [](const HostTensor *k) { return k != nullptr; });
    bool folded = allKnown && foldKnownValues(node);
    Converter convert = converterFor(proto.op_type());
    if (!folded && !convert)
      return nodeError("op " + proto.op_type() + " (domain ai.onnx, opset " + std::to_string(opset) +
                       ") is not supported by kiln's importer (docs/onnx.md lists the ops)");
    if (!folded && !convert(node))
      return nodeError(node.error);
    if (Status s = g->status(); !s)
      return Error{s.error()};
    for (int i = 0; i < proto.output_size(); ++i) {
      const std::string &name = proto.output(i);
      if (name.empty())
        continue;
      if (size_t(i) >= node.outputs.size() || !node.outputs[size_t(i)].valid())
        return nodeError("output #" + std::to_string(i) + " (\"" + name + "\") is not supported");
      values[name] = node.outputs[size_t(i)];
      if (node.knownOutputs[size_t(i)])
        known.insert_or_assign(name, std::move(*node.knownOutputs[size_t(i)]));
    }
  }
  impl.sourceOverride.reset();

  for (const onnx::ValueInfoProto &v : graph.output()) {
    auto it = values.find(v.name());
    if (it == values.end())
      return fileError("output \"" + v.name() + "\" is not computed by any node");
    g->output(it->second, names(v.name()));
  }
  if (graph.output_size() == 0)
    return fileError("the graph has no outputs");
  if (Status s = g->status(); !s)
    return Error{s.error()};
  return g;
}

} // namespace kiln
