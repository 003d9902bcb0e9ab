//===- Compiler.cpp - parse, verify, lower through the phases, emit ------===//
#include "codegen/Compiler.h"
#include "codegen/Codegen.h"
#include "codegen/ObjectCache.h"
#include "ir/ConstantValues.h"
#include "ir/SourceLimits.h"
#include "ir/ModelLimits.h"
#include "kiln_rt.h" // kiln_num_threads: the threads compiled code is made for

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AsmState.h"
#include <chrono>
#include <cstring>
#include <optional>
#include <unistd.h>
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

std::unique_ptr<MLIRContext> createContext() {
  auto context = std::make_unique<MLIRContext>(MLIRContext::Threading::DISABLED);
  prepareContext(*context);
  return context;
}

void prepareContext(MLIRContext &context) {
  // Textual phase pipelines look passes up by name in the global registry.
  static bool registered = (registerPassesAndPipelines(), true);
  (void)registered;
  DialectRegistry registry;
  registerDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  // A user's error names the place; the op dump that MLIR appends is noise.
  context.printOpOnDiagnostic(false);
}

static std::string formatError(Diagnostic &diag) {
  std::string s;
  llvm::raw_string_ostream os(s);
  Location loc = diag.getLocation();
  while (auto fused = dyn_cast<FusedLoc>(loc)) {
    if (fused.getLocations().empty())
      break;
    loc = fused.getLocations().front();
  }
  if (auto name = dyn_cast<NameLoc>(loc))
    loc = name.getChildLoc();
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    os << file.getFilename().getValue() << ":" << file.getLine() << ":" << file.getColumn() << ": ";
  os << "error: " << diag.str();
  for (Diagnostic &note : diag.getNotes())
    os << "\nnote: " << note.str();
  return s;
}

CollectedDiagnostics::CollectedDiagnostics(MLIRContext &context)
    : handler_(&context, [this](Diagnostic &diag) {
        if (diag.getSeverity() != DiagnosticSeverity::Error)
          return failure(); // remarks (--explain-fusion) and warnings go on
        text_ += (text_.empty() ? "" : "\n") + formatError(diag);
        return success();
      }) {}

Error CollectedDiagnostics::error(const std::string &fallback) const {
  return Error{text_.empty() ? fallback : text_};
}

OwningOpRef<ModuleOp> parseModule(llvm::SourceMgr &sourceMgr, MLIRContext &context) {
  return parseSourceFile<ModuleOp>(sourceMgr, &context);
}

ParsedSource::ParsedSource(const std::string &source, const std::string &name) {
  handler = std::make_unique<SourceMgrDiagnosticHandler>(sourceMgr, context.get(), diagStream);
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, name), llvm::SMLoc());
  if (failed(nn::checkNesting(source, name, context.get())))
    return;
  module = parseModule(sourceMgr, *context);
}

Error ParsedSource::error(const std::string &fallback) {
  std::string text = diagnostics.empty() ? fallback : diagnostics;
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  // Errors with no source position (a bad target CPU) need no "<unknown>:0:".
  for (size_t at; (at = text.find("<unknown>:0: ")) != std::string::npos;)
    text.erase(at, 13);
  return Error{text};
}

std::vector<std::string> stageNames() {
  std::vector<std::string> names;
  for (const Phase &p : phases())
    names.push_back(p.name);
  for (const char *s : {"llvm-ir", "asm", "obj"})
    names.push_back(s);
  return names;
}

std::vector<std::string> phaseNames() { return stageNames(); }

namespace {

/// True when printing with elided constants would drop data: a dense
/// constant of more than `limit` elements, or any blob resource (dumps print
/// blobs longer than `limit` characters of hex as nothing at all).
bool hasLargeConstants(Operation *root, int64_t limit) {
  bool found = false;
  root->walk([&](Operation *op) {
    for (NamedAttribute attr : op->getAttrs())
      if (auto elements = dyn_cast<ElementsAttr>(attr.getValue()))
        if (elements.getNumElements() > limit || isa<DenseResourceElementsAttr>(elements))
          found = true;
  });
  return found;
}

/// Writes DIR/NN-<phase>-<pass>.mlir after every pass: numbered in run order,
/// diffable, with large constants elided (such files say they are not runnable).
class DumpToDirectory : public PassInstrumentation {
public:
  DumpToDirectory(std::string dir, std::string phase, int *count)
      : dir_(std::move(dir)), phase_(std::move(phase)), count_(count) {}

