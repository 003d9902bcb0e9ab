//===- GraphSvg.cpp - the nn graph as an inline SVG picture --------------===//
//
// Graphviz's `dot` draws the best pictures, so it is used when installed
// (from the same DOT text as `kiln graph`). Without it, kiln lays the graph
// out itself: each node on the layer one below its deepest operand, the
// nodes of a layer ordered by the mean position of their operands (a few
// sweeps of the barycentre heuristic) and edges drawn as curves. An
// nn.scan is one node there (dot draws its body as a cluster).
//
//===----------------------------------------------------------------------===//
#include "report/GraphSvg.h"
#include "ir/Dialect.h"
#include "ir/GraphDot.h"
#include "ir/Signature.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace mlir;

namespace kiln::report {

namespace {

std::string xmlEscape(llvm::StringRef s) {
  std::string out;
  for (char c : s)
    out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : std::string(1, c);
  return out;
}

std::string typeLabel(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto rt = dyn_cast<RankedTensorType>(t)) {
    os << rt.getElementType() << "[";
    for (int64_t i = 0; i < rt.getRank(); ++i)
      os << (i ? "," : "") << rt.getDimSize(i);
    os << "]";
  } else {
    os << t;
  }
  return s;
}

struct Node {
  std::string id, title, subtitle, kind; // kind: input, param, const, op, output
  std::vector<int> preds, succs;
  int layer = 0;
  double order = 0, x = 0, y = 0, width = 0;
};

constexpr double kHeight = 34, kLayerGap = 40, kNodeGap = 14, kCharWidth = 6.6, kMargin = 10;

/// kiln's own layered layout.
std::string layeredSvg(std::vector<Node> &nodes) {
  int layers = 0;
  for (Node &n : nodes) { // program order is a topological order
    for (int p : n.preds)
      n.layer = std::max(n.layer, nodes[p].layer + 1);
    layers = std::max(layers, n.layer + 1);
  }
  // Inputs and parameters sit just above their first user, not all on top.
  for (Node &n : nodes)
    if (!n.succs.empty() && n.preds.empty()) {
      int first = layers;
      for (int s : n.succs)
        first = std::min(first, nodes[s].layer);
      n.layer = std::max(0, first - 1);
    }
  std::vector<std::vector<int>> byLayer(layers);
  for (size_t i = 0; i < nodes.size(); ++i)
    byLayer[nodes[i].layer].push_back(int(i));
  auto renumber = [&](std::vector<int> &layer) {
    for (size_t k = 0; k < layer.size(); ++k)
      nodes[layer[k]].order = double(k);
  };
  for (auto &layer : byLayer)
    renumber(layer);
  auto sweep = [&](std::vector<int> &layer, bool down) {
    for (int i : layer) {
      const auto &near = down ? nodes[i].preds : nodes[i].succs;
      if (near.empty())
        continue;
      double sum = 0;
      for (int j : near)
        sum += nodes[j].order;
      nodes[i].order = sum / double(near.size());
    }
    // Ties keep their previous order (std::sort with the old place as key:
    // libstdc++'s stable_sort uses a deprecated buffer).
    std::vector<std::pair<double, size_t>> keyed;
    for (size_t k = 0; k < layer.size(); ++k)
      keyed.emplace_back(nodes[layer[k]].order, k);
    std::sort(keyed.begin(), keyed.end());
    std::vector<int> sorted;
    for (const auto &entry : keyed)
      sorted.push_back(layer[entry.second]);
    layer = std::move(sorted);
    renumber(layer);
  };
  for (int round = 0; round < 4; ++round) {
    for (int l = 1; l < layers; ++l)
      sweep(byLayer[l], true);
    for (int l = layers - 2; l >= 0; --l)
      sweep(byLayer[l], false);
  }
  double totalWidth = 0;
  std::vector<double> layerWidth(layers, 0);
  for (Node &n : nodes)
    n.width = 16 + kCharWidth * double(std::max(n.title.size(), n.subtitle.size()));
  for (int l = 0; l < layers; ++l) {
    for (int i : byLayer[l])
      layerWidth[l] += nodes[i].width + kNodeGap;
    totalWidth = std::max(totalWidth, layerWidth[l]);
  }
  for (int l = 0; l < layers; ++l) {
    double x = kMargin + (totalWidth - layerWidth[l]) / 2;
    for (int i : byLayer[l]) {
      nodes[i].x = x;
      nodes[i].y = kMargin + l * (kHeight + kLayerGap);
      x += nodes[i].width + kNodeGap;
    }
  }
  double width = totalWidth + 2 * kMargin, height = layers * (kHeight + kLayerGap) - kLayerGap + 2 * kMargin;
  std::ostringstream svg;
  svg << "<svg class=\"k-graph\" viewBox=\"0 0 " << width << " " << height << "\" width=\"" << width
      << "\" height=\"" << height << "\">\n"
      << "<defs><marker id=\"k-arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" "
         "markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#777\"/></marker></defs>\n"
      << "<g class=\"k-edges\" fill=\"none\" stroke=\"#777\" marker-end=\"url(#k-arrow)\">\n";
  for (const Node &n : nodes)
    for (int s : n.succs) {
      const Node &m = nodes[s];
      double x1 = n.x + n.width / 2, y1 = n.y + kHeight, x2 = m.x + m.width / 2, y2 = m.y;
      double bend = std::max(20.0, (y2 - y1) / 2);
      svg << "<path d=\"M" << x1 << "," << y1 << " C" << x1 << "," << y1 + bend << " " << x2 << ","
          << y2 - bend << " " << x2 << "," << y2 << "\"/>\n";
    }
  svg << "</g>\n";
  for (const Node &n : nodes) {
    svg << "<g class=\"node k-" << n.kind << "\" id=\"" << n.id << "\"><title>" << xmlEscape(n.title) << " "
        << xmlEscape(n.subtitle) << "</title><rect x=\"" << n.x << "\" y=\"" << n.y << "\" width=\"" << n.width
        << "\" height=\"" << kHeight << "\" rx=\"5\"/>"
        << "<text x=\"" << n.x + n.width / 2 << "\" y=\"" << n.y + 14 << "\">" << xmlEscape(n.title) << "</text>"
        << "<text class=\"k-type\" x=\"" << n.x + n.width / 2 << "\" y=\"" << n.y + 28 << "\">"
        << xmlEscape(n.subtitle) << "</text></g>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

/// Graphviz's picture of `dot`, or "" with `why` set.
std::string dotSvg(const std::string &dot, std::string &why) {
  auto program = llvm::sys::findProgramByName("dot");
  if (!program) {
    why = "Graphviz's dot is not installed";
    return "";
  }
  llvm::SmallString<128> in, out;
  if (llvm::sys::fs::createTemporaryFile("kiln-report", "dot", in) ||
      llvm::sys::fs::createTemporaryFile("kiln-report", "svg", out)) {
    why = "cannot create a temporary file for dot";
    return "";
  }
  { std::ofstream(in.str().str()) << dot; }
  std::string message;
  llvm::StringRef argv[] = {*program, "-Tsvg", in.str(), "-o", out.str()};
  int rc = llvm::sys::ExecuteAndWait(*program, argv, std::nullopt, {}, /*SecondsToWait=*/30, 0, &message);
  std::ifstream file(out.str().str());
  std::string svg((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  llvm::sys::fs::remove(in);
  llvm::sys::fs::remove(out);
  size_t start = svg.find("<svg");
  if (rc != 0 || start == std::string::npos) {
    why = "dot failed" + (message.empty() ? "" : ": " + message);
    return "";
  }
  // Inline SVG needs no namespace declarations (and the page names no URL).
  svg = svg.substr(start);
  for (const char *attr : {" xmlns=\"http://www.w3.org/2000/svg\"", " xmlns:xlink=\"http://www.w3.org/1999/xlink\""})
    if (size_t at = svg.find(attr); at != std::string::npos)
      svg.erase(at, std::strlen(attr));
  return svg;
}

} // namespace

void drawGraph(func::FuncOp func, const std::string &layout, SourceIndex &sources, ReportData &data) {
  constexpr size_t kMaxNodes = 4000;
  // dot's layout takes minutes on graphs of a few hundred nodes (a 12-layer
  // GPT's 600): "auto" leaves those to kiln's.
  constexpr int64_t kMaxAutoDotOps = 300;
  int64_t ops = int64_t(func.getBody().front().getOperations().size());
  if (layout == "dot" || (layout == "auto" && ops <= kMaxAutoDotOps)) {
    std::string dot, why;
    llvm::raw_string_ostream os(dot);
    std::vector<std::pair<std::string, std::vector<SourceLine>>> nodes;
    nn::writeGraphDot(func, os, [&](llvm::StringRef id, Location loc) {
      nodes.emplace_back(id.str(), sources.linesOf(loc));
    });
    if (nodes.size() > kMaxNodes) {
      data.notes.push_back("the graph has " + std::to_string(nodes.size()) + " nodes: no picture beyond " +
                           std::to_string(kMaxNodes));
      return;
    }
    std::string svg = dotSvg(dot, why);
    if (!svg.empty()) {
      data.graphSvg = svg;
      data.graphLayout = "dot";
      data.graphNodes = std::move(nodes);
      return;
    }
    if (layout == "dot" || why != "Graphviz's dot is not installed")
      data.notes.push_back("no graph from dot (" + why + "); kiln drew it");
  }

  // kiln's layout: arguments, the body's top-level ops (a scan as one
  // node), outputs.
  std::vector<Node> nodes;
  llvm::DenseMap<Value, int> producer;
  auto sig = nn::readSignature(func);
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    bool param = func.getArgAttr(i, nn::kParamAttr) != nullptr;
    Node n;
    n.id = "arg" + std::to_string(i);
    n.kind = param ? "param" : "input";
    n.title = (param ? "param " : "input ") + (succeeded(sig) ? sig->args[i].name : n.id);
    n.subtitle = typeLabel(func.getArgument(i).getType());
    producer[func.getArgument(i)] = int(nodes.size());
    data.graphNodes.emplace_back(n.id, sources.linesOf(func.getArgument(i).getLoc()));
    nodes.push_back(std::move(n));
  }
  Block &body = func.getBody().front();
  auto link = [&](Value v, int to) {
    auto it = producer.find(v);
    if (it == producer.end())
      return;
    auto &preds = nodes[to].preds;
    if (std::find(preds.begin(), preds.end(), it->second) != preds.end())
      return;
    preds.push_back(it->second);
    nodes[it->second].succs.push_back(to);
  };
  int opIndex = 0;
  for (Operation &op : body) {
    if (nodes.size() > kMaxNodes) {
      data.notes.push_back("the graph has more than " + std::to_string(kMaxNodes) + " nodes: no picture");
      data.graphNodes.clear();
      return;
    }
    Node n;
    int self = int(nodes.size());
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        Node out;
        out.id = "out" + std::to_string(i);
        out.kind = "output";
        out.title = "output " + (succeeded(sig) ? sig->results[i].name : out.id);
        out.subtitle = typeLabel(v.getType());
        nodes.push_back(std::move(out));
        link(v, int(nodes.size()) - 1);
      }
      continue;
    }
    StringRef name = op.getName().getStringRef();
    n.id = "op" + std::to_string(opIndex++);
    n.kind = isa<nn::ConstantOp>(op) ? "const" : "op";
    n.title = name.starts_with("nn.") ? name.drop_front(3).str() : name.str();
    if (auto scan = dyn_cast<nn::ScanOp>(op))
      n.title += " x" + std::to_string(scan.getLength());
    n.subtitle = op.getNumResults() ? typeLabel(op.getResult(0).getType()) : "";
    if (op.getNumResults() > 1)
      n.subtitle += " +" + std::to_string(op.getNumResults() - 1);
    data.graphNodes.emplace_back(n.id, sources.linesOf(op.getLoc()));
    nodes.push_back(std::move(n));
    op.walk([&](Operation *inner) { // a scan's body reads values from outside
      for (Value v : inner->getOperands())
        link(v, self);
    });
    for (Value r : op.getResults())
      producer[r] = self;
  }
  data.graphSvg = layeredSvg(nodes);
  data.graphLayout = "kiln";
}

} // namespace kiln::report
