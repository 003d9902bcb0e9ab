//===- AttentionMaps.cpp - which positions attend to which ---------------===//
#include "report/AttentionMaps.h"
#include "ir/Dialect.h"

#include "llvm/ADT/DenseMap.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace kiln::report {

namespace {

constexpr size_t kMaxMaps = 32;      // per report: enough for a few layers' heads
constexpr int64_t kMaxPositions = 256; // per side; longer maps keep the last ones

/// The value of `t` (broadcast, right-aligned) at the index `index` of a
/// tensor of shape `shape`.
double broadcastAt(const nn::RefTensor &t, const std::vector<int64_t> &shape, const std::vector<int64_t> &index) {
  int64_t offset = 0, stride = 1;
  size_t rank = t.shape.size();
  for (size_t d = 0; d < rank; ++d) {
    size_t from = rank - 1 - d, at = shape.size() - 1 - d;
    int64_t i = t.shape[from] == 1 ? 0 : index[at];
    offset += i * stride;
    stride *= t.shape[from];
  }
  return t.data[offset];
}

/// softmax(scale q k^T + bias) over the keys that take part, for the
/// leading index `lead` (flattened) of an nn.attention.
std::vector<double> attentionProbabilities(nn::AttentionOp op, ArrayRef<const nn::RefTensor *> operands,
                                           int64_t lead) {
  const nn::RefTensor &q = *operands[0], &k = *operands[1];
  size_t rank = q.shape.size();
  int64_t lq = q.shape[rank - 2], d = q.shape[rank - 1], lk = k.shape[rank - 2];
  const nn::RefTensor *mask = op.getMask() ? operands[3] : nullptr;
  const nn::RefTensor *bias = op.getBias() ? operands[op.getMask() ? 4 : 3] : nullptr;
  double scale = op.getScaleValue();
  std::vector<int64_t> shape(q.shape.begin(), q.shape.end() - 2), index(rank);
  shape.push_back(lq);
  shape.push_back(lk);
  int64_t rest = lead;
  for (int64_t dim = int64_t(rank) - 3; dim >= 0; --dim) {
    index[dim] = rest % shape[dim];
    rest /= shape[dim];
  }
  std::vector<double> p(lq * lk);
  for (int64_t i = 0; i < lq; ++i) {
    double top = -std::numeric_limits<double>::infinity();
    std::vector<bool> takesPart(lk, true);
    for (int64_t j = 0; j < lk; ++j) {
      index[rank - 2] = i;
      index[rank - 1] = j;
      double s = 0;
      for (int64_t c = 0; c < d; ++c)
        s += q.data[(lead * lq + i) * d + c] * k.data[(lead * lk + j) * d + c];
      s *= scale;
      if (bias)
        s += broadcastAt(*bias, shape, index);
      takesPart[j] = !(op.getCausal() && j > i + (lk - lq)) && !(mask && broadcastAt(*mask, shape, index) == 0) &&
                     s != -std::numeric_limits<double>::infinity();
      p[i * lk + j] = s;
      if (takesPart[j])
        top = std::max(top, s);
    }
    double sum = 0;
    for (int64_t j = 0; j < lk; ++j)
      sum += p[i * lk + j] = takesPart[j] ? std::exp(p[i * lk + j] - top) : 0;
    for (int64_t j = 0; j < lk; ++j)
      p[i * lk + j] = sum > 0 ? p[i * lk + j] / sum : 0;
  }
  return p;
}

std::string place(Operation *op) {
  std::string s = op->getName().getStringRef().str();
  Location loc = op->getLoc();
  while (auto named = dyn_cast<NameLoc>(loc))
    loc = named.getChildLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
    loc = fused.getLocations().front();
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    s += " at " + file.getFilename().str() + ":" + std::to_string(file.getLine()) + ":" +
         std::to_string(file.getColumn());
  return s;
}

/// Adds the maps of one attention: `heads` maps of lq x lk taken from
/// `probabilities(h)` (the first batch item's head h), then their mean.
template <typename Probabilities>
void addMaps(Operation *op, int64_t heads, int64_t lq, int64_t lk, Probabilities probabilities,
             SourceIndex &sources, ReportData &data) {
  if (data.attention.size() >= kMaxMaps)
    return;
  int64_t rows = std::min(lq, kMaxPositions), cols = std::min(lk, kMaxPositions);
  int64_t skipRows = lq - rows, skipCols = lk - cols;
  std::vector<double> mean(rows * cols, 0);
  std::vector<AttentionMap> maps;
  for (int64_t h = 0; h < heads; ++h) {
    std::vector<double> p = probabilities(h);
    AttentionMap m;
    m.title = place(op) + (heads > 1 ? ", head " + std::to_string(h) : "");
    m.sources = sources.linesOf(op->getLoc());
    m.rows = rows;
    m.cols = cols;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        double w = p[(i + skipRows) * lk + j + skipCols];
        m.weights.push_back(float(w));
        mean[i * cols + j] += w / double(heads);
      }
    maps.push_back(std::move(m));
  }
  if (heads > 1) {
    AttentionMap m = maps.front();
    m.title = place(op) + ", mean of " + std::to_string(heads) + " heads";
    for (size_t i = 0; i < mean.size(); ++i)
      m.weights[i] = float(mean[i]);
    maps.insert(maps.begin(), std::move(m)); // the summary first
  }
  for (AttentionMap &m : maps)
    if (data.attention.size() < kMaxMaps)
      data.attention.push_back(std::move(m));
}

