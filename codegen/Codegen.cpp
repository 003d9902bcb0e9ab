//===- Codegen.cpp - LLVM dialect -> LLVM IR -> asm / object -------------===//
#include "codegen/Codegen.h"
#include "codegen/ObjectBundle.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/PassTimingInfo.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/StandardInstrumentations.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Transforms/Instrumentation/ThreadSanitizer.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <cstdlib>
#include <thread>

namespace kiln {

static void initializeNativeTarget() {
  static bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    return true;
  }();
  (void)done;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createTargetMachine(llvm::StringRef cpu) {
  initializeNativeTarget();
  std::string triple = llvm::sys::getProcessTriple();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "no LLVM target for " + triple + ": " + error);
  std::string cpuName, features;
  if (cpu.empty() || cpu == "host") {
    cpuName = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures f;
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      f.AddFeature(feature.first(), feature.second);
    features = f.getString();
  } else {
    cpuName = cpu.str();
    // Asked of a generic subtarget: one made for an unknown CPU prints
    // LLVM's own warning (twice) before kiln's error.
    std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
    if (!sti || !sti->isCPUStringValid(cpuName))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "unknown target CPU '" + cpuName +
                                         "' (try host, x86-64, x86-64-v2, x86-64-v3, "
                                         "x86-64-v4, skylake-avx512, znver3)");
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpuName, features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "could not create a target machine for " + cpuName);
  return tm;
}

/// LLVM's O3 pipeline, with loop unrolling off: lowered linalg loops have
/// small static trip counts that O3 would unroll completely (a language
/// model's training step grew to 170k lines of IR and 20 s of codegen).
/// Vectorization (loop and SLP) stays on; unrolling of register tiles is
/// the job of kiln's own tiling passes.
/// With `timePasses`, LLVM's own per-pass times follow (stderr), as
/// `--timing` asks. With `threadSanitizer`, ThreadSanitizer's passes run
/// last (as clang's -fsanitize=thread places them), so that every load and
/// store of the optimized kernels is checked.
static void optimize(llvm::Module &module, llvm::TargetMachine &tm, bool timePasses,
                     bool threadSanitizer, llvm::raw_ostream &passTimesOut = llvm::errs()) {
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = false;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassInstrumentationCallbacks instrumentation;
  llvm::TimePassesHandler passTimes(timePasses);
  passTimes.setOutStream(passTimesOut);
  passTimes.registerCallbacks(instrumentation);
  llvm::PassBuilder pb(&tm, tuning, std::nullopt, &instrumentation);
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  if (threadSanitizer)
    pb.registerOptimizerLastEPCallback([](llvm::ModulePassManager &mpm, llvm::OptimizationLevel) {
      mpm.addPass(llvm::ModuleThreadSanitizerPass());
      mpm.addPass(llvm::createModuleToFunctionPassAdaptor(llvm::ThreadSanitizerPass()));
    });
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(module, mam);
  if (timePasses)
    passTimes.print();
}

/// LLVM's code generation of one module into an object or assembly.
static llvm::Expected<std::string> generateCode(llvm::Module &module, llvm::TargetMachine &tm,
                                                llvm::CodeGenFileType fileType) {
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream bufferStream(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, bufferStream, nullptr, fileType))
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "the target cannot emit this file type");
  pm.run(module);
  return std::string(buffer.str());
}

/// Below this many instructions a part's own overhead (cloning, bitcode,
/// a thread) would cost what the second core saves. Measured on 2 cores:
/// the MLP's training step (4.4k instructions) 0.30 -> 0.16 s of LLVM time
/// in two parts, the attention LM's (41k) 2.7-3.8 -> 1.6-1.9 s.
constexpr size_t kMinInstructionsPerPartition = 1000;

/// How many partitions to generate `module`'s code in: one per core, none
/// smaller than kMinInstructionsPerPartition; KILN_COMPILE_THREADS=N asks
/// for N whatever the size (1: one module, as `--emit=llvm-ir` prints it).
/// At most one per defined function, and 16.
static unsigned codegenPartitions(const llvm::Module &module) {
  size_t instructions = 0, functions = 0;
  for (const llvm::Function &f : module)
    if (!f.isDeclaration()) {
      ++functions;
      instructions += f.getInstructionCount();
    }
  size_t parts = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()),
                                  instructions / kMinInstructionsPerPartition);
  if (const char *env = std::getenv("KILN_COMPILE_THREADS"); env && std::atoi(env) > 0)
    parts = size_t(std::atoi(env));
  return unsigned(std::max<size_t>(1, std::min<size_t>({parts, functions, 16})));
}

