//===- Function.cpp - the C++ API's compiled, callable model (JIT) -------===//
#include "kiln/Function.h"
#include "kiln/Onnx.h"
#include "kiln/Graph.h"
#include "api/FunctionImpl.h"
#include "api/ProfileData.h"

#include "codegen/Compiler.h"
#include "codegen/Jit.h"
#include "frontend/GraphModule.h"
#include "ir/GraphDot.h"
#include "ir/ModelLimits.h"
#include "ir/reference/Interpreter.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cstring>

using namespace mlir;

namespace kiln {

namespace {

Result<HostTensor> initialValue(const TensorInfo &info) {
  auto allocated = HostTensor::allocate(info.dtype, info.shape, "parameter \"" + info.name + "\"");
  if (!allocated)
    return allocated;
  HostTensor &t = *allocated;
  auto dtype = kiln_dtype(info.dtype);
  const ParamInit &init = info.init;
  switch (init.kind) {
  case ParamInit::Kind::Normal:
    kiln_init_normal(t.data(), dtype, t.size(), init.a, init.b, init.seed);
    break;
  case ParamInit::Kind::Uniform:
    kiln_init_uniform(t.data(), dtype, t.size(), init.a, init.b, init.seed);
    break;
  case ParamInit::Kind::Zeros: break;
  case ParamInit::Kind::Ones: kiln_init_fill(t.data(), dtype, t.size(), 1.0); break;
  case ParamInit::Kind::Values:
    if (init.tensor && init.tensor->bytes() == t.bytes())
      std::memcpy(t.data(), init.tensor->data(), t.bytes());
    else
      for (int64_t i = 0; i < t.size() && i < int64_t(init.values.size()); ++i)
        t.set(i, init.values[i]);
    break;
  }
  return allocated;
}

std::string describeMismatch(const std::string &what, const TensorInfo &expected,
                             const HostTensor &given) {
  return what + " \"" + expected.name + "\": expected " + dtypeName(expected.dtype) +
         shapeString(expected.shape) + ", given " + given.typeString();
}

bool matches(const TensorInfo &info, const HostTensor &t) {
  return info.dtype == t.dtype() && info.shape == t.shape();
}

} // namespace

Function::Function(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Function::Function(Function &&) noexcept = default;
Function &Function::operator=(Function &&) noexcept = default;
Function::~Function() = default;

void Function::setNumThreads(int threads) { impl_->numThreads = threads < 0 ? 0 : threads; }
int Function::numThreads() const { return impl_->numThreads; }

Result<std::string> lowerToStage(const std::string &source, const std::string &sourceName,
                                 const std::string &stage, const CompileOptions &options) {
  ParsedSource parsed(source, sourceName);
  if (!parsed.module)
    return parsed.error("cannot parse " + sourceName);
  auto out = lowerAndEmit(*parsed.module, stage, options);
  if (failed(out))
    return parsed.error("compilation of " + sourceName + " failed");
  return *out;
}

Result<std::string> lowerToStage(const Graph &graph, const std::string &stage, const CompileOptions &options) {
  if (Status s = graph.status(); !s)
    return Error{s.error()};
  OwningOpRef<ModuleOp> module = finishedModule(graph);
  prepareContext(*module->getContext());
  CollectedDiagnostics diagnostics(*module->getContext());
  auto out = lowerAndEmit(*module, stage, options);
  if (failed(out))
    return diagnostics.error("compilation of " + graph.name() + " failed");
  return *out;
}

Result<ArtifactReport> compileArtifact(const Graph &graph, const CompileOptions &options,
                                       const ArtifactOptions &artifact) {
  if (Status s = graph.status(); !s)
    return Error{s.error()};
  OwningOpRef<ModuleOp> module = finishedModule(graph);
  prepareContext(*module->getContext());
  CollectedDiagnostics diagnostics(*module->getContext());
  return compileArtifactModule(*module, graph.name(), options, artifact,
                               [&](const std::string &fallback) { return diagnostics.error(fallback); });
}

/// Compiles `module` to an object and loads it; `error` gives the
/// diagnostics collected meanwhile as an Error.
template <typename ErrorFn>
static Result<std::unique_ptr<Function::Impl>> compileModule(ModuleOp module, const CompileOptions &options,
                                                             ErrorFn error) {
  // Instrumented code calls ThreadSanitizer's runtime, which only a process
  // built with -fsanitize=thread has.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KILN_HOST_HAS_TSAN 1
#endif
#endif
#ifndef KILN_HOST_HAS_TSAN
  if (options.threadSanitizer)
    return Error{"threadSanitizer: JIT-compiled code can be instrumented only in a process "
                 "built with -fsanitize=thread (configure kiln with -DKILN_SANITIZE=thread); "
                 "for AOT artifacts use `kiln compile --sanitize=thread`"};
#endif
  auto impl = std::make_unique<Function::Impl>();
  nn::Signature signature;
  CompileReport report;
  auto object = lowerAndEmit(module, "obj", options, &signature, &report);
  if (failed(object))
    return error();
  impl->referenceModule = std::move(report.referenceModule);
  impl->entryName = std::move(report.referenceEntry);
  for (TensorInfo &info : describe(signature))
    (impl->args.size() < signature.args.size() ? impl->args : impl->results).push_back(info);
  auto jit = JitObject::load(*object, options.symbol);
  if (!jit)
    return Error{"JIT: " + llvm::toString(jit.takeError())};
  impl->jit = std::move(*jit);
  impl->symbol = options.symbol;
  impl->workspace.reset(kiln_alloc(impl->jit->workspaceSize()));
  if (!impl->workspace)
    return Error{"cannot allocate the compiled function's workspace (" +
                 std::to_string(impl->jit->workspaceSize()) + " bytes)"};
  for (const TensorInfo &arg : impl->args) {
    if (!arg.isParam) {
      impl->paramValues.emplace_back();
      continue;
    }
    if (arg.init.kind == ParamInit::Kind::Values && arg.init.tensor && arg.init.tensor.use_count() == 1) {
      // describe()'s tensor (made non-const, and ours alone) becomes the
      // parameter's storage: a big model's weights are not copied again.
      impl->paramValues.push_back(std::move(const_cast<HostTensor &>(*arg.init.tensor)));
      continue;
    }
    auto value = initialValue(arg);
    if (!value)
      return Error{value.error()};
    impl->paramValues.push_back(std::move(*value));
  }
  // The initial values now live in paramValues (param() reads them): the
  // copy describe() made is released, so a big model's weights are held
  // once by the Function.
  for (TensorInfo &arg : impl->args)
    arg.init.tensor.reset();
  return impl;
}

Result<Function> Function::compileSource(const std::string &source, const std::string &sourceName,
                                         const CompileOptions &options) {
  ParsedSource parsed(source, sourceName);
  if (!parsed.module)
    return parsed.error("cannot parse " + sourceName);
  auto impl = compileModule(*parsed.module, options,
                            [&] { return parsed.error("compilation of " + sourceName + " failed"); });
  if (!impl)
    return Error{impl.error()};
  return Function(std::move(*impl));
}

Result<std::string> readModelFile(const std::string &path) {
  if (isOnnxPath(path)) { // imported, then printed as kiln IR with the nodes' locations
    auto graph = importOnnx(path);
    if (!graph)
      return Error{graph.error()};
    return (*graph)->str(/*withLocations=*/true);
  }
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status))
    return Error{path + ": cannot open: " + ec.message()};
  if (!llvm::sys::fs::is_regular_file(status))
    return Error{path + ": not a regular file" +
                 (llvm::sys::fs::is_directory(status) ? std::string(" (a directory)") : std::string())};
  if (status.getSize() > kMaxModelFileBytes)
    return Error{path + ": " + std::to_string(status.getSize()) + " bytes, more than the " +
                 std::to_string(kMaxModelFileBytes) + " a model file may have"};
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return Error{path + ": cannot open: " + buffer.getError().message()};
  return (*buffer)->getBuffer().str();
}

