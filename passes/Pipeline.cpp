//===- Pipeline.cpp - kiln's ordered phase table -------------------------===//
//
// Read top to bottom, this is the compiler: each phase is a named, printable
// pass pipeline whose output can be dumped, read back and fed to kiln-opt.
// Every pass comes from its typed constructor and options struct (a
// misspelt pass or option does not compile); phasePipelineText prints a
// phase as the textual pipeline it is.
//
//===----------------------------------------------------------------------===//
#include "passes/Pipeline.h"

#include "passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/STLExtras.h"

namespace kiln {

using mlir::OpPassManager;
namespace bufferization = mlir::bufferization;

/// A pass manager for the functions of a module.
static OpPassManager &functions(OpPassManager &pm) { return pm.nest<mlir::func::FuncOp>(); }

static void addCleanup(OpPassManager &pm) {
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
}

static const Phase kPhases[] = {
    {"nn", "the verified nn graph, canonicalized (folds) and deduplicated; attention spelled out as nn.attention",
     [](OpPassManager &pm, const PipelineOptions &o) {
       addCleanup(pm);
       RecognizeAttentionOptions r;
       r.explain = o.explainFusion;
       functions(pm).addPass(createRecognizeAttention(r));
       addCleanup(pm);
     }},

    {"grad",
     "reverse-mode gradients or a whole training step, still as nn ops (only when requested)",
     [](OpPassManager &pm, const PipelineOptions &o) {
       if (o.gradient) {
         DifferentiateOptions d;
         d.func = o.entry;
         d.wrt = o.wrt;
         d.of = o.of;
         pm.addPass(createDifferentiate(d));
       } else if (o.trainStep) {
         MakeTrainStepOptions t;
         t.func = o.entry;
         t.optimizer = o.optimizer;
         t.loss = o.loss;
         t.params = o.trainParams;
         t.momentum = o.momentum;
         t.beta1 = o.beta1;
         t.beta2 = o.beta2;
         t.eps = o.eps;
         t.weightDecay = o.weightDecay;
         t.clipNorm = o.clipNorm;
         pm.addPass(createMakeTrainStep(t));
       } else {
         return; // nothing requested
       }
       addCleanup(pm);
     }},

    {"linalg", "nn ops as linalg/tensor/arith/math ops writing into destinations",
     [](OpPassManager &pm, const PipelineOptions &o) {
       // A gradient or training step's forward model is not compiled: only
       // the compiled entry and what it calls go on.
       if (o.gradient || o.trainStep) {
         pm.addPass(mlir::createSymbolPrivatizePass({o.compiledEntry()}));
         pm.addPass(mlir::createSymbolDCEPass());
       }
       functions(pm).addPass(createLowerAttention());
       SplitScanRowsOptions rows;
       rows.threads = o.threads;
       rows.explain = o.explainFusion;
       functions(pm).addPass(createSplitScanRows(rows));
       functions(pm).addPass(createLowerNNToLinalg());
       addCleanup(pm);
     }},

    {"fused",
     "elementwise chains as one loop each; a kernel's location lists its nn ops "
     "(matmul epilogues and row kernels are fused as they are tiled)",
     [](OpPassManager &pm, const PipelineOptions &o) {
       FuseElementwiseOptions f;
       f.explain = o.explainFusion;
       functions(pm).addPass(createFuseElementwise(f));
       addCleanup(pm);
     }},

    {"tiled",
     "matmuls and convolutions as peeled, vectorized register tiles sized for the target (8x32 on AVX-512), "
     "an elementwise consumer applied in registers as their epilogue; softmax, layer_norm and "
     "losses as one vectorized kernel per row; big ones marked for the thread pool",
     [](OpPassManager &pm, const PipelineOptions &o) {
       TileMatmulOptions m;
       m.vectorBits = o.vectorBits;
       m.tileM = o.tileRows;
       m.tileN = o.tileColumns;
       m.l2Bytes = o.l2Bytes;
       m.explain = o.explainFusion;
       TileRowsOptions r;
       r.vectorBits = o.vectorBits;
       r.explain = o.explainFusion;
       TileConvolutionOptions c;
       c.vectorBits = o.vectorBits;
       c.explain = o.explainFusion;
       OpPassManager &f = functions(pm);
       f.addPass(createTileConvolution(c));
       TilePoolingOptions pool;
       pool.vectorBits = o.vectorBits;
       f.addPass(createTilePooling(pool));
       f.addPass(createTileMatmul(m));
       f.addPass(createTileRows(r));
       f.addPass(createChunkElementwise());
       addCleanup(pm);
       // Subset hoisting keeps each tile's accumulator in a loop-carried
       // vector across the k loop (on tensors, where nothing aliases).
       OpPassManager &hoist = functions(pm);
       hoist.addPass(mlir::createLoopInvariantCodeMotionPass());
       hoist.addPass(mlir::createLoopInvariantSubsetHoistingPass());
       hoist.addPass(createSinkTemporaries()); // but a parallel loop's temporaries stay in it
       pm.addPass(mlir::createCanonicalizerPass());
     }},

    {"bufferized",
     "tensors become buffers: results are caller-owned out-parameters, temporaries are freed",
     [](OpPassManager &pm, const PipelineOptions &o) {
       OpPassManager &f = functions(pm);
       f.addPass(createSplitDestinations());
       f.addPass(createUpdateInPlace());
       f.addPass(createMaterializeResults());
       pm.addPass(bufferization::createEmptyTensorEliminationPass());
       pm.addPass(createBufferizeModule());
       // Loops yield the buffer they were given: folding their results to
       // it lets a result's buffer be the caller's out-parameter (no copy),
       // as kiln-results-to-out-params sees the alloc.
       pm.addPass(mlir::createCanonicalizerPass());
       pm.addPass(bufferization::createDropEquivalentBufferResultsPass());
       pm.addPass(createResultsToOutParams());
       functions(pm).addPass(createCopiesToLinalg());
       pm.addPass(mlir::createCanonicalizerPass());
       // Before hoisting: a buffer private to a parallel loop's iterations
       // moves to each thread's scratch, not out of the loop.
       pm.addPass(createParallelizeLoops());
       // From here on the entry and each outlined parallel kernel are
       // functions of their own: cleanups run per function, on every core.
       OpPassManager &hoisted = functions(pm);
       hoisted.addPass(bufferization::createBufferLoopHoistingPass());
       hoisted.addPass(mlir::createCanonicalizerPass());
       pm.addPass(bufferization::createOwnershipBasedBufferDeallocationPass());
       OpPassManager &deallocs = functions(pm);
       deallocs.addPass(mlir::createCanonicalizerPass());
       deallocs.addPass(bufferization::createBufferDeallocationSimplificationPass());
       pm.addPass(bufferization::createLowerDeallocationsPass());
       addCleanup(functions(pm)); // folds the ownership checks to plain deallocs
       functions(pm).addPass(mlir::createCanonicalizerPass());
       PlanWorkspaceOptions w;
       w.entry = o.compiledEntry();
       pm.addPass(createPlanWorkspace(w));
       functions(pm).addPass(mlir::createCanonicalizerPass());
       if (o.profile || o.check) {
         ProfileKernelsOptions p;
         p.entry = o.compiledEntry();
         p.check = o.check;
         p.perturbKernel = o.perturbKernel;
         pm.addPass(createProfileKernels(p));
       }
     }},

    {"llvm", "every kernel in a function of its own (small consecutive ones together), loops lowered to the "
             "LLVM dialect, wrapped in the ABI entry function",
     [](OpPassManager &pm, const PipelineOptions &o) {
       // Every kernel a function of its own: the per-function lowerings
       // below and LLVM's work then spread over the cores.
       pm.addPass(createOutlineKernels());
       OpPassManager &f = functions(pm);
       f.addPass(createEmptyBufferArgs());
       f.addPass(createLowerVectors());
       f.addPass(createCollapseLoops());
       f.addPass(mlir::createConvertLinalgToLoopsPass());
       // Lowerings that stay inside a function, down to the vector, math
       // and arith conversions to LLVM, run per function, so the pass
       // manager spreads them over the cores; the conversions that declare
       // functions (malloc, libm) or change signatures run on the module.
       f.addPass(mlir::createConvertVectorToSCFPass(mlir::VectorTransferToSCFOptions().enableFullUnroll()));
       f.addPass(mlir::createLowerAffinePass());
       f.addPass(mlir::createConvertSCFToCFPass());
       f.addPass(createApproximateMath());
       f.addPass(mlir::memref::createExpandStridedMetadataPass());
       f.addPass(mlir::createLowerAffinePass());
       // A row kernel's last step sums one vector of partial sums: in
       // order, that is 16-64 dependent adds per reduction (a 128-wide
       // layer norm row spent ~600 cycles in two of them); as a tree, a few
       // shuffles. Still the same order on every thread count.
       mlir::ConvertVectorToLLVMPassOptions vectors;
       vectors.reassociateFPReductions = true;
       f.addPass(mlir::createConvertVectorToLLVMPass(vectors));
       f.addPass(mlir::createConvertMathToLLVMPass());
       f.addPass(mlir::createArithToLLVMConversionPass());
       pm.addPass(mlir::createFinalizeMemRefToLLVMConversionPass());
       pm.addPass(mlir::createConvertMathToLibmPass());
       mlir::ConvertFuncToLLVMPassOptions calls;
       calls.useBarePtrCallConv = true;
       pm.addPass(mlir::createConvertFuncToLLVMPass(calls));
       pm.addPass(mlir::createConvertControlFlowToLLVMPass());
       pm.addPass(mlir::createReconcileUnrealizedCastsPass());
       EmitEntryOptions e;
       e.entry = o.compiledEntry();
       e.symbol = o.symbol;
       pm.addPass(createEmitEntry(e));
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

void addPhases(OpPassManager &pm, int from, int to, const PipelineOptions &options) {
  for (int i = from + 1; i <= to; ++i)
    kPhases[i].addPasses(pm, options);
}

std::string phasePipelineText(const Phase &phase, const PipelineOptions &options) {
  OpPassManager pm(mlir::ModuleOp::getOperationName());
  phase.addPasses(pm, options);
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      pm.getPasses(), os, [&](mlir::Pass &pass) { pass.printAsTextualPipeline(os); }, ",");
  return text;
}

} // namespace kiln