  void runAfterPass(Pass *pass, Operation *op) override {
    // Pass adaptors (func.func(...)) have no argument; their nested passes
    // report per function, so dump the enclosing module once per pass.
    if (pass->getArgument().empty())
      return;
    if (auto module = op->getParentOfType<ModuleOp>())
      op = module;
    if (pass == lastPass_)
      return;
    lastPass_ = pass;
    std::string file =
        llvm::formatv("{0}/{1,0+2}-{2}-{3}.mlir", dir_, ++*count_, phase_, pass->getArgument()).str();
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    if (ec)
      return; // the directory was created before the run
    constexpr int64_t kLimit = 16;
    if (hasLargeConstants(op, kLimit))
      os << "// NOT RUNNABLE: constants with more than " << kLimit
         << " elements and blob resources are elided in this dump.\n";
    os << "// after pass '" << pass->getArgument() << "' (phase " << phase_ << ")\n";
    op->print(os, OpPrintingFlags().elideLargeElementsAttrs(kLimit).elideLargeResourceString(kLimit));
    os << "\n";
  }

private:
  std::string dir_, phase_;
  int *count_;
  Pass *lastPass_ = nullptr;
};

} // namespace

FailureOr<PipelineOptions> pipelineOptions(ModuleOp module, const CompileOptions &options) {
  auto entry = nn::findEntry(module, options.entry);
  if (failed(entry) || failed(nn::readSignature(*entry)) || failed(nn::verifyTensorSizes(module)) ||
      failed(nn::verifyOpCount(module)))
    return failure();
  PipelineOptions pipeline;
  pipeline.entry = entry->getSymName().str();
  pipeline.symbol = options.symbol;
  pipeline.tileRows = options.tileRows;
  pipeline.tileColumns = options.tileColumns;
  pipeline.threads = options.threads > 0 ? options.threads : kiln_num_threads();
  pipeline.explainFusion = options.explainFusion;
  pipeline.profile = options.profile;
  pipeline.check = options.check;
  pipeline.perturbKernel = options.check ? options.checkPerturbKernel : -1;
  if (options.gradientWrt && options.trainStep)
    return module.emitError() << "ask for gradients or a training step, not both";
  if (!options.gradientOf.empty() && !options.gradientWrt)
    return module.emitError() << "the output to differentiate is given (--of "
                              << options.gradientOf << ") but no gradient is asked for";
  if (options.gradientWrt) {
    pipeline.gradient = true;
    pipeline.wrt = *options.gradientWrt;
    pipeline.of = options.gradientOf;
  }
  if (options.trainStep) {
    const TrainStepRequest &t = *options.trainStep;
    pipeline.trainStep = true;
    pipeline.loss = t.loss;
    pipeline.trainParams = t.params;
    pipeline.optimizer = t.optimizer.kind;
    pipeline.momentum = t.optimizer.momentum;
    pipeline.beta1 = t.optimizer.beta1;
    pipeline.beta2 = t.optimizer.beta2;
    pipeline.eps = t.optimizer.eps;
    pipeline.weightDecay = t.optimizer.weightDecay;
    pipeline.clipNorm = t.optimizer.clipNorm;
  }
  return pipeline;
}