Result<Function> Function::compileFile(const std::string &path, const CompileOptions &options) {
  auto source = readModelFile(path);
  if (!source)
    return Error{source.error()};
  return compileSource(*source, path, options);
}

Result<Function> grad(const Graph &graph, const std::vector<std::string> &wrt,
                      CompileOptions options) {
  options.gradientWrt = wrt;
  return Function::compile(graph, options);
}

Result<Function> train_step(const Graph &graph, const std::string &loss,
                            const std::vector<std::string> &params, const Optimizer &optimizer,
                            CompileOptions options) {
  options.trainStep = TrainStepRequest{loss, params, optimizer};
  return Function::compile(graph, options);
}

Result<Function> Function::compile(const Graph &graph, const CompileOptions &options) {
  if (Status s = graph.status(); !s)
    return Error{s.error()};
  // The graph's own module, compiled in the graph's context: no text is
  // printed or parsed, weights stay the builder's attributes, and the
  // builder's locations (the user's file:line) name every error.
  OwningOpRef<ModuleOp> module = finishedModule(graph);
  prepareContext(*module->getContext());
  CollectedDiagnostics diagnostics(*module->getContext());
  auto impl = compileModule(*module, options,
                            [&] { return diagnostics.error("compilation of " + graph.name() + " failed"); });
  if (!impl)
    return Error{impl.error()};
  return Function(std::move(*impl));
}

