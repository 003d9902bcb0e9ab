//===- Codegen.cpp - LLVM dialect -> LLVM IR -> asm / object -------------===//
#include "codegen/Codegen.h"

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
                     bool threadSanitizer) {
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = false;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassInstrumentationCallbacks instrumentation;
  llvm::TimePassesHandler passTimes(timePasses);
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
  // instruction selection agree on the target.
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    if (!tm.getTargetFeatureString().empty())
      f.addFnAttr("target-features", tm.getTargetFeatureString());
    if (threadSanitizer)
      f.addFnAttr(llvm::Attribute::SanitizeThread);
  }
  mlir::TimingScope optimizing = timing.nest("llvm-ir: optimize (O3, no unrolling)");
  optimize(*llvmModule, tm, llvmPassTimes, threadSanitizer);
  optimizing.stop();

  std::string out;
  llvm::raw_string_ostream os(out);
  if (kind == ArtifactKind::LLVMIR) {
    llvmModule->print(os, nullptr);
    return out;
  }
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream bufferStream(buffer);
  llvm::legacy::PassManager pm;
  auto fileType = kind == ArtifactKind::Object ? llvm::CodeGenFileType::ObjectFile
                                               : llvm::CodeGenFileType::AssemblyFile;
  if (tm.addPassesToEmitFile(pm, bufferStream, nullptr, fileType))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the target cannot emit this file type");
  mlir::TimingScope generating = timing.nest("asm/obj: LLVM code generation");
  pm.run(*llvmModule);
  generating.stop();
  return std::string(buffer.str());
}

} // namespace kiln
