//===- Check.cpp - the numerics bisector (Function::check, kiln run --check)
//
// One call of the compiled function runs with every kernel's written
// buffers handed to a probe (kiln-profile-kernels with `check`); then the
// reference interpreter runs the module after the grad phase on the same
// arguments. Each buffer holds the value of one nn op among the kernel's
// source ops (the locations the kernel table lists), so after each op the
// reference compares its result with the buffers of the kernels that name
// the op; where one agrees, the reference goes on from the compiled value,
// so that a later kernel is judged on its own work, not on the rounding
// before it. A buffer that agrees with none of its candidates is wrong; the
// first kernel with a wrong buffer is the one to look at.
//
//===----------------------------------------------------------------------===//
#include "api/FunctionImpl.h"

#include "codegen/Compiler.h"
#include "ir/reference/Interpreter.h"
#include "passes/fusion/SourceOps.h"
#include "passes/profile/KernelTable.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>

using namespace mlir;

namespace kiln {

bool KernelCheck::wrong() const {
  for (const CheckedBuffer &b : buffers)
    if (b.verdict == CheckedBuffer::Verdict::Mismatch)
      return true;
  return false;
}

bool KernelCheck::checked() const {
  for (const CheckedBuffer &b : buffers)
    if (b.verdict != CheckedBuffer::Verdict::NoReference)
      return true;
  return false;
}

// 2^10 and 2^7 units in the last place: the compiled code sums in another
// order, in its own precision, with approximated transcendentals; a
// reduction over thousands of terms stays well inside.
double CheckReport::relativeTolerance(bool f64) {
  return 1024 * (f64 ? std::numeric_limits<double>::epsilon() : double(std::numeric_limits<float>::epsilon()));
}
double CheckReport::absoluteTolerance(bool f64) {
  return 128 * (f64 ? std::numeric_limits<double>::epsilon() : double(std::numeric_limits<float>::epsilon()));
}

namespace {

/// One probe of the kernel table: a buffer the kernel wrote.
struct Probe {
  std::string dtype; // f32, f64, i32, i64, i1
  std::vector<int64_t> shape, strides;
  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  size_t elementBytes() const { return dtype == "f64" || dtype == "i64" ? 8 : dtype == "i1" ? 1 : 4; }
};

struct KernelRow {
  int id = 0;
  std::string kind, ops, phase;
  std::vector<std::string> sources;
  std::vector<Probe> probes;
};

Result<std::vector<KernelRow>> readKernelTable(const char *json) {
  if (!json)
    return Error{"this function was compiled without check (CompileOptions::check, --check)"};
  auto parsed = llvm::json::parse(json);
  if (!parsed) {
    std::string why = llvm::toString(parsed.takeError());
    return Error{"the compiled function's kernel table is not JSON (a compiler bug): " + why};
  }
  std::vector<KernelRow> rows;
  const llvm::json::Array *array = parsed->getAsArray();
  if (!array)
    return Error{"the compiled function's kernel table is not a JSON array (a compiler bug)"};
  auto ints = [](const llvm::json::Array *a) {
    std::vector<int64_t> out;
    if (a)
      for (const llvm::json::Value &v : *a)
        out.push_back(v.getAsInteger().value_or(0));
    return out;
  };
  for (const llvm::json::Value &value : *array) {
    const llvm::json::Object *o = value.getAsObject();
    if (!o || !o->getArray("probes"))
      return Error{"the kernel table has no probes (a compiler bug: check was asked for)"};
    KernelRow row;
    row.id = int(o->getInteger("id").value_or(-1));
    row.kind = o->getString("kind").value_or("").str();
    row.ops = o->getString("ops").value_or("").str();
    row.phase = o->getString("phase").value_or("").str();
    if (const llvm::json::Array *sources = o->getArray("sources"))
      for (const llvm::json::Value &s : *sources)
        row.sources.push_back(s.getAsString().value_or("").str());
    for (const llvm::json::Value &p : *o->getArray("probes")) {
      const llvm::json::Object *po = p.getAsObject();
      if (!po)
        return Error{"a probe of the kernel table is not an object (a compiler bug)"};
      row.probes.push_back({po->getString("dtype").value_or("").str(), ints(po->getArray("shape")),
                            ints(po->getArray("strides"))});
      if (row.probes.back().shape.size() != row.probes.back().strides.size())
        return Error{"a probe's shape and strides differ in rank (a compiler bug)"};
    }
    if (row.id != int(rows.size()))
      return Error{"the kernel table's rows are out of order (a compiler bug)"};
    rows.push_back(std::move(row));
  }
  return rows;
}

/// What the probes delivered during the checked call: per kernel and slot,
/// the buffer's elements in row-major order, as doubles.
struct Captures {
  const std::vector<KernelRow> *rows = nullptr;
  std::map<std::pair<int64_t, int64_t>, std::vector<double>> values;
  bool malformed = false;
};

double readElement(const char *p, const std::string &dtype) {
  if (dtype == "f32") {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  if (dtype == "f64") {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  if (dtype == "i32") {
    int32_t v;
    std::memcpy(&v, p, 4);
    return double(v);
  }
  if (dtype == "i64") {
    int64_t v;
    std::memcpy(&v, p, 8);
    return double(v);
  }
  return *p ? 1.0 : 0.0; // i1, one byte
}

void receive(void *user, int64_t kernel, int64_t slot, const void *aligned, int64_t offset) {
  auto &c = *static_cast<Captures *>(user);
  if (kernel < 0 || size_t(kernel) >= c.rows->size() || slot < 0 ||
      size_t(slot) >= (*c.rows)[kernel].probes.size()) {
    c.malformed = true;
    return;
  }
  auto key = std::make_pair(kernel, slot);
  if (c.values.count(key))
    return; // the first call's values
  const Probe &p = (*c.rows)[kernel].probes[slot];
  std::vector<double> out(p.count());
  std::vector<int64_t> index(p.shape.size(), 0);
  const char *base = static_cast<const char *>(aligned);
  for (int64_t i = 0; i < int64_t(out.size()); ++i) {
    int64_t at = offset;
    for (size_t d = 0; d < index.size(); ++d)
      at += index[d] * p.strides[d];
    out[i] = readElement(base + at * int64_t(p.elementBytes()), p.dtype);
    for (size_t d = index.size(); d-- > 0;) // the next index, row-major
      if (++index[d] < p.shape[d])
        break;
      else
        index[d] = 0;
  }
  c.values.emplace(key, std::move(out));
}

std::string typeText(const Probe &p) {
  std::string s = (p.dtype == "i1" ? std::string("bool") : p.dtype) + "[";
  for (size_t i = 0; i < p.shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(p.shape[i]);
  return s + "]";
}

/// How far `got` is from `want`: the worst element by its error over its
/// tolerance (> 1: outside).
struct Comparison {
  double excess = 0;
  int64_t worst = 0;
  double got = 0, want = 0, error = 0, tolerance = 0;
};

/// The largest finite magnitude in `values`.
double largestMagnitude(const std::vector<double> &values) {
  double largest = 0;
  for (double v : values)
    if (std::isfinite(v))
      largest = std::max(largest, std::fabs(v));
  return largest;
}

/// How many times the reference's spread under simulated rounding an
/// element may differ by (see roundingSpread).
constexpr double kRoundingSpread = 16;

/// `scale` is what the absolute tolerance is relative to: the largest
/// magnitude among the op's operands and its result (a sum that cancels to
/// nearly zero is as exact as its terms are large). `noisy` (the reference
/// run with simulated rounding) widens it where the computation amplifies
/// rounding: an Adam update g / (|g| + eps) of a gradient that cancelled to
/// nearly zero is as uncertain as that gradient.
Comparison compare(const std::vector<double> &got, const std::vector<double> &want, const std::string &dtype,
                   double scale, const std::vector<double> *noisy) {
  Comparison c;
  bool isFloat = dtype == "f32" || dtype == "f64";
  // The reference in the buffer's precision: a value beyond f32's range is
  // an infinity there, as the compiled code computes it.
  auto rounded = [&](double w) { return dtype == "f32" ? double(float(w)) : w; };
  double largest = scale;
  if (isFloat)
    for (double w : want)
      if (std::isfinite(rounded(w)))
        largest = std::max(largest, std::fabs(rounded(w)));
  double rel = CheckReport::relativeTolerance(dtype == "f64"), abs = CheckReport::absoluteTolerance(dtype == "f64");
  for (size_t i = 0; i < got.size(); ++i) {
    double g = got[i], w = rounded(want[i]);
    double error, tolerance = isFloat ? rel * std::fabs(w) + abs * largest : 0;
    if (isFloat && noisy && i < noisy->size() && std::isfinite((*noisy)[i] - want[i]))
      tolerance += kRoundingSpread * std::fabs((*noisy)[i] - want[i]);
    if ((std::isnan(g) && std::isnan(w)) || g == w)
      error = 0;
    else if (std::isnan(g) || std::isnan(w) || std::isinf(g) || std::isinf(w))
      error = std::numeric_limits<double>::infinity();
    else
      error = std::fabs(g - w);
    double excess = error == 0 ? 0 : tolerance > 0 ? error / tolerance : std::numeric_limits<double>::infinity();
    if (i == 0 || excess > c.excess)
      c = {excess, int64_t(i), g, w, error, tolerance};
  }
  return c;
}

std::vector<int64_t> unflatten(int64_t i, const std::vector<int64_t> &shape) {
  std::vector<int64_t> at(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    at[d] = shape[d] ? i % shape[d] : 0;
    i = shape[d] ? i / shape[d] : 0;
  }
  return at;
}

/// Whether a buffer of `buffer`'s shape can hold a tensor of `tensor`'s:
/// the same dimensions once those of size 1 are dropped (a reduction kept
/// its axes in one and not the other), or the same count and the same
/// last dimension (a matmul's batch folded into its rows).
bool sameShape(const std::vector<int64_t> &buffer, ArrayRef<int64_t> tensor) {
  std::vector<int64_t> a, b;
  for (int64_t d : buffer)
    if (d != 1)
      a.push_back(d);
  for (int64_t d : tensor)
    if (d != 1)
      b.push_back(d);
  if (a == b)
    return true;
  auto count = [](const std::vector<int64_t> &s) {
    int64_t n = 1;
    for (int64_t d : s)
      n *= d;
    return n;
  };
  return !a.empty() && !b.empty() && a.back() == b.back() && count(a) == count(b);
}

/// Ops lowered through a composite that keeps intermediates of its
/// results' shapes (ir/BatchNormComposite.h).
bool isComposite(Operation *op) { return op->getName().getStringRef() == "nn.batch_norm"; }

/// `t` with its last two dimensions swapped.
std::vector<double> transposeLastTwo(const nn::RefTensor &t) {
  size_t rank = t.shape.size();
  int64_t rows = t.shape[rank - 2], cols = t.shape[rank - 1], matrix = rows * cols;
  std::vector<double> out(t.data.size());
  for (int64_t base = 0; base + matrix <= int64_t(t.data.size()); base += matrix)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        out[base + c * rows + r] = t.data[base + r * cols + c];
  return out;
}

/// The name the kernel table gives an nn op: "nn.add at model.mlir:3:8",
/// as kiln-lower-nn-to-linalg names the ops it makes from it.
std::string sourceName(Operation *op) {
  SmallVector<std::string> names =
      sourceOpList(NameLoc::get(op->getName().getIdentifier(), op->getLoc()));
  return names.empty() ? std::string() : names.front();
}

} // namespace

Result<CheckReport> Function::check(const std::vector<HostTensor> &inputs) {
  if (impl_->referenceModule.empty())
    return Error{"this function was compiled without check (CompileOptions::check, --check)"};
  auto rows = readKernelTable(impl_->jit->profileKernels());
  if (!rows)
    return Error{rows.error()};

  // The arguments as the call sees them, before it runs (a training step
  // updates its parameters in place).
  std::vector<nn::RefTensor> args;
  size_t next = 0;
  for (size_t i = 0; i < impl_->args.size(); ++i) {
    const TensorInfo &info = impl_->args[i];
    const HostTensor *value = info.isParam ? &impl_->paramValues[i] : next < inputs.size() ? &inputs[next++] : nullptr;
    if (!value || value->dtype() != info.dtype || value->shape() != info.shape)
      return Error{run(inputs).error()}; // run() words the mismatch
    nn::RefTensor t{info.shape, std::vector<double>(value->size())};
    for (int64_t k = 0; k < value->size(); ++k)
      t.data[k] = value->at(k);
    args.push_back(std::move(t));
  }

  // 1. The compiled call, every probe captured.
  Captures captures;
  captures.rows = &*rows;
  CheckReport report;
  {
    static std::mutex oneAtATime; // the runtime's receiver is process-wide
    std::lock_guard<std::mutex> lock(oneAtATime);
    kiln_set_check_probe(&receive, &captures);
    auto ran = run(inputs);
    kiln_set_check_probe(nullptr, nullptr);
    if (!ran)
      return Error{ran.error()};
    report.outputs = std::move(*ran);
  }
  if (captures.malformed)
    return Error{"a probe named a kernel or slot the kernel table lacks (a compiler bug)"};

  // 2. The reference, op by op, compared with the buffers of the kernels
  // that name each op.
  ParsedSource parsed(impl_->referenceModule, "<the module after the grad phase>");
  if (!parsed.module)
    return parsed.error("cannot read back the module kept for the check (a compiler bug)");
  auto entry = parsed.module->lookupSymbol<func::FuncOp>(impl_->entryName);
  if (!entry)
    return Error{"the module kept for the check has no @" + impl_->entryName + " (a compiler bug)"};

  struct Candidate {
    int kernel, slot;
  };
  std::map<std::string, std::vector<Candidate>> bySource;
  for (const KernelRow &row : *rows)
    for (const std::string &s : row.sources)
      for (size_t slot = 0; slot < row.probes.size(); ++slot)
        bySource[s].push_back({row.id, int(slot)});

  for (const KernelRow &row : *rows) {
    KernelCheck k{row.id, row.kind, row.ops, row.phase, {}};
    for (size_t slot = 0; slot < row.probes.size(); ++slot) {
      CheckedBuffer b;
      b.slot = int(slot);
      b.type = typeText(row.probes[slot]);
      k.buffers.push_back(b);
    }
    report.kernels.push_back(std::move(k));
  }
  // The reference once with every float result rounded to its dtype and
  // moved by up to one more unit in the last place, at random: how far
  // each value spreads under rounding (a Monte Carlo estimate of its
  // condition, kept per op and result).
  std::map<Operation *, std::vector<std::vector<double>>> noisy;
  {
    std::mt19937_64 rng(20261130);
    std::uniform_real_distribution<double> unit(-1, 1);
    auto jitter = [&](Operation *op, ArrayRef<const nn::RefTensor *>, ArrayRef<nn::RefTensor *> results) {
      auto &kept = noisy[op];
      for (auto [r, result] : llvm::enumerate(results)) {
        Type element = getElementTypeOrSelf(op->getResult(r).getType());
        if (isa<FloatType>(element)) {
          double ulp = element.isF64() ? std::ldexp(1.0, -52) : std::ldexp(1.0, -23);
          for (double &v : result->data)
            v = (element.isF64() ? v : double(float(v))) * (1 + ulp * unit(rng));
        }
        kept.push_back(result->data);
      }
    };
    try {
      if (failed(nn::interpret(entry, args, jitter)))
        return parsed.error("the reference interpreter failed");
    } catch (const std::bad_alloc &) {
      return Error{"the reference interpreter ran out of memory (it holds every tensor in double precision)"};
    }
  }

  // Per buffer: its nearest candidate so far, and whether any candidate
  // was a result of an op that is not a composite.
  std::map<std::pair<int, int>, Comparison> nearest;
  std::set<std::pair<int, int>> plainCandidate;
  // Offers `want` (of `shape`) as what buffer `c` may hold; on a match the
  // reference goes on from the compiled values (`resync`, for results).
  auto consider = [&](const Candidate &c, const std::string &label, const std::vector<double> &want,
                      ArrayRef<int64_t> shape, const std::string &dtype, double scale, std::vector<double> *resync,
                      const std::vector<double> *noisy) {
    const Probe &p = (*rows)[c.kernel].probes[c.slot];
    auto captured = captures.values.find({c.kernel, c.slot});
    CheckedBuffer &b = report.kernels[c.kernel].buffers[c.slot];
    if (b.verdict == CheckedBuffer::Verdict::Match || captured == captures.values.end() || p.dtype != dtype ||
        !sameShape(p.shape, shape) || int64_t(want.size()) != p.count())
      return;
    Comparison cmp = compare(captured->second, want, p.dtype, scale, noisy);
    auto best = nearest.find({c.kernel, c.slot});
    if (best == nearest.end() || cmp.excess < best->second.excess) {
      nearest[{c.kernel, c.slot}] = cmp;
      b.verdict = cmp.excess <= 1 ? CheckedBuffer::Verdict::Match : CheckedBuffer::Verdict::Mismatch;
      b.op = label;
      b.operand = !resync;
      b.maxError = cmp.error;
      b.worstAt = unflatten(cmp.worst, p.shape);
      b.got = cmp.got;
      b.want = cmp.want;
      b.tolerance = cmp.tolerance;
    }
    if (b.verdict == CheckedBuffer::Verdict::Match && resync)
      *resync = captured->second;
  };
  auto observe = [&](Operation *op, ArrayRef<const nn::RefTensor *> operands, ArrayRef<nn::RefTensor *> results) {
    std::string name = sourceName(op);
    auto it = bySource.find(name);
    if (it == bySource.end())
      return;
    double scale = 0;
    for (auto [i, operand] : llvm::enumerate(operands))
      if (isa<FloatType>(getElementTypeOrSelf(op->getOperand(i).getType())))
        scale = std::max(scale, largestMagnitude(operand->data));
    bool composite = isComposite(op);
    for (const Candidate &c : it->second) {
      for (auto [r, result] : llvm::enumerate(results)) {
        auto type = dyn_cast<RankedTensorType>(op->getResult(r).getType());
        if (!type || result->data.empty())
          continue;
        if (!composite && sameShape((*rows)[c.kernel].probes[c.slot].shape, type.getShape()))
          plainCandidate.insert({c.kernel, c.slot});
        const std::vector<double> *noise = nullptr;
        if (auto n = noisy.find(op); n != noisy.end() && r < n->second.size())
          noise = &n->second[r];
        consider(c, name, result->data, type.getShape(), kernelTableDType(type.getElementType()), scale, &result->data,
                 noise);
      }
      // A buffer may be a copy of an operand, as it is or with its last two
      // dimensions swapped (the lowering's transposed operands).
      for (auto [i, operand] : llvm::enumerate(operands)) {
        auto type = dyn_cast<RankedTensorType>(op->getOperand(i).getType());
        if (!type || operand->data.empty())
          continue;
        std::string dtype = kernelTableDType(type.getElementType()), what = "operand #" + std::to_string(i) + " of " + name;
        consider(c, what, operand->data, type.getShape(), dtype, 0, nullptr, nullptr);
        if (type.getRank() >= 2) {
          std::vector<int64_t> swapped(type.getShape().begin(), type.getShape().end());
          std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
          consider(c, what + ", transposed", transposeLastTwo(*operand), swapped, dtype, 0, nullptr, nullptr);
        }
      }
    }
  };
  FailureOr<std::vector<nn::RefTensor>> ran = failure();
  try {
    ran = nn::interpret(entry, args, observe);
  } catch (const std::bad_alloc &) {
    return Error{"the reference interpreter ran out of memory (it holds every tensor in double precision)"};
  }
  if (failed(ran))
    return parsed.error("the reference interpreter failed");
  // A composite op's lowering keeps statistics of its results' shapes (a
  // batch norm's batch mean and variance): a buffer that only such an op
  // could have explained is internal, not wrong.
  for (KernelCheck &k : report.kernels)
    for (CheckedBuffer &b : k.buffers)
      if (b.verdict == CheckedBuffer::Verdict::Mismatch && !plainCandidate.count({k.id, b.slot}))
        b.verdict = CheckedBuffer::Verdict::NoReference;
  for (const KernelCheck &k : report.kernels)
    if (k.wrong()) {
      report.firstWrong = k.id;
      break;
    }
  return report;
}

std::string CheckReport::text(bool everyKernel) const {
  std::string out;
  llvm::raw_string_ostream os(out);
  int checked = 0, buffers = 0, compared = 0;
  for (const KernelCheck &k : kernels) {
    checked += k.checked();
    for (const CheckedBuffer &b : k.buffers) {
      ++buffers;
      compared += b.verdict != CheckedBuffer::Verdict::NoReference;
    }
  }
  os << llvm::format("%d kernels, %d of them checked: %d of the %d buffers they write compared with the "
                     "reference interpreter (f32 tolerance |got - want| <= %.1e |want| + %.1e max|want|)\n",
                     int(kernels.size()), checked, compared, buffers, relativeTolerance(false),
                     absoluteTolerance(false));
  for (const KernelCheck &k : kernels) {
    if (!k.wrong() && !everyKernel)
      continue;
    os << "  kernel " << k.id << " (" << k.kind << ", formed in phase " << k.phase << "; " << k.ops << "):\n";
    for (const CheckedBuffer &b : k.buffers)
      if (b.verdict == CheckedBuffer::Verdict::Mismatch)
        os << llvm::format("    %s differs from %s at %s: got %.9g, want %.9g (error %.3g, tolerance %.3g)\n",
                           b.type.c_str(), b.op.c_str(), shapeString(b.worstAt).c_str(), b.got, b.want, b.maxError,
                           b.tolerance);
      else if (b.verdict == CheckedBuffer::Verdict::Match)
        os << llvm::format("    %s holds %s (error %.3g)\n", b.type.c_str(), b.op.c_str(), b.maxError);
      else
        os << "    " << b.type << ": no op of the kernel has this shape (an internal buffer), not compared\n";
  }
  if (firstWrong < 0) {
    os << "every checked kernel agrees with the reference\n";
  } else {
    const KernelCheck &k = kernels[firstWrong];
    os << "first wrong kernel: #" << k.id << " " << k.kind << " (formed in phase " << k.phase << ") computing "
       << k.ops << "\n";
  }
  return out;
}

} // namespace kiln