/// A TargetMachine like `tm` for another thread (one is not thread-safe:
/// it caches subtargets as functions ask for them).
static std::unique_ptr<llvm::TargetMachine> cloneTargetMachine(const llvm::TargetMachine &tm) {
  return std::unique_ptr<llvm::TargetMachine>(tm.getTarget().createTargetMachine(
      tm.getTargetTriple().str(), tm.getTargetCPU(), tm.getTargetFeatureString(), tm.Options,
      tm.getRelocationModel(), tm.getCodeModel(), tm.getOptLevel()));
}

/// `module` split into `partitions` modules of about equal instruction
/// counts, each as bitcode (for a thread's own LLVMContext). What is local
/// becomes hidden-external first, renamed `kiln.part.NAME`, so that a part
/// can reference what another defines (the entry calls the kernels'
/// outlined functions through pointers); functions go to the least loaded
/// part, largest first; global variables stay with part 0, declared in the
/// others.
/// (llvm::SplitModule balances by function count: the entry function,
/// a third of the LM step's code, left one part twice the other.)
static std::vector<llvm::SmallString<0>> splitModule(llvm::Module &module, unsigned partitions, std::string &sizes) {
  for (llvm::GlobalValue &gv : module.global_values()) {
    if (gv.isDeclaration() || !gv.hasLocalLinkage())
      continue;
    // A name no C code can declare (the model's own function may be
    // `main`, beside an executable's main()); unique within the module.
    gv.setName("kiln.part." + (gv.hasName() ? gv.getName() : "local"));
    gv.setLinkage(llvm::GlobalValue::ExternalLinkage);
    gv.setVisibility(llvm::GlobalValue::HiddenVisibility);
  }
  struct Sized {
    size_t instructions, order;
    const llvm::Function *f;
  };
  std::vector<Sized> functions;
  for (const llvm::Function &f : module)
    if (!f.isDeclaration())
      functions.push_back({f.getInstructionCount(), functions.size(), &f});
  // Largest first; equal sizes in module order (the same parts every time).
  llvm::sort(functions, [](const Sized &a, const Sized &b) {
    return a.instructions != b.instructions ? a.instructions > b.instructions : a.order < b.order;
  });
  std::vector<size_t> load(partitions, 0);
  llvm::DenseMap<const llvm::GlobalValue *, unsigned> partOf;
  for (auto &[instructions, order, f] : functions) {
    unsigned least = unsigned(std::min_element(load.begin(), load.end()) - load.begin());
    partOf[f] = least;
    load[least] += instructions;
  }
  std::vector<llvm::SmallString<0>> bitcode;
  for (unsigned i = 0; i < partitions; ++i) {
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> part = llvm::CloneModule(module, map, [&](const llvm::GlobalValue *gv) {
      auto it = partOf.find(gv);
      return (it == partOf.end() ? 0u : it->second) == i;
    });
    llvm::SmallString<0> bytes;
    llvm::raw_svector_ostream os(bytes);
    llvm::WriteBitcodeToFile(*part, os);
    bitcode.push_back(std::move(bytes));
    sizes += (sizes.empty() ? "" : " + ") + std::to_string(load[i]);
  }
  return bitcode;
}

