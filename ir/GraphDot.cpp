//===- GraphDot.cpp - the nn graph as a Graphviz picture -----------------===//
//
// Inputs are blue ellipses, parameters yellow 3-D boxes, constants grey
// boxes, ops white rounded boxes and outputs green double octagons; an
// nn.scan's body is a dashed cluster beside the scan's node. (Fused kernels,
// once they exist, will be drawn as clusters around their ops.)
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

namespace {

/// Writes ops block by block; an nn.scan's body is a cluster of its own
/// (its arguments fed by the scan's operands, its yield feeding the scan).
struct DotWriter {
  DotWriter(llvm::raw_ostream &os, llvm::function_ref<void(llvm::StringRef, Location)> onNode)
      : os(os), onNode(onNode) {}
  llvm::raw_ostream &os;
  llvm::function_ref<void(llvm::StringRef, Location)> onNode;
  llvm::DenseMap<Value, std::string> node;
  int opIndex = 0;

  std::string opNode(Operation &op, const std::string &indent) {
    std::string id = "op" + std::to_string(opIndex++);
    StringRef name = op.getName().getStringRef();
    bool isConstant = isa<ConstantOp>(op);
    os << indent << id << " [";
    if (onNode) {
      os << "id=\"" << id << "\", ";
      onNode(id, op.getLoc());
    }
    os << "label=\"" << escape(name.starts_with("nn.") ? name.drop_front(3) : name);
    for (Value r : op.getResults())
      os << "\\n" << typeLabel(r.getType());
    os << "\", tooltip=\"" << escape(name) << " at " << escape(locationText(op.getLoc())) << "\", "
       << (isConstant ? "shape=box, style=filled, fillcolor=\"#e0e0e0\""
                      : "shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"")
       << "];\n";
    return id;
  }

  void edgesInto(Operation &op, const std::string &id, const std::string &indent) {
    for (Value operand : op.getOperands())
      if (node.count(operand))
        os << indent << node.lookup(operand) << " -> " << id << ";\n";
  }

  void scan(ScanOp op, const std::string &indent) {
    std::string id = opNode(*op, indent);
    Block &body = op.getBody().front();
    os << indent << "subgraph cluster_" << id << " {\n"
       << indent << "  label=\"scan body: " << op.getLength() << " steps" << (op.getReverse() ? ", reversed" : "")
       << "\"; style=\"rounded,dashed\"; color=\"#888888\"; fontname=\"Helvetica\"; fontsize=10;\n";
    unsigned carries = op.getInits().size(), xs = op.getXs().size();
    for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
      std::string argId = id + "_arg" + std::to_string(i);
      std::string what = i < carries ? "carry #" + std::to_string(i)
                         : i < carries + xs ? "row of input #" + std::to_string(i - carries)
                                            : "const #" + std::to_string(i - carries - xs);
      os << indent << "  " << argId << " [label=\"" << what << "\\n" << typeLabel(arg.getType())
         << "\", shape=ellipse, style=filled, fillcolor=\"#eeeeee\"];\n";
      if (node.count(op->getOperand(i)))
        os << indent << "  " << node.lookup(op->getOperand(i)) << " -> " << argId << " [style=dashed];\n";
      node[arg] = argId;
    }
    block(body, indent + "  ");
    std::string yieldId = id + "_yield";
    os << indent << "  " << yieldId << " [label=\"yield: next carries, step outputs\", shape=plain];\n";
    edgesInto(*body.getTerminator(), yieldId, indent + "  ");
    os << indent << "}\n" << indent << yieldId << " -> " << id << " [style=dashed];\n";
    for (Value r : op->getResults())
      node[r] = id;
  }

  void block(Block &b, const std::string &indent) {
    for (Operation &op : b) {
      if (op.hasTrait<OpTrait::IsTerminator>())
        continue;
      if (auto loop = dyn_cast<ScanOp>(op)) {
        scan(loop, indent);
        continue;
      }
      std::string id = opNode(op, indent);
      for (Value r : op.getResults())
        node[r] = id;
      edgesInto(op, id, indent);
    }
  }
};

} // namespace

void writeGraphDot(func::FuncOp func, llvm::raw_ostream &os,
                   llvm::function_ref<void(llvm::StringRef id, Location)> onNode) {
  DotWriter w(os, onNode);
  os << "digraph \"" << escape(func.getSymName()) << "\" {\n"
     << "  rankdir=TB;\n"
     << "  node [fontname=\"Helvetica\", fontsize=10];\n"
     << "  edge [color=\"#555555\"];\n";
  auto sig = readSignature(func);
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    Value arg = func.getArgument(i);
    std::string id = "arg" + std::to_string(i);
    w.node[arg] = id;
    bool param = func.getArgAttr(i, kParamAttr) != nullptr;
    std::string name = succeeded(sig) ? sig->args[i].name : id;
    os << "  " << id << " [";
    if (onNode) {
      os << "id=\"" << id << "\", ";
      onNode(id, arg.getLoc());
    }
    os << "label=\"" << (param ? "param " : "input ") << escape(name) << "\\n"
       << typeLabel(arg.getType()) << "\", tooltip=\"" << escape(locationText(arg.getLoc()))
       << "\", "
       << (param ? "shape=box3d, style=filled, fillcolor=\"#fff2b3\""
                 : "shape=ellipse, style=filled, fillcolor=\"#cfe2ff\"")
       << "];\n";
  }
  Block &body = func.getBody().front();
  w.block(body, "  ");
  if (auto ret = dyn_cast<func::ReturnOp>(body.getTerminator()))
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      std::string id = "out" + std::to_string(i);
      std::string name = succeeded(sig) ? sig->results[i].name : id;
      os << "  " << id << " [label=\"output " << escape(name) << "\\n" << typeLabel(v.getType())
         << "\", shape=doubleoctagon, style=filled, fillcolor=\"#c8f7c5\"];\n";
      os << "  " << w.node.lookup(v) << " -> " << id << ";\n";
    }
  os << "}\n";
}

} // namespace kiln::nn
