//===- GraphDot.cpp - the nn graph as a Graphviz picture -----------------===//
//
// Inputs are blue ellipses, parameters yellow 3-D boxes, constants grey
// boxes, ops white rounded boxes and outputs green double octagons. (Fused
// kernels, once they exist, will be drawn as clusters around their ops.)
//
//===----------------------------------------------------------------------===//
#include "ir/GraphDot.h"
#include "ir/Dialect.h"
#include "ir/ShapeRules.h"
#include "ir/Signature.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace kiln::nn {

static std::string escape(StringRef s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

static std::string typeLabel(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  if (!rt)
    return escape(shapeString(t));
  std::string s;
  llvm::raw_string_ostream os(s);
  os << rt.getElementType() << "[";
  for (int64_t i = 0; i < rt.getRank(); ++i)
    os << (i ? ", " : "") << rt.getDimSize(i);
  os << "]";
  return s;
}

static std::string locationText(Location loc) {
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return (file.getFilename().getValue() + ":" + Twine(file.getLine()) + ":" +
            Twine(file.getColumn()))
        .str();
  if (auto fused = dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
    return locationText(fused.getLocations().front());
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  return "unknown location";
}

void writeGraphDot(func::FuncOp func, llvm::raw_ostream &os) {
  llvm::DenseMap<Value, std::string> node;
  os << "digraph \"" << escape(func.getSymName()) << "\" {\n"
     << "  rankdir=TB;\n"
     << "  node [fontname=\"Helvetica\", fontsize=10];\n"
     << "  edge [color=\"#555555\"];\n";
  auto sig = readSignature(func);
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    Value arg = func.getArgument(i);
    std::string id = "arg" + std::to_string(i);
    node[arg] = id;
    bool param = func.getArgAttr(i, kParamAttr) != nullptr;
    std::string name = succeeded(sig) ? sig->args[i].name : id;
    os << "  " << id << " [label=\"" << (param ? "param " : "input ") << escape(name) << "\\n"
       << typeLabel(arg.getType()) << "\", tooltip=\"" << escape(locationText(arg.getLoc()))
       << "\", "
       << (param ? "shape=box3d, style=filled, fillcolor=\"#fff2b3\""
                 : "shape=ellipse, style=filled, fillcolor=\"#cfe2ff\"")
       << "];\n";
  }
  int opIndex = 0;
  for (Operation &op : func.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        std::string id = "out" + std::to_string(i);
        std::string name = succeeded(sig) ? sig->results[i].name : id;
        os << "  " << id << " [label=\"output " << escape(name) << "\\n"
           << typeLabel(v.getType())
           << "\", shape=doubleoctagon, style=filled, fillcolor=\"#c8f7c5\"];\n";
        os << "  " << node.lookup(v) << " -> " << id << ";\n";
      }
      continue;
    }
    std::string id = "op" + std::to_string(opIndex++);
    for (Value r : op.getResults())
      node[r] = id;
    StringRef name = op.getName().getStringRef();
    bool isConstant = isa<ConstantOp>(op);
    os << "  " << id << " [label=\"" << escape(name.starts_with("nn.") ? name.drop_front(3) : name);
    for (Value r : op.getResults())
      os << "\\n" << typeLabel(r.getType());
    os << "\", tooltip=\"" << escape(name) << " at " << escape(locationText(op.getLoc())) << "\", "
       << (isConstant ? "shape=box, style=filled, fillcolor=\"#e0e0e0\""
                      : "shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"")
       << "];\n";
    for (Value operand : op.getOperands())
      if (node.count(operand))
        os << "  " << node.lookup(operand) << " -> " << id << ";\n";
  }
  os << "}\n";
}

} // namespace kiln::nn