std::vector<TensorInfo> Function::inputs() const {
  std::vector<TensorInfo> out;
  for (const TensorInfo &a : impl_->args)
    if (!a.isParam)
      out.push_back(a);
  return out;
}

std::vector<TensorInfo> Function::params() const {
  std::vector<TensorInfo> out;
  for (const TensorInfo &a : impl_->args)
    if (a.isParam)
      out.push_back(a);
  return out;
}

std::vector<TensorInfo> Function::outputs() const { return impl_->results; }

std::vector<TensorInfo> Function::arguments() const { return impl_->args; }

Function::Entry Function::entry() const {
  return reinterpret_cast<Entry>(impl_->jit->entry());
}

size_t Function::workspaceSize() const { return impl_->jit->workspaceSize(); }
size_t Function::scratchSize() const { return impl_->jit->scratchSize(); }

Result<Profile> Function::profile() const {
  return readProfile(impl_->jit->profileCounters(), impl_->jit->profileKernels());
}
void Function::resetProfile() { kiln::resetProfile(impl_->jit->profileCounters(), impl_->jit->profileKernels()); }

Result<std::vector<HostTensor>> Function::run(const std::vector<HostTensor> &inputs) {
  std::vector<TensorInfo> expected = this->inputs();
  if (inputs.size() != expected.size())
    return Error{"expected " + std::to_string(expected.size()) + " inputs, given " +
                 std::to_string(inputs.size())};
  std::vector<void *> buffers;
  size_t next = 0;
  for (size_t i = 0; i < impl_->args.size(); ++i) {
    const TensorInfo &arg = impl_->args[i];
    if (arg.isParam) {
      buffers.push_back(impl_->paramValues[i].data());
      continue;
    }
    const HostTensor &given = inputs[next++];
    if (!matches(arg, given))
      return Error{describeMismatch("input", arg, given)};
    // Inputs are only read; the ABI takes non-const pointers for uniformity.
    buffers.push_back(const_cast<void *>(given.data()));
  }
  std::vector<HostTensor> outputs;
  for (const TensorInfo &res : impl_->results) {
    auto out = HostTensor::allocate(res.dtype, res.shape, "output \"" + res.name + "\"");
    if (!out)
      return Error{out.error()};
    outputs.push_back(std::move(*out));
  }
  for (HostTensor &out : outputs)
    buffers.push_back(out.data());
  kiln_context ctx;
  kiln_context_init(&ctx);
  ctx.num_threads = impl_->numThreads;
  int32_t status = impl_->jit->entry()(buffers.data(), &ctx, impl_->workspace.get());
  if (status == KILN_ERR_INDEX_RANGE && ctx.error_site != 0) {
    std::string site = impl_->jit->errorSite(ctx.error_site);
    if (!site.empty())
      return Error{site + ": index " + std::to_string(ctx.error_index) + " is outside [0, " +
                   std::to_string(ctx.error_bound) + ")"};
  }
  if (status != KILN_OK)
    return Error{impl_->symbol + " failed: " + kiln_strerror(status)};
  return outputs;
}