/// The heads of the first batch item: the dimension before the last two
/// when the rank is 4 or more, else one.
int64_t headsOf(const std::vector<int64_t> &shape) {
  return shape.size() >= 4 ? shape[shape.size() - 3] : 1;
}

} // namespace

bool computeAttentionMaps(func::FuncOp func, const std::vector<nn::RefTensor> &args, SourceIndex &sources,
                          ReportData &data, std::string &why) {
  bool any = false;
  llvm::DenseMap<Operation *, std::vector<std::vector<double>>> stepRows;
  std::vector<Operation *> stepOrder;
  func.walk([&](Operation *op) {
    if (isa<nn::AttentionOp>(op) || (isa<nn::SoftmaxOp>(op) && op->getParentOfType<nn::ScanOp>()))
      any = true;
    if (auto softmax = dyn_cast<nn::SoftmaxOp>(op))
      for (Operation *user : softmax->getUsers())
        if (auto mm = dyn_cast<nn::MatmulOp>(user); mm && mm->getOperand(0) == softmax.getResult())
          any = true;
  });
  if (!any)
    return true;
  auto observe = [&](Operation *op, ArrayRef<const nn::RefTensor *> operands, ArrayRef<nn::RefTensor *> results) {
    if (auto attention = dyn_cast<nn::AttentionOp>(op)) {
      const auto &qShape = operands[0]->shape, &kShape = operands[1]->shape;
      if (qShape.size() < 2)
        return;
      int64_t lq = qShape[qShape.size() - 2], lk = kShape[kShape.size() - 2], heads = headsOf(qShape);
      addMaps(op, heads, lq, lk, [&](int64_t h) { return attentionProbabilities(attention, operands, h); },
              sources, data);
      return;
    }
    auto softmax = dyn_cast<nn::SoftmaxOp>(op);
    if (!softmax || results.empty())
      return;
    if (op->getParentOfType<nn::ScanOp>()) {
      // A recurrent body's softmax (a decoder attending to the source): one
      // row per step, the first batch item's distribution.
      const auto &shape = results[0]->shape;
      int64_t axis = softmax.getAxis(), rank = int64_t(shape.size());
      if (rank >= 1 && (axis == -1 || axis == rank - 1)) {
        if (!stepRows.count(op))
          stepOrder.push_back(op);
        auto &rows = stepRows[op];
        if (int64_t(rows.size()) < kMaxPositions)
          rows.emplace_back(results[0]->data.begin(), results[0]->data.begin() + shape.back());
      }
      return;
    }
    bool weighsValues = false;
    for (Operation *user : softmax->getUsers())
      if (auto mm = dyn_cast<nn::MatmulOp>(user); mm && mm->getOperand(0) == softmax.getResult())
        weighsValues = true;
    const auto &shape = results[0]->shape;
    int64_t rank = int64_t(shape.size());
    if (!weighsValues || rank < 2 || (int64_t(softmax.getAxis()) != -1 && int64_t(softmax.getAxis()) != rank - 1))
      return;
    int64_t lq = shape[rank - 2], lk = shape[rank - 1], heads = headsOf(shape);
    const std::vector<double> &all = results[0]->data;
    addMaps(op, heads, lq, lk,
            [&](int64_t h) {
              return std::vector<double>(all.begin() + h * lq * lk, all.begin() + (h + 1) * lq * lk);
            },
            sources, data);
  };
  try {
    if (failed(nn::interpret(func, args, observe, /*observeScanBodies=*/true))) {
      why = "the reference interpreter failed on this model";
      return false;
    }
  } catch (const std::bad_alloc &) {
    why = "the reference interpreter ran out of memory (it holds every tensor in double precision)";
    return false;
  }
  for (Operation *op : stepOrder) {
    const auto &rows = stepRows[op];
    int64_t steps = int64_t(rows.size()), cols = int64_t(rows.front().size());
    std::vector<double> all;
    for (const auto &row : rows)
      all.insert(all.end(), row.begin(), row.end());
    size_t before = data.attention.size();
    addMaps(op, 1, steps, cols, [&](int64_t) { return all; }, sources, data);
    if (data.attention.size() > before) {
      data.attention.back().title += ", one row per step of the scan";
      data.attention.back().perStep = true;
    }
  }
  return true;
}

} // namespace kiln::report