LogicalResult lowerModule(ModuleOp module, int fromPhase, int toPhase,
                          const PipelineOptions &pipeline, const CompileOptions &options,
                          TimingScope &root, CompileReport *report) {
  MLIRContext *context = module.getContext();
  if (!options.dumpDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(options.dumpDir))
      return module.emitError() << "cannot create --dump-dir '" << options.dumpDir
                                << "': " << ec.message();

  // --explain-fusion: the fusion and tiling passes' remarks, one line each
  // ("file:line:col: ..."), on stderr like the other inspection options.
  std::optional<ScopedDiagnosticHandler> explanations;
  if (options.explainFusion)
    explanations.emplace(context, [report](Diagnostic &d) {
      if (d.getSeverity() != DiagnosticSeverity::Remark)
        return failure(); // errors go on to the source manager's handler
      if (report && report->explanation) {
        report->explanation(d);
        return success();
      }
      Location loc = d.getLocation();
      while (true) {
        if (auto fused = dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
          loc = fused.getLocations().back(); // the kernel's last op: where its result is made
        else if (auto name = dyn_cast<NameLoc>(loc))
          loc = name.getChildLoc();
        else
          break;
      }
      if (auto file = dyn_cast<FileLineColLoc>(loc))
        llvm::errs() << file.getFilename().getValue() << ":" << file.getLine() << ":" << file.getColumn() << ": ";
      llvm::errs() << d.str() << "\n";
      return success();
    });

  // Function passes on every core: the entry and each outlined parallel
  // kernel are functions of their own once loops go to the thread pool
  // (the attention LM's training step: 129 functions, the entry a third of
  // the IR). kiln's contexts are made single-threaded (no pool of their
  // own for every Graph, nothing to go stale across a fork); a compilation
  // lends one a pool of its own for its passes and takes it back after.
  // Not when the passes' output is watched: dumps and printing need one
  // order, and --explain-fusion's remarks keep the order of the code.
  std::optional<llvm::DefaultThreadPool> passThreads;
  bool watched = options.printIrAfterAll || !options.dumpDir.empty() || options.explainFusion;
  if (!watched && !context->isMultithreadingEnabled() && llvm::hardware_concurrency().compute_thread_count() > 1) {
    passThreads.emplace(llvm::hardware_concurrency());
    context->setThreadPool(*passThreads);
  }
  auto singleThreadedAgain = llvm::make_scope_exit([&] {
    if (passThreads)
      context->disableMultithreading();
  });

  // One pass manager per phase, so dumps and timings are labelled by phase.
  static int dumpCount = 0; // numbering continues across the calls of one compilation
  if (fromPhase < 0)
    dumpCount = 0;
  for (int i = fromPhase + 1; i <= toPhase; ++i) {
    PassManager pm(context);
    addPhases(pm, i - 1, i, pipeline);
    if (options.printIrAfterAll)
      pm.enableIRPrinting([](Pass *, Operation *) { return false; },
                          [](Pass *, Operation *) { return true; },
                          /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false);
    TimingScope phaseScope = root.nest(phases()[i].name);
    if (options.timing)
      pm.enableTiming(phaseScope);
    if (!options.dumpDir.empty())
      pm.addInstrumentation(
          std::make_unique<DumpToDirectory>(options.dumpDir, phases()[i].name, &dumpCount));
    if (report && report->beforePhase)
      report->beforePhase(pm, phases()[i].name);
    auto start = std::chrono::steady_clock::now();
    if (failed(pm.run(module)))
      return failure();
    if (report) {
      report->phaseSeconds.push_back(
          {phases()[i].name,
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
      if (std::string(phases()[i].name) == "fused")
        if (auto f = module.lookupSymbol<func::FuncOp>(pipeline.compiledEntry())) {
          report->kernels = 0;
          f.walk([&](Operation *op) {
            if (op->getDialect() && op->getDialect()->getNamespace() == "linalg" &&
                !isa<linalg::YieldOp>(op) && !isa<linalg::IndexOp>(op))
              ++report->kernels;
          });
        }
      if (report->afterPhase)
        report->afterPhase(phases()[i].name, module);
    }
  }
  return success();
}

/// The widest vector the target has: 512 (AVX-512), 256 (AVX2) or 128.
static int64_t vectorBits(llvm::TargetMachine &tm) {
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  if (sti->checkFeatures("+avx512f"))
    return 512;
  if (sti->checkFeatures("+avx2"))
    return 256;
  return 128;
}

/// The target's L2 cache per core, for tiling's cache model: the host's
/// when compiling for it (sysconf, which glibc answers from cpuid), else 1
/// MiB, the smallest L2 the cache model's bounds were measured on (a named
/// CPU's caches are not in LLVM's target description).
static int64_t l2Bytes(const std::string &targetCpu) {
  constexpr int64_t kDefault = 1 << 20;
  if (!targetCpu.empty() && targetCpu != "host")
    return kDefault;
  long bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
  // (Within reason: a hypervisor may report 0 or nonsense.)
  return bytes >= (256 << 10) && bytes <= (64 << 20) ? int64_t(bytes) : kDefault;
}

FailureOr<std::string> lowerAndEmit(ModuleOp module, const std::string &stage,
                                    const CompileOptions &options, nn::Signature *signature,
                                    CompileReport *report) {
  int last = int(phases().size()) - 1;
  int phase = phaseIndex(stage);
  std::optional<ArtifactKind> kind;
  if (stage == "llvm-ir")
    kind = ArtifactKind::LLVMIR;
  else if (stage == "asm")
    kind = ArtifactKind::Assembly;
  else if (stage == "obj")
    kind = ArtifactKind::Object;
  if (phase < 0 && !kind) {
    std::string known;
    for (const std::string &s : stageNames())
      known += (known.empty() ? "" : ", ") + s;
    return emitError(UnknownLoc::get(module.getContext()))
           << "unknown stage '" << stage << "' (known: " << known << ")";
  }
  // Check the target before spending time on lowering; its vector width
  // sizes the register tiles.
  auto made = createTargetMachine(options.targetCpu);
  if (!made)
    return emitError(UnknownLoc::get(module.getContext())) << llvm::toString(made.takeError());
  std::unique_ptr<llvm::TargetMachine> tm = std::move(*made);
  auto pipeline = pipelineOptions(module, options);
  if (failed(pipeline))
    return failure();
  pipeline->vectorBits = vectorBits(*tm);
  pipeline->l2Bytes = l2Bytes(options.targetCpu);
  int target = kind ? last : phase;
  int split = std::min(gradPhase(), target);
  // One timing report (--timing) for the whole compilation: MLIR's phases
  // and passes, then LLVM's translation, optimization and code generation.
  DefaultTimingManager timing;
  timing.setEnabled(options.timing);
  TimingScope root = timing.getRootScope();
  if (failed(lowerModule(module, -1, split, *pipeline, options, root, report)))
    return failure();
  if (signature && target >= gradPhase()) {
    auto entry = nn::findEntry(module, pipeline->compiledEntry());
    if (failed(entry))
      return failure();
    auto sig = nn::readSignature(*entry);
    if (failed(sig))
      return failure();
    *signature = *sig;
  }
  if (options.check && report && target >= gradPhase()) {
    llvm::raw_string_ostream os(report->referenceModule);
    module.print(os, OpPrintingFlags().enableDebugInfo());
    report->referenceEntry = pipeline->compiledEntry();
  }
  // An unchanged model compiled before: its object from the cache. Never
  // when the user asked to see the compilation itself.
  std::string cacheDir, cacheKey;
  bool watched = options.timing || options.printIrAfterAll || !options.dumpDir.empty() ||
                 options.explainFusion || options.check;
  if (kind == ArtifactKind::Object && !watched && !holdsLargeConstants(module))
    cacheDir = objectCacheDirectory(options.cache);
  if (!cacheDir.empty()) {
    std::string settings;
    llvm::raw_string_ostream os(settings);
    os << "entry=" << pipeline->compiledEntry() << " symbol=" << pipeline->symbol
       << " tsan=" << options.threadSanitizer << " profile=" << options.profile << " tile=" << pipeline->tileRows << "x" << pipeline->tileColumns
       << " threads=" << pipeline->threads
       << " vector-bits=" << pipeline->vectorBits << " l2=" << pipeline->l2Bytes << " cpu=" << tm->getTargetCPU()
       << " features=" << tm->getTargetFeatureString() << " triple=" << tm->getTargetTriple().str();
    cacheKey = objectCacheKey(module, settings);
    if (auto hit = lookupObject(cacheDir, cacheKey)) {
      if (report) {
        report->workspaceBytes = hit->workspaceBytes;
        report->kernels = hit->kernels;
        report->fromCache = true;
      }
      return std::move(hit->object);
    }
  }
  CompileReport local;
  if (!report && !cacheDir.empty())
    report = &local; // the entry records the workspace size and kernel count
  if (failed(lowerModule(module, split, target, *pipeline, options, root, report)))
    return failure();
  if (report)
    if (auto size = module.lookupSymbol<LLVM::LLVMFuncOp>(options.symbol + "_workspace_size"))
      size.walk([&](LLVM::ConstantOp c) {
        if (auto v = dyn_cast<IntegerAttr>(c.getValue()))
          report->workspaceBytes = v.getInt();
      });
  if (!kind && report && report->discardText)
    return std::string();
  if (!kind) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module.print(os);
    return text;
  }
  auto artifact = emitArtifact(module, *tm, *kind, root, options.timing, options.threadSanitizer);
  if (!artifact)
    return module.emitError() << llvm::toString(artifact.takeError());
  if (!cacheDir.empty())
    storeObject(cacheDir, cacheKey, {*artifact, report->workspaceBytes, report->kernels});
  return *artifact;
}

static DType dtypeOf(Type t) {
  if (t.isF64())
    return DType::f64;
  if (t.isInteger(32))
    return DType::i32;
  if (t.isInteger(64))
    return DType::i64;
  if (t.isInteger(1))
    return DType::boolean;
  return DType::f32;
}

/// A parameter's `init = "values"` as a tensor: the attribute's bytes
/// copied once (a 100M-parameter model's weights are never expanded to
/// doubles), or the values converted where the bytes are not the tensor's
/// (a splat, a blob). Empty where the attribute cannot be read (the
/// verifier has rejected those).
static std::optional<HostTensor> initialValues(ElementsAttr attr, DType dtype, const Shape &shape) {
  if (!attr)
    return std::nullopt;
  auto made = HostTensor::allocate(dtype, shape, "an initial value");
  if (!made)
    return std::nullopt;
  HostTensor value = std::move(*made);
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (dense && !dense.isSplat() && (dtype == DType::f32 || dtype == DType::f64) &&
      dense.getRawData().size() == size_t(value.bytes())) {
    std::memcpy(value.data(), dense.getRawData().data(), value.bytes());
    return value;
  }
  auto values = nn::constantValues(attr);
  if (failed(values) || int64_t(values->size()) != value.size())
    return std::nullopt;
  for (int64_t i = 0; i < value.size(); ++i)
    value.set(i, (*values)[i]);
  return value;
}

std::vector<TensorInfo> describe(const nn::Signature &signature, bool withValues) {
  std::vector<TensorInfo> out;
  auto info = [](const std::string &name, RankedTensorType type) {
    TensorInfo t;
    t.name = name;
    t.dtype = dtypeOf(type.getElementType());
    t.shape.assign(type.getShape().begin(), type.getShape().end());
    return t;
  };
  for (const nn::ArgSpec &arg : signature.args) {
    TensorInfo t = info(arg.name, arg.type);
    t.isParam = arg.isParam;
    if (arg.isParam) {
      DictionaryAttr d = arg.init;
      auto num = [&](StringRef key, double dflt) {
        Attribute a = d.get(key);
        if (auto f = dyn_cast_or_null<FloatAttr>(a))
          return f.getValueAsDouble();
        if (auto i = dyn_cast_or_null<IntegerAttr>(a))
          return double(i.getValue().getSExtValue());
        return dflt;
      };
      StringRef kind = d.getAs<StringAttr>("init").getValue();
      if (kind == "normal")
        t.init = {ParamInit::Kind::Normal, num("mean", 0.0), num("std", 1.0), 0, {}, nullptr};
      else if (kind == "uniform")
        t.init = {ParamInit::Kind::Uniform, num("low", 0.0), num("high", 1.0), 0, {}, nullptr};
      else if (kind == "ones")
        t.init.kind = ParamInit::Kind::Ones;
      else if (kind == "values") {
        t.init.kind = ParamInit::Kind::Values;
        auto value = withValues ? initialValues(d.getAs<ElementsAttr>("value"), t.dtype, t.shape) : std::nullopt;
        if (value)
          t.init.tensor = std::make_shared<HostTensor>(std::move(*value)); // not const: see compileModule
      } else
        t.init.kind = ParamInit::Kind::Zeros;
      if (auto seed = d.getAs<IntegerAttr>("seed"))
        t.init.seed = seed.getValue().getZExtValue();
    }
    out.push_back(t);
  }
  for (const nn::ResultSpec &res : signature.results)
    out.push_back(info(res.name, res.type));
  return out;
}

} // namespace kiln
