//===- Pipeline.cpp - kiln's ordered phase table -------------------------===//
//
// Read top to bottom, this is the compiler: each phase is a named, printable
// pass pipeline whose output can be dumped, read back and fed to kiln-opt.
//
//===----------------------------------------------------------------------===//
#include "passes/Pipeline.h"

#include "mlir/Pass/PassRegistry.h"

#include <cstdio>

namespace kiln {

/// A double that reads back exactly (std::to_string would print 1e-8 as 0.000000).
static std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

static std::string flag(bool on) { return on ? "1" : "0"; }

static const Phase kPhases[] = {
    {"nn", "the verified nn graph, canonicalized (folds) and deduplicated",
     [](const PipelineOptions &) -> std::string { return "canonicalize,cse"; }},

    {"grad",
     "reverse-mode gradients or a whole training step, still as nn ops (only when requested)",
     [](const PipelineOptions &o) -> std::string {
       auto list = [](const std::vector<std::string> &names) {
         std::string s;
         for (const std::string &n : names)
           s += (s.empty() ? "" : ",") + n;
         return s;
       };
       if (o.gradient)
         return "kiln-differentiate{func=" + o.entry +
                (o.wrt.empty() ? "" : " wrt=" + list(o.wrt)) + "},canonicalize,cse";
       if (o.trainStep)
         return "kiln-make-train-step{func=" + o.entry + " optimizer=" + o.optimizer +
                (o.loss.empty() ? "" : " loss=" + o.loss) +
                (o.trainParams.empty() ? "" : " params=" + list(o.trainParams)) +
                " momentum=" + number(o.momentum) + " beta1=" + number(o.beta1) +
                " beta2=" + number(o.beta2) + " eps=" + number(o.eps) +
                " weight-decay=" + number(o.weightDecay) + "},canonicalize,cse";
       return "";
     }},

    {"linalg", "nn ops as linalg/tensor/arith/math ops writing into destinations",
     [](const PipelineOptions &o) -> std::string {
       // A gradient or training step's forward model is not compiled: only
       // the compiled entry and what it calls go on.
       std::string keepEntry = o.gradient || o.trainStep
                                   ? "symbol-privatize{exclude=" + o.compiledEntry() + "},symbol-dce,"
                                   : "";
       return keepEntry + "func.func(kiln-lower-nn-to-linalg),canonicalize,cse";
     }},

    {"fused",
     "elementwise chains as one loop each; a kernel's location lists its nn ops "
     "(matmul epilogues and row kernels are fused as they are tiled)",
     [](const PipelineOptions &o) -> std::string {
       return "func.func(kiln-fuse-elementwise{explain=" + flag(o.explainFusion) + "}),canonicalize,cse";
     }},

    {"tiled",
     "matmuls as peeled, vectorized register tiles sized for the target (8x32 on AVX-512), "
     "an elementwise consumer applied in registers as their epilogue; softmax, layer_norm and "
     "losses as one vectorized kernel per row; big ones marked for the thread pool",
     [](const PipelineOptions &o) -> std::string {
       // Subset hoisting keeps each tile's accumulator in a loop-carried
       // vector across the k loop (on tensors, where nothing aliases).
       return "func.func(kiln-tile-matmul{vector-bits=" + std::to_string(o.vectorBits) +
              " tile-m=" + std::to_string(o.tileRows) + " tile-n=" + std::to_string(o.tileColumns) +
              " explain=" + flag(o.explainFusion) + "},kiln-tile-rows{vector-bits=" +
              std::to_string(o.vectorBits) + " explain=" + flag(o.explainFusion) + "}),canonicalize,cse,"
              "func.func(loop-invariant-code-motion,loop-invariant-subset-hoisting),canonicalize";
     }},

    {"bufferized",
     "tensors become buffers: results are caller-owned out-parameters, temporaries are freed",
     [](const PipelineOptions &o) -> std::string {
       return "func.func(kiln-split-destinations,kiln-update-in-place,kiln-materialize-results),"
              "eliminate-empty-tensors,"
              "one-shot-bufferize{bufferize-function-boundaries=1 "
              "function-boundary-type-conversion=identity-layout-map},"
              // Loops yield the buffer they were given: folding their results
              // to it lets a result's buffer be the caller's out-parameter
              // (no copy), as buffer-results-to-out-params sees the alloc.
              "canonicalize,"
              "drop-equivalent-buffer-results,"
              "buffer-results-to-out-params{hoist-static-allocs=1},"
              "func.func(kiln-copies-to-linalg),canonicalize,"
              // Before hoisting: a buffer private to a parallel loop's
              // iterations moves to each thread's scratch, not out of the loop.
              "kiln-parallelize-loops,"
              "func.func(buffer-loop-hoisting),"
              "canonicalize,"
              "ownership-based-buffer-deallocation,"
              "canonicalize,"
              "buffer-deallocation-simplification,"
              "bufferization-lower-deallocations,"
              "cse,canonicalize,"  // folds the ownership checks to plain deallocs
              "kiln-plan-workspace{entry=" + o.compiledEntry() + "},"
              "canonicalize";
     }},

    {"llvm", "loops lowered to the LLVM dialect, wrapped in the ABI entry function",
     [](const PipelineOptions &o) -> std::string {
       return "func.func(kiln-lower-vectors,convert-linalg-to-loops),"
              "convert-vector-to-scf{full-unroll=1},"
              "lower-affine,"
              "convert-scf-to-cf,"
              "kiln-approximate-math,"
              "expand-strided-metadata,"
              "lower-affine,"
              "convert-vector-to-llvm,"
              "finalize-memref-to-llvm,"
              "convert-math-to-llvm,"
              "convert-math-to-libm,"
              "convert-arith-to-llvm,"
              "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
              "convert-cf-to-llvm,"
              "reconcile-unrealized-casts,"
              "kiln-emit-entry{entry=" +
              o.compiledEntry() + " symbol=" + o.symbol + "}";
     }},
};

llvm::ArrayRef<Phase> phases() { return kPhases; }

int gradPhase() { return phaseIndex("grad"); }

int phaseIndex(llvm::StringRef name) {
  for (size_t i = 0; i < std::size(kPhases); ++i)
    if (name == kPhases[i].name)
      return int(i);
  return -1;
}

mlir::LogicalResult addPhases(mlir::OpPassManager &pm, int from, int to,
                              const PipelineOptions &options, std::string &error) {
  for (int i = from + 1; i <= to; ++i) {
    std::string text = kPhases[i].passes(options);
    if (text.empty())
      continue; // a phase with nothing requested (grad)
    llvm::raw_string_ostream os(error);
    if (mlir::failed(mlir::parsePassPipeline(text, pm, os))) {
      os << " (in phase '" << kPhases[i].name << "')";
      return mlir::failure();
    }
  }
  return mlir::success();
}

} // namespace kiln