/// The object of `module` generated in `partitions` parts at once, each
/// optimized and compiled on its own thread in its own LLVMContext, as
/// LLVM's ParallelCG does for LTO. The model's functions are independent
/// (kernels on the thread pool are functions of their own, called through
/// pointers), so splitting loses no inlining; the parts' objects are
/// bundled (codegen/ObjectBundle.h).
static llvm::Expected<std::string> emitPartitioned(llvm::Module &module, const llvm::TargetMachine &tm,
                                                   unsigned partitions, bool llvmPassTimes, bool threadSanitizer,
                                                   mlir::TimingScope &timing) {
  std::string sizes;
  mlir::TimingScope splitting = timing.nest("llvm-ir: split into parts");
  std::vector<llvm::SmallString<0>> bitcode = splitModule(module, partitions, sizes);
  splitting.stop();
  size_t n = bitcode.size();
  mlir::TimingScope parallel =
      timing.nest("llvm-ir + obj: optimize (O3, no unrolling) and code generation, " + std::to_string(n) +
                  " parts (" + sizes + " instructions) on as many threads");
  std::vector<std::string> objects(n), errors(n), passTimes(n);
  auto compilePart = [&](size_t i) {
    llvm::LLVMContext context;
    auto part = llvm::parseBitcodeFile(llvm::MemoryBufferRef(bitcode[i].str(), "kiln-part"), context);
    if (!part) {
      errors[i] = llvm::toString(part.takeError());
      return;
    }
    std::unique_ptr<llvm::TargetMachine> partTm = cloneTargetMachine(tm);
    if (!partTm) {
      errors[i] = "could not create a target machine for a code generation thread";
      return;
    }
    llvm::raw_string_ostream times(passTimes[i]);
    optimize(**part, *partTm, llvmPassTimes, threadSanitizer, times);
    auto object = generateCode(**part, *partTm, llvm::CodeGenFileType::ObjectFile);
    if (!object) {
      errors[i] = llvm::toString(object.takeError());
      return;
    }
    objects[i] = std::move(*object);
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i)
    threads.emplace_back(compilePart, i);
  compilePart(0);
  for (std::thread &t : threads)
    t.join();
  for (size_t i = 0; i < n; ++i) {
    if (!errors[i].empty())
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "code generation of part " + std::to_string(i) + ": " + errors[i]);
    if (llvmPassTimes)
      llvm::errs() << "LLVM pass times of code part " << i + 1 << " of " << n << ":\n" << passTimes[i];
  }
  return bundleObjects(objects);
}

llvm::Expected<std::string> emitArtifact(mlir::ModuleOp module, llvm::TargetMachine &tm,
                                         ArtifactKind kind, mlir::TimingScope &timing,
                                         bool llvmPassTimes, bool threadSanitizer) {
  llvm::LLVMContext llvmContext;
  mlir::TimingScope translating = timing.nest("llvm-ir: translate");
  std::unique_ptr<llvm::Module> llvmModule = mlir::translateModuleToLLVMIR(module, llvmContext);
  translating.stop();
  if (!llvmModule)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "translation of the LLVM dialect to LLVM IR failed");
  llvmModule->setDataLayout(tm.createDataLayout());
  llvmModule->setTargetTriple(tm.getTargetTriple().str());
  // Every function carries the CPU and features so that vectorization and
  // instruction selection agree on the target. On AVX-512, LLVM's loop
  // vectorizer prefers 256-bit vectors (512-bit code lowers the clock on
  // Skylake-SP); kiln's register tiles are 512-bit already, so the clock
  // is paid anyway and the loops it leaves to LLVM (elementwise kernels, a
  // recurrence's gates) would run at half width: an LSTM cell's gate math
  // over 2048 x 512 took 1.24x as long at 256 bits.
  bool wide = tm.getMCSubtargetInfo()->checkFeatures("+avx512f");
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    if (!tm.getTargetFeatureString().empty())
      f.addFnAttr("target-features", tm.getTargetFeatureString());
    if (threadSanitizer)
      f.addFnAttr(llvm::Attribute::SanitizeThread);
    if (wide)
      f.addFnAttr("prefer-vector-width", "512");
  }
  // An object (what the JIT and AOT take) is generated on every core when
  // the module is big enough; the text stages stay one module, as printed.
  if (unsigned partitions = codegenPartitions(*llvmModule); kind == ArtifactKind::Object && partitions > 1)
    return emitPartitioned(*llvmModule, tm, partitions, llvmPassTimes, threadSanitizer, timing);
  mlir::TimingScope optimizing = timing.nest("llvm-ir: optimize (O3, no unrolling)");
  optimize(*llvmModule, tm, llvmPassTimes, threadSanitizer);
  optimizing.stop();

  if (kind == ArtifactKind::LLVMIR) {
    std::string out;
    llvm::raw_string_ostream os(out);
    llvmModule->print(os, nullptr);
    return out;
  }
  mlir::TimingScope generating = timing.nest("asm/obj: LLVM code generation");
  return generateCode(*llvmModule, tm,
                      kind == ArtifactKind::Object ? llvm::CodeGenFileType::ObjectFile
                                                   : llvm::CodeGenFileType::AssemblyFile);
}

} // namespace kiln