Result<std::vector<HostTensor>> orderInputs(const std::vector<TensorInfo> &expected,
                                            const std::map<std::string, HostTensor> &inputs) {
  for (const auto &[name, value] : inputs) {
    bool known = std::any_of(expected.begin(), expected.end(),
                             [&](const TensorInfo &t) { return t.name == name; });
    if (!known) {
      std::string names;
      for (const TensorInfo &t : expected)
        names += (names.empty() ? "" : ", ") + t.name;
      return Error{"unknown input \"" + name + "\" (the model's inputs: " +
                   (names.empty() ? "none" : names) + ")"};
    }
  }
  std::vector<HostTensor> ordered;
  for (const TensorInfo &t : expected) {
    auto it = inputs.find(t.name);
    if (it == inputs.end())
      return Error{"missing input \"" + t.name + "\" (" + dtypeName(t.dtype) +
                   shapeString(t.shape) + ")"};
    if (!matches(t, it->second))
      return Error{describeMismatch("input", t, it->second)};
    ordered.push_back(it->second);
  }
  return ordered;
}

Result<std::vector<HostTensor>> Function::run(const std::map<std::string, HostTensor> &inputs) {
  auto ordered = orderInputs(this->inputs(), inputs);
  if (!ordered)
    return Error{ordered.error()};
  return run(*ordered);
}

Result<std::string> toGraphviz(const std::string &source, const std::string &sourceName,
                               const std::string &entryName) {
  ParsedSource parsed(source, sourceName);
  if (!parsed.module)
    return parsed.error("cannot parse " + sourceName);
  auto entry = nn::findEntry(*parsed.module, entryName);
  if (failed(entry) || failed(nn::readSignature(*entry)))
    return parsed.error("no valid entry function in " + sourceName);
  std::string dot;
  llvm::raw_string_ostream os(dot);
  nn::writeGraphDot(*entry, os);
  return dot;
}

namespace {
/// kiln IR parsed, its entry function found and its signature read.
struct ParsedEntry {
  std::unique_ptr<ParsedSource> parsed;
  func::FuncOp entry;
  nn::Signature signature;
};

/// Parses `source` and reads its entry's signature; errors name the source.
Result<ParsedEntry> parseEntry(const std::string &source, const std::string &sourceName,
                               const std::string &entryName) {
  ParsedEntry out{std::make_unique<ParsedSource>(source, sourceName), {}, {}};
  ParsedSource &parsed = *out.parsed;
  if (!parsed.module)
    return parsed.error("cannot parse " + sourceName);
  auto entry = nn::findEntry(*parsed.module, entryName);
  if (failed(entry))
    return parsed.error("no entry function in " + sourceName);
  auto signature = nn::readSignature(*entry);
  if (failed(signature))
    return parsed.error("bad signature in " + sourceName);
  if (failed(nn::verifyTensorSizes(*parsed.module)))
    return parsed.error("a tensor too large in " + sourceName);
  out.entry = *entry;
  out.signature = *signature;
  return out;
}
} // namespace

/// A signature's tensors as inputs, parameters and outputs.
static ModelSignature splitSignature(const nn::Signature &signature, bool withValues) {
  ModelSignature out;
  std::vector<TensorInfo> infos = describe(signature, withValues);
  for (size_t i = 0; i < infos.size(); ++i) {
    if (i >= signature.args.size())
      out.outputs.push_back(infos[i]);
    else
      (infos[i].isParam ? out.params : out.inputs).push_back(infos[i]);
  }
  return out;
}

Result<ModelSignature> readSignature(const std::string &source, const std::string &sourceName,
                                     const std::string &entryName) {
  auto parsed = parseEntry(source, sourceName, entryName);
  if (!parsed)
    return Error{parsed.error()};
  return splitSignature(parsed->signature, /*withValues=*/true);
}

