//===- Graph.cpp - build an nn graph from C++ ----------------------------===//
#include "kiln/Graph.h"
#include "frontend/GraphImpl.h"
#include "frontend/GraphModule.h"

#include "ir/Dialect.h"
#include "ir/ShapeRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringSet.h"
#include "mlir/IR/Verifier.h"

#include <optional>

using namespace mlir;
namespace nn = kiln::nn;

namespace kiln {

Graph::Graph(const std::string &name) : impl_(std::make_unique<Impl>(name)) {}
Graph::~Graph() = default;
const std::string &Graph::name() const { return impl_->name; }

Status Graph::status() const {
  if (impl_->firstError)
    return Error{*impl_->firstError};
  return {};
}

Tensor Graph::input(const std::string &name, const Shape &shape, DType dtype, Where where) {
  return wrap(impl_->addArgument(name, shape, dtype, {}, where).getAsOpaquePointer());
}

/// `value` as a DenseElementsAttr of `type`.
static DenseElementsAttr denseAttr(RankedTensorType type, const HostTensor &value) {
  switch (value.dtype()) {
  case DType::f32:
    return DenseElementsAttr::get(type, ArrayRef<float>(value.data<float>(), value.size()));
  case DType::f64:
    return DenseElementsAttr::get(type, ArrayRef<double>(value.data<double>(), value.size()));
  case DType::i32:
    return DenseElementsAttr::get(type, ArrayRef<int32_t>(value.data<int32_t>(), value.size()));
  case DType::i64:
    return DenseElementsAttr::get(type, ArrayRef<int64_t>(value.data<int64_t>(), value.size()));
  case DType::boolean:
    break;
  }
  SmallVector<bool> bits;
  for (int64_t i = 0; i < value.size(); ++i)
    bits.push_back(value.data<uint8_t>()[i] != 0);
  return DenseElementsAttr::get(type, bits);
}

/// Constants with more elements than this travel as blobs.
constexpr int64_t kBlobMinElements = 1024;

static DictionaryAttr paramAttr(OpBuilder &b, const ParamInit &init, RankedTensorType type) {
  SmallVector<NamedAttribute> attrs;
  auto add = [&](StringRef key, Attribute value) { attrs.push_back(b.getNamedAttr(key, value)); };
  switch (init.kind) {
  case ParamInit::Kind::Normal:
    add("init", b.getStringAttr("normal"));
    add("mean", b.getF64FloatAttr(init.a));
    add("std", b.getF64FloatAttr(init.b));
    add("seed", b.getI64IntegerAttr(int64_t(init.seed)));
    break;
  case ParamInit::Kind::Uniform:
    add("init", b.getStringAttr("uniform"));
    add("low", b.getF64FloatAttr(init.a));
    add("high", b.getF64FloatAttr(init.b));
    add("seed", b.getI64IntegerAttr(int64_t(init.seed)));
    break;
  case ParamInit::Kind::Zeros: add("init", b.getStringAttr("zeros")); break;
  case ParamInit::Kind::Ones: add("init", b.getStringAttr("ones")); break;
  case ParamInit::Kind::Values: {
    add("init", b.getStringAttr("values"));
    if (init.tensor) {
      add("value", denseAttr(type, *init.tensor));
      break;
    }
    SmallVector<Attribute> values;
    for (double v : init.values)
      values.push_back(b.getFloatAttr(type.getElementType(), v));
    add("value", DenseElementsAttr::get(type, values));
    break;
  }
  }
  return b.getDictionaryAttr(attrs);
}

Tensor Graph::param(const std::string &name, const Shape &shape, const ParamInit &init,
                    DType dtype, Where where) {
  Impl &g = *impl_;
  if (dtype != DType::f32 && dtype != DType::f64) {
    g.error(where, "parameter \"" + name + "\" must be f32 or f64, got " + dtypeName(dtype));
    return {};
  }
  if (init.tensor && (init.tensor->dtype() != dtype || init.tensor->shape() != shape)) {
    g.error(where, "parameter \"" + name + "\" is " + dtypeName(dtype) + shapeString(shape) +
                       " but its initial value is " + dtypeName(init.tensor->dtype()) +
                       shapeString(init.tensor->shape()));
    return {};
  }
  if (init.kind == ParamInit::Kind::Values && !init.tensor && int64_t(init.values.size()) != numElements(shape)) {
    g.error(where, "parameter \"" + name + "\" of shape " + shapeString(shape) + " needs " +
                       std::to_string(numElements(shape)) + " initial values, got " +
                       std::to_string(init.values.size()));
    return {};
  }
  if (!g.checkShape(shape, where))
    return {};
  auto type = RankedTensorType::get(shape, g.elementType(dtype));
  return wrap(g.addArgument(name, shape, dtype, paramAttr(g.builder, init, type), where)
                  .getAsOpaquePointer());
}

Tensor Graph::constant(const HostTensor &value, Where where) {
  Impl &g = *impl_;
  auto type = RankedTensorType::get(value.shape(), g.elementType(value.dtype()));
  ElementsAttr attr;
  if (value.dtype() == DType::boolean || value.size() <= kBlobMinElements) {
    // Booleans stay dense (i1 blobs have no agreed byte layout), and so do
    // small constants (scalars, short tables): folders read them, and
    // a folder in MLIR 19 crashed on small blobs (ElementsAttr::getValues<Attribute>,
    // as Graph.OperatorsAndScalars showed with rank-0 blobs).
    attr = denseAttr(type, value);
  } else {
    // The values as a blob resource: copied once, never uniqued, hashed or
    // printed element by element; the compiler reads them as bytes
    // (ir/ConstantValues.h) and dumps elide them.
    size_t bytes = size_t(value.bytes());
    attr = DenseResourceElementsAttr::get(
        type, "kiln_constant",
        HeapAsmResourceBlob::allocateAndCopyWithAlign(
            ArrayRef<char>(static_cast<const char *>(value.data()), bytes), alignof(double)));
  }
  return wrap(g.builder.create<nn::ConstantOp>(g.loc(where), attr).getResult().getAsOpaquePointer());
}

Tensor Graph::scalar(double value, DType dtype, Where where) {
  HostTensor t(dtype, {});
  t.set(0, value);
  return constant(t, where);
}

void Graph::output(Tensor value, const std::string &name, Where where) {
  if (!value.valid())
    return; // the error that made it invalid is already recorded
  if (value.graph() != this)
    return impl_->error(where, "output \"" + name + "\" belongs to another graph");
  if (!impl_->claimName(name, where))
    return;
  impl_->outputs.push_back(Value::getFromOpaquePointer(value.handle()));
  impl_->outputNames.push_back(name);
}

OwningOpRef<ModuleOp> finishedModule(const Graph &graph) {
  Graph::Impl &g = graph.impl();
  // Outputs are recorded as values of the original; the mapping finds them in the copy.
  IRMapping mapping;
  OwningOpRef<ModuleOp> copy(cast<ModuleOp>(g.module->getOperation()->clone(mapping)));
  auto func = cast<func::FuncOp>(copy->getBody()->front());
  Block &copyBlock = func.getBody().front();
  OpBuilder b(&g.ctx);
  b.setInsertionPointToEnd(&copyBlock);
  SmallVector<Value> results;
  for (Value v : g.outputs)
    results.push_back(mapping.lookup(v));
  b.create<func::ReturnOp>(UnknownLoc::get(&g.ctx), results);
  for (size_t i = 0; i < results.size(); ++i)
    func.insertResult(i, results[i].getType(),
                      b.getDictionaryAttr(b.getNamedAttr(nn::kNameAttr,
                                                         b.getStringAttr(g.outputNames[i]))));
  return copy;
}

std::string Graph::str(bool withLocations) const {
  OwningOpRef<ModuleOp> copy = finishedModule(*this);
  std::string s;
  llvm::raw_string_ostream os(s);
  OpPrintingFlags flags;
  if (withLocations)
    flags.enableDebugInfo();
  copy->print(os, flags);
  return s;
}

Shape Tensor::shape() const {
  if (!valid())
    return {};
  auto t = cast<RankedTensorType>(Value::getFromOpaquePointer(value_).getType());
  return Shape(t.getShape().begin(), t.getShape().end());
}

DType Tensor::dtype() const {
  if (!valid())
    return DType::f32;
  Type e = cast<RankedTensorType>(Value::getFromOpaquePointer(value_).getType()).getElementType();
  if (e.isF64())
    return DType::f64;
  if (e.isInteger(32))
    return DType::i32;
  if (e.isInteger(64))
    return DType::i64;
  if (e.isInteger(1))
    return DType::boolean;
  return DType::f32;
}

ParamInit normalInit(double mean, double std, uint64_t seed) {
  return {ParamInit::Kind::Normal, mean, std, seed, {}, nullptr};
}
ParamInit uniformInit(double low, double high, uint64_t seed) {
  return {ParamInit::Kind::Uniform, low, high, seed, {}, nullptr};
}
ParamInit zerosInit() { return {ParamInit::Kind::Zeros, 0, 0, 0, {}, nullptr}; }
ParamInit onesInit() { return {ParamInit::Kind::Ones, 0, 0, 0, {}, nullptr}; }
ParamInit valuesInit(std::vector<double> values) {
  return {ParamInit::Kind::Values, 0, 0, 0, std::move(values), nullptr};
}
ParamInit tensorInit(HostTensor value) {
  return {ParamInit::Kind::Values, 0, 0, 0, {}, std::make_shared<const HostTensor>(std::move(value))};
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

namespace {

Value valueOf(Tensor t) { return Value::getFromOpaquePointer(t.handle()); }
RankedTensorType typeOf(Tensor t) { return cast<RankedTensorType>(valueOf(t).getType()); }

/// The graph of the operands, or null after recording why there is none.
Graph *graphOf(std::initializer_list<Tensor> operands, const Where &where) {
  Graph *g = nullptr;
  for (const Tensor &t : operands) {
    if (!t.valid())
      return nullptr; // an earlier error, already recorded
    if (g && t.graph() != g) {
      g->impl().error(where, "operands belong to different graphs");
      return nullptr;
    }
    g = t.graph();
  }
  return g;
}

/// Creates OpT with the given result type and verifies it; on failure the
/// op is erased and its diagnostic is the graph's error.
template <typename OpT, typename... Args>
Tensor create(Graph &g, const Where &where, Type resultType, Args &&...args) {
  Graph::Impl &impl = g.impl();
  auto op = impl.builder.create<OpT>(impl.loc(where), resultType, std::forward<Args>(args)...);
  if (failed(mlir::verify(op, /*verifyRecursively=*/false))) {
    op->erase();
    return {};
  }
  return g.wrap(op.getResult().getAsOpaquePointer());
}

/// An op whose result type is its own shape rule's (InferTypeOpInterface,
/// ir/Ops.cpp): built with a placeholder type, typed by the op's
/// inferReturnTypes, then verified. A rule that fails has reported its
/// message at the user's file:line, and the op is removed again.
template <typename OpT, typename... Args>
Tensor createInferred(Graph &g, const Where &where, Args &&...args) {
  Graph::Impl &impl = g.impl();
  Location loc = impl.loc(where);
  auto op = impl.builder.create<OpT>(loc, impl.builder.getNoneType(), std::forward<Args>(args)...);
  SmallVector<Type> types;
  Operation *raw = op.getOperation();
  if (failed(OpT::inferReturnTypes(raw->getContext(), loc, raw->getOperands(), raw->getRawDictionaryAttrs(),
                                   raw->getPropertiesStorage(), raw->getRegions(), types))) {
    op->erase();
    return {};
  }
  op->getResult(0).setType(types.front());
  if (failed(mlir::verify(op, /*verifyRecursively=*/false))) {
    op->erase();
    return {};
  }
  return g.wrap(op->getResult(0).getAsOpaquePointer());
}

template <typename OpT> Tensor unary(Tensor x, const Where &where) {
  Graph *g = graphOf({x}, where);
  if (!g)
    return {};
  return createInferred<OpT>(*g, where, valueOf(x));
}

/// Resolves scalar operands to rank-0 constants of the other operand's dtype.
template <typename OpT>
Tensor binary(Operand a, Operand b, const Where &where) {
  if (a.isScalar && b.isScalar)
    return {}; // not reachable through the public overloads with a Tensor
  if (a.isScalar && b.tensor.valid())
    a.tensor = b.tensor.graph()->scalar(a.scalar, b.tensor.dtype(), where);
  if (b.isScalar && a.tensor.valid())
    b.tensor = a.tensor.graph()->scalar(b.scalar, a.tensor.dtype(), where);
  Graph *g = graphOf({a.tensor, b.tensor}, where);
  if (!g)
    return {};
  return createInferred<OpT>(*g, where, valueOf(a.tensor), valueOf(b.tensor));
}

template <typename OpT>
Tensor reduction(Tensor x, const std::vector<int64_t> &axes, bool keepdims, const Where &where) {
  Graph *g = graphOf({x}, where);
  if (!g)
    return {};
  OpBuilder &b = g->impl().builder;
  return createInferred<OpT>(*g, where, valueOf(x), b.getDenseI64ArrayAttr(axes),
                     keepdims ? b.getUnitAttr() : UnitAttr());
}

template <typename OpT> Tensor loss(Tensor p, Tensor l, const Where &where) {
  Graph *g = graphOf({p, l}, where);
  if (!g)
    return {};
  return createInferred<OpT>(*g, where, valueOf(p), valueOf(l));
}

} // namespace

Tensor neg(Tensor x, Where w) { return unary<nn::NegOp>(x, w); }
Tensor abs(Tensor x, Where w) { return unary<nn::AbsOp>(x, w); }
Tensor exp(Tensor x, Where w) { return unary<nn::ExpOp>(x, w); }
Tensor log(Tensor x, Where w) { return unary<nn::LogOp>(x, w); }
Tensor sqrt(Tensor x, Where w) { return unary<nn::SqrtOp>(x, w); }
Tensor rsqrt(Tensor x, Where w) { return unary<nn::RsqrtOp>(x, w); }
Tensor tanh(Tensor x, Where w) { return unary<nn::TanhOp>(x, w); }
Tensor sigmoid(Tensor x, Where w) { return unary<nn::SigmoidOp>(x, w); }
Tensor relu(Tensor x, Where w) { return unary<nn::ReluOp>(x, w); }
Tensor erf(Tensor x, Where w) { return unary<nn::ErfOp>(x, w); }
Tensor stop_gradient(Tensor x, Where w) { return unary<nn::StopGradientOp>(x, w); }

Tensor add(Operand a, Operand b, Where w) { return binary<nn::AddOp>(a, b, w); }
Tensor sub(Operand a, Operand b, Where w) { return binary<nn::SubOp>(a, b, w); }
Tensor mul(Operand a, Operand b, Where w) { return binary<nn::MulOp>(a, b, w); }
Tensor div(Operand a, Operand b, Where w) { return binary<nn::DivOp>(a, b, w); }
Tensor maximum(Operand a, Operand b, Where w) { return binary<nn::MaxOp>(a, b, w); }
Tensor minimum(Operand a, Operand b, Where w) { return binary<nn::MinOp>(a, b, w); }
// An operator's location is the one its left operand captured at the call site.
Tensor operator+(Operand a, Operand b) { return binary<nn::AddOp>(a, b, a.where); }
Tensor operator-(Operand a, Operand b) { return binary<nn::SubOp>(a, b, a.where); }
Tensor operator*(Operand a, Operand b) { return binary<nn::MulOp>(a, b, a.where); }
Tensor operator/(Operand a, Operand b) { return binary<nn::DivOp>(a, b, a.where); }
Tensor operator-(Operand x) { return unary<nn::NegOp>(x.tensor, x.where); }

Tensor matmul(Tensor a, Tensor b, bool ta, bool tb, Where where) {
  Graph *g = graphOf({a, b}, where);
  if (!g)
    return {};
  OpBuilder &builder = g->impl().builder;
  return createInferred<nn::MatmulOp>(*g, where, valueOf(a), valueOf(b),
                              ta ? builder.getUnitAttr() : UnitAttr(),
                              tb ? builder.getUnitAttr() : UnitAttr());
}

Tensor reduce_sum(Tensor x, std::vector<int64_t> axes, bool keepdims, Where w) {
  return reduction<nn::ReduceSumOp>(x, axes, keepdims, w);
}
Tensor reduce_mean(Tensor x, std::vector<int64_t> axes, bool keepdims, Where w) {
  return reduction<nn::ReduceMeanOp>(x, axes, keepdims, w);
}
Tensor reduce_max(Tensor x, std::vector<int64_t> axes, bool keepdims, Where w) {
  return reduction<nn::ReduceMaxOp>(x, axes, keepdims, w);
}

Tensor softmax(Tensor x, int64_t axis, Where where) {
  Graph *g = graphOf({x}, where);
  if (!g)
    return {};
  return create<nn::SoftmaxOp>(*g, where, typeOf(x), valueOf(x),
                               g->impl().builder.getI64IntegerAttr(axis));
}

Tensor reshape(Tensor x, const Shape &shape, Where where) {
  Graph *g = graphOf({x}, where);
  if (!g || !g->impl().checkShape(shape, where))
    return {};
  return create<nn::ReshapeOp>(*g, where, RankedTensorType::get(shape, typeOf(x).getElementType()),
                               valueOf(x));
}

Tensor transpose(Tensor x, std::vector<int64_t> perm, Where where) {
  Graph *g = graphOf({x}, where);
  if (!g)
    return {};
  return createInferred<nn::TransposeOp>(*g, where, valueOf(x),
                                 g->impl().builder.getDenseI64ArrayAttr(perm));
}

Tensor broadcast_to(Tensor x, const Shape &shape, Where where) {
  Graph *g = graphOf({x}, where);
  if (!g || !g->impl().checkShape(shape, where))
    return {};
  return create<nn::BroadcastToOp>(
      *g, where, RankedTensorType::get(shape, typeOf(x).getElementType()), valueOf(x));
}

Tensor pow(Operand a, Operand b, Where w) { return binary<nn::PowOp>(a, b, w); }
Tensor eq(Operand a, Operand b, Where w) { return binary<nn::EqOp>(a, b, w); }
Tensor ne(Operand a, Operand b, Where w) { return binary<nn::NeOp>(a, b, w); }
Tensor lt(Operand a, Operand b, Where w) { return binary<nn::LtOp>(a, b, w); }
Tensor le(Operand a, Operand b, Where w) { return binary<nn::LeOp>(a, b, w); }
Tensor gt(Operand a, Operand b, Where w) { return binary<nn::GtOp>(a, b, w); }
Tensor ge(Operand a, Operand b, Where w) { return binary<nn::GeOp>(a, b, w); }

Tensor select(Tensor cond, Operand a, Operand b, Where where) {
  if (!cond.valid())
    return {};
  // A scalar choice takes the other choice's dtype (or f32 if both are scalars).
  DType dtype = a.isScalar ? (b.isScalar ? DType::f32 : b.tensor.dtype()) : a.tensor.dtype();
  if (a.isScalar)
    a.tensor = cond.graph()->scalar(a.scalar, dtype, where);
  if (b.isScalar)
    b.tensor = cond.graph()->scalar(b.scalar, dtype, where);
  Graph *g = graphOf({cond, a.tensor, b.tensor}, where);
  if (!g)
    return {};
  return createInferred<nn::SelectOp>(*g, where, valueOf(cond), valueOf(a.tensor), valueOf(b.tensor));
}

Tensor cast(Tensor x, DType to, Where where) {
  Graph *g = graphOf({x}, where);
  if (!g)
    return {};
  return create<nn::CastOp>(*g, where, RankedTensorType::get(typeOf(x).getShape(),
                                                             g->impl().elementType(to)),
                            valueOf(x));
}

Tensor log_softmax(Tensor x, int64_t axis, Where where) {
  Graph *g = graphOf({x}, where);
  if (!g)
    return {};
  return create<nn::LogSoftmaxOp>(*g, where, typeOf(x), valueOf(x),
                                  g->impl().builder.getI64IntegerAttr(axis));
}

static Tensor layerNormImpl(Tensor x, Tensor gamma, Tensor beta, const std::vector<int64_t> &axes,
                            double eps, const Where &where) {
  Graph *g = gamma.valid() ? graphOf({x, gamma, beta}, where) : graphOf({x}, where);
  if (!g)
    return {};
  OpBuilder &b = g->impl().builder;
  return create<nn::LayerNormOp>(*g, where, typeOf(x), valueOf(x),
                                 gamma.valid() ? valueOf(gamma) : Value(),
                                 beta.valid() ? valueOf(beta) : Value(),
                                 b.getDenseI64ArrayAttr(axes), b.getF64FloatAttr(eps));
}

Tensor layer_norm(Tensor x, std::vector<int64_t> axes, double eps, Where where) {
  return layerNormImpl(x, Tensor(), Tensor(), axes, eps, where);
}

Tensor layer_norm(Tensor x, Tensor gamma, Tensor beta, std::vector<int64_t> axes, double eps,
                  Where where) {
  if (!gamma.valid() || !beta.valid())
    return {}; // an earlier error, already recorded
  return layerNormImpl(x, gamma, beta, axes, eps, where);
}

Tensor attention(Tensor q, Tensor k, Tensor v, const AttentionOptions &options, Where where) {
  Graph *g = graphOf({q, k, v}, where);
  if (!g)
    return {};
  for (const Tensor &optional : {options.mask, options.bias})
    if (optional.handle() && !graphOf({q, optional}, where))
      return {};
  OpBuilder &b = g->impl().builder;
  return createInferred<nn::AttentionOp>(
      *g, where, valueOf(q), valueOf(k), valueOf(v), options.mask.valid() ? valueOf(options.mask) : Value(),
      options.bias.valid() ? valueOf(options.bias) : Value(), options.causal ? b.getUnitAttr() : UnitAttr(),
      options.scale ? b.getF64FloatAttr(*options.scale) : FloatAttr());
}

BatchNormResult batch_norm(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor variance,
                           const BatchNormOptions &options, Where where) {
  Graph *g = graphOf({x, gamma, beta, mean, variance}, where);
  if (!g)
    return {};
  Graph::Impl &impl = g->impl();
  OpBuilder &b = impl.builder;
  Location loc = impl.loc(where);
  Type none = b.getNoneType();
  auto op = b.create<nn::BatchNormOp>(loc, TypeRange{none, none, none}, valueOf(x), valueOf(gamma), valueOf(beta),
                                      valueOf(mean), valueOf(variance), b.getF64FloatAttr(options.eps),
                                      b.getF64FloatAttr(options.momentum),
                                      options.training ? b.getUnitAttr() : UnitAttr());
  // Three results: typed by the shape rule as createInferred does one.
  SmallVector<Type> types;
  Operation *raw = op.getOperation();
  if (failed(nn::BatchNormOp::inferReturnTypes(raw->getContext(), loc, raw->getOperands(),
                                               raw->getRawDictionaryAttrs(), raw->getPropertiesStorage(),
                                               raw->getRegions(), types))) {
    op->erase();
    return {};
  }
  for (unsigned i = 0; i < 3; ++i)
    op->getResult(i).setType(types[i]);
  if (failed(mlir::verify(op, /*verifyRecursively=*/false))) {
    op->erase();
    return {};
  }
  return {g->wrap(op->getResult(0).getAsOpaquePointer()), g->wrap(op->getResult(1).getAsOpaquePointer()),
          g->wrap(op->getResult(2).getAsOpaquePointer())};
}

Tensor conv2d(Tensor x, Tensor w, const Conv2dOptions &options, Where where) {
  Graph *g = graphOf({x, w}, where);
  if (!g || (options.bias.handle() && !graphOf({x, options.bias}, where)))
    return {};
  OpBuilder &b = g->impl().builder;
  Tensor y = createInferred<nn::Conv2dOp>(*g, where, valueOf(x), valueOf(w), b.getDenseI64ArrayAttr(options.stride),
                                          b.getDenseI64ArrayAttr(options.padding),
                                          b.getDenseI64ArrayAttr(options.dilation),
                                          b.getI64IntegerAttr(options.groups));
  if (!y.valid() || !options.bias.valid())
    return y;
  // The bias [O] broadcast over [N, O, Ho, Wo] as [O, 1, 1].
  const Shape &bias = options.bias.shape();
  if (bias.size() != 1 || bias[0] != y.shape()[1]) {
    g->impl().error(where, "'nn.conv2d': bias must be [" + std::to_string(y.shape()[1]) +
                              "] (one per output channel), got " + shapeString(bias));
    return {};
  }
  return add(y, reshape(options.bias, {bias[0], 1, 1}, where), where);
}

namespace {
template <typename OpT>
Tensor pool2d(Tensor x, std::array<int64_t, 2> kernel, const Pool2dOptions &options, Where where) {
  Graph *g = graphOf({x}, where);
  if (!g)
    return {};
  OpBuilder &b = g->impl().builder;
  std::array<int64_t, 2> stride = options.stride.value_or(kernel);
  if constexpr (std::is_same_v<OpT, nn::AvgPool2dOp>)
    return createInferred<OpT>(*g, where, valueOf(x), b.getDenseI64ArrayAttr(kernel), b.getDenseI64ArrayAttr(stride),
                               b.getDenseI64ArrayAttr(options.padding),
                               options.countIncludePad ? b.getUnitAttr() : UnitAttr());
  else
    return createInferred<OpT>(*g, where, valueOf(x), b.getDenseI64ArrayAttr(kernel), b.getDenseI64ArrayAttr(stride),
                               b.getDenseI64ArrayAttr(options.padding));
}
} // namespace

Tensor max_pool2d(Tensor x, std::array<int64_t, 2> kernel, const Pool2dOptions &options, Where where) {
  return pool2d<nn::MaxPool2dOp>(x, kernel, options, where);
}
Tensor avg_pool2d(Tensor x, std::array<int64_t, 2> kernel, const Pool2dOptions &options, Where where) {
  return pool2d<nn::AvgPool2dOp>(x, kernel, options, where);
}
Tensor global_avg_pool2d(Tensor x, Where where) {
  if (x.valid() && x.shape().size() != 4) {
    if (Graph *g = graphOf({x}, where))
      g->impl().error(where, "global_avg_pool2d: x must be rank 4 ([N, C, H, W]), got " + shapeString(x.shape()));
    return {};
  }
  return reduce_mean(x, {2, 3}, /*keepdims=*/true, where);
}

Tensor gelu(Tensor x, bool tanhApproximation, Where where) {
  Graph *g = graphOf({x}, where);
  if (!g)
    return {};
  return create<nn::GeluOp>(*g, where, typeOf(x), valueOf(x),
                            g->impl().builder.getStringAttr(tanhApproximation ? "tanh" : "none"));
}

Tensor dropout(Tensor x, Tensor step, double rate, int64_t seed, Where where) {
  Graph *g = graphOf({x, step}, where);
  if (!g)
    return {};
  auto &builder = g->impl().builder;
  return create<nn::DropoutOp>(*g, where, typeOf(x), valueOf(x), valueOf(step), builder.getF64FloatAttr(rate),
                               builder.getI64IntegerAttr(seed));
}

Tensor gather(Tensor table, Tensor indices, Where where) {
  Graph *g = graphOf({table, indices}, where);
  if (!g)
    return {};
  return createInferred<nn::GatherOp>(*g, where, valueOf(table), valueOf(indices));
}

Tensor concat(const std::vector<Tensor> &inputs, int64_t axis, Where where) {
  Graph *g = nullptr;
  SmallVector<Value> values;
  SmallVector<RankedTensorType> types;
  for (const Tensor &t : inputs) {
    if (!t.valid())
      return {};
    if (g && t.graph() != g) {
      g->impl().error(where, "operands belong to different graphs");
      return {};
    }
    g = t.graph();
    values.push_back(valueOf(t));
    types.push_back(typeOf(t));
  }
  if (!g)
    return {}; // no inputs: nothing to attach an error to
  return createInferred<nn::ConcatOp>(*g, where, values, g->impl().builder.getI64IntegerAttr(axis));
}

Tensor slice(Tensor x, std::vector<int64_t> starts, std::vector<int64_t> stops,
             std::vector<int64_t> steps, Where where) {
  Graph *g = graphOf({x}, where);
  if (!g)
    return {};
  if (steps.empty())
    steps.assign(starts.size(), 1);
  OpBuilder &b = g->impl().builder;
  return createInferred<nn::SliceOp>(*g, where, valueOf(x), b.getDenseI64ArrayAttr(starts),
                             b.getDenseI64ArrayAttr(stops), b.getDenseI64ArrayAttr(steps));
}

Tensor cross_entropy(Tensor logits, Tensor labels, Where where) {
  Graph *g = graphOf({logits, labels}, where);
  if (!g)
    return {};
  return createInferred<nn::CrossEntropyOp>(*g, where, valueOf(logits), valueOf(labels));
}

Tensor slice_scatter(Tensor src, const Shape &shape, std::vector<int64_t> starts,
                     std::vector<int64_t> stops, std::vector<int64_t> steps, Where where) {
  Graph *g = graphOf({src}, where);
  if (!g || !g->impl().checkShape(shape, where))
    return {};
  OpBuilder &b = g->impl().builder;
  return create<nn::SliceScatterOp>(*g, where, RankedTensorType::get(shape, typeOf(src).getElementType()),
                                    valueOf(src), b.getDenseI64ArrayAttr(starts),
                                    b.getDenseI64ArrayAttr(stops), b.getDenseI64ArrayAttr(steps));
}

Tensor scatter_add(Tensor updates, Tensor indices, int64_t rows, Where where) {
  Graph *g = graphOf({updates, indices}, where);
  if (!g)
    return {};
  RankedTensorType u = typeOf(updates);
  int64_t ri = typeOf(indices).getRank();
  if (rows < 0 || u.getRank() < ri) {
    g->impl().error(where, "scatter_add: updates " + nn::shapeString(u) +
                               " must start with the indices' shape");
    return {};
  }
  SmallVector<int64_t> shape{rows};
  llvm::append_range(shape, u.getShape().drop_front(ri));
  return create<nn::ScatterAddOp>(*g, where, RankedTensorType::get(shape, u.getElementType()),
                                  valueOf(updates), valueOf(indices));
}

Tensor Graph::iota(const Shape &shape, int64_t axis, DType dtype, Where where) {
  if (!impl_->checkShape(shape, where))
    return {};
  return create<nn::IotaOp>(*this, where, RankedTensorType::get(shape, impl_->elementType(dtype)),
                            impl_->builder.getI64IntegerAttr(axis));
}

Tensor Graph::arange(int64_t n, DType dtype, Where where) { return iota({n}, 0, dtype, where); }

Tensor Graph::causal_mask(int64_t n, Where where) {
  return ge(iota({n, n}, 0, DType::i64, where), iota({n, n}, 1, DType::i64, where), where);
}

Tensor l1_loss(Tensor p, Tensor l, Where w) { return loss<nn::L1LossOp>(p, l, w); }
Tensor mse_loss(Tensor p, Tensor l, Where w) { return loss<nn::MseLossOp>(p, l, w); }

} // namespace kiln