Result<ModelSignature> readSignature(const Graph &graph, const std::string &entryName) {
  if (Status s = graph.status(); !s)
    return Error{s.error()};
  OwningOpRef<ModuleOp> module = finishedModule(graph);
  prepareContext(*module->getContext());
  CollectedDiagnostics diagnostics(*module->getContext());
  auto entry = nn::findEntry(*module, entryName);
  if (failed(entry))
    return diagnostics.error("no entry function in " + graph.name());
  auto signature = nn::readSignature(*entry);
  if (failed(signature))
    return diagnostics.error("bad signature in " + graph.name());
  return splitSignature(*signature, /*withValues=*/false);
}

Result<HostTensor> Function::param(const std::string &name) const {
  for (size_t i = 0; i < impl_->args.size(); ++i)
    if (impl_->args[i].isParam && impl_->args[i].name == name)
      return impl_->paramValues[i];
  return Error{"no parameter named \"" + name + "\""};
}

Status Function::setParam(const std::string &name, const HostTensor &value) {
  for (size_t i = 0; i < impl_->args.size(); ++i)
    if (impl_->args[i].isParam && impl_->args[i].name == name) {
      if (!matches(impl_->args[i], value))
        return Error{describeMismatch("parameter", impl_->args[i], value)};
      std::memcpy(impl_->paramValues[i].data(), value.data(), value.bytes());
      return {};
    }
  return Error{"no parameter named \"" + name + "\""};
}

Status Function::loadParam(const std::string &name, const std::string &npyPath) {
  auto value = HostTensor::loadNpy(npyPath);
  if (!value)
    return Error{value.error()};
  return setParam(name, *value);
}

Result<std::vector<HostTensor>> runReference(const std::string &source,
                                             const std::string &sourceName,
                                             const std::vector<HostTensor> &inputs,
                                             const std::string &entryName,
                                             const std::map<std::string, HostTensor> &params) {
  auto parsedEntry = parseEntry(source, sourceName, entryName);
  if (!parsedEntry)
    return Error{parsedEntry.error()};
  ParsedSource &parsed = *parsedEntry->parsed;
  const nn::Signature *signature = &parsedEntry->signature;
  std::vector<TensorInfo> infos = describe(*signature);
  std::vector<nn::RefTensor> args;
  size_t next = 0;
  for (size_t i = 0; i < signature->args.size(); ++i) {
    const TensorInfo &info = infos[i];
    HostTensor value;
    if (info.isParam && params.count(info.name)) {
      value = params.at(info.name);
      if (!matches(info, value))
        return Error{describeMismatch("parameter", info, value)};
    } else if (info.isParam) {
      auto initial = initialValue(info);
      if (!initial)
        return Error{initial.error()};
      value = std::move(*initial);
    } else {
      if (next >= inputs.size())
        return Error{"missing input \"" + info.name + "\""};
      value = inputs[next++];
      if (!matches(info, value))
        return Error{describeMismatch("input", info, value)};
    }
    nn::RefTensor ref{info.shape, std::vector<double>(value.size())};
    for (int64_t k = 0; k < value.size(); ++k)
      ref.data[k] = value.at(k);
    args.push_back(std::move(ref));
  }
  if (next != inputs.size())
    return Error{"expected " + std::to_string(next) + " inputs, given " +
                 std::to_string(inputs.size())};
  // The interpreter holds every value in double precision: a model that
  // compiles may still be too large for it.
  FailureOr<std::vector<nn::RefTensor>> results = failure();
  try {
    results = nn::interpret(parsedEntry->entry, args);
  } catch (const std::bad_alloc &) {
    return Error{"the reference interpreter ran out of memory (it holds every tensor in double "
                 "precision)"};
  }
  if (failed(results))
    return parsed.error("the reference interpreter failed");
  std::vector<HostTensor> out;
  for (size_t i = 0; i < results->size(); ++i) {
    const TensorInfo &info = infos[signature->args.size() + i];
    // Float results stay in double precision: the reference is an oracle.
    HostTensor t(info.dtype == DType::f32 ? DType::f64 : info.dtype, info.shape);
    for (int64_t k = 0; k < t.size(); ++k)
      t.set(k, (*results)[i].data[k]);
    out.push_back(std::move(t));
  }
  return out;
}

} // namespace kiln
