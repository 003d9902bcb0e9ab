//===- Passes.td - every kiln pass, in one place --------------------------===//
#ifndef KILN_PASSES
#define KILN_PASSES

include "mlir/Pass/PassBase.td"

def Differentiate : Pass<"kiln-differentiate", "mlir::ModuleOp"> {
  let summary = "Add the reverse-mode gradient function of a model";
  let description = [{
    Adds `@<func>_grad` (see passes/autodiff/Autodiff.h): f's arguments, a
    cotangent per non-scalar output, and as results f's outputs followed by
    `d_<arg>` for each argument in `wrt` (default: every parameter). The
    result is still nn IR: the `grad` phase.
  }];
  let options = [
    Option<"func", "func", "std::string", "\"main\"", "the function to differentiate">,
    ListOption<"wrt", "wrt", "std::string", "argument names (default: every parameter)">,
    Option<"of", "of", "std::string", "\"\"", "the one output to differentiate (default: every float output)">,
  ];
}

def MakeTrainStep : Pass<"kiln-make-train-step", "mlir::ModuleOp"> {
  let summary = "Add a training step: forward, backward and optimizer update";
  let description = [{
    Adds `@<func>_train_step(params..., inputs..., optimizer state..., lr)
    -> loss`. The parameters and the optimizer state (nn.param, initialised
    to zeros) are updated in place: their new values are results marked
    `nn.updates = <argument index>`, which kiln-update-in-place writes into
    the arguments' own buffers. `lr` is a run-time input (rank 0); the other
    hyper-parameters are options. Optimizers: sgd (with momentum), adam,
    adamw (decoupled weight decay), as in PyTorch.
  }];
  let options = [
    Option<"func", "func", "std::string", "\"main\"", "the model function">,
    Option<"loss", "loss", "std::string", "\"\"", "the loss output (default: the first rank-0 output)">,
    ListOption<"params", "params", "std::string", "parameters to train (default: all)">,
    Option<"optimizer", "optimizer", "std::string", "\"sgd\"", "sgd, adam or adamw">,
    Option<"momentum", "momentum", "double", "0.0", "SGD momentum">,
    Option<"beta1", "beta1", "double", "0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", "0.999", "Adam beta2">,
    Option<"eps", "eps", "double", "1e-8", "Adam epsilon">,
    Option<"weightDecay", "weight-decay", "double", "0.0", "AdamW decoupled weight decay">,
    Option<"clipNorm", "clip-norm", "double", "0.0",
           "scale the gradients to this global L2 norm at most (0: no clipping)">,
  ];
}

def TileMatmul : Pass<"kiln-tile-matmul", "mlir::func::FuncOp"> {
  let summary = "Tile matmul contractions into vectorized register tiles";
  let description = [{
    Every linalg contraction with one reduction as its last loop and
    projected-permutation maps (plain, batched or transposed matmuls) is
    tiled to register tiles of rows x columns outputs with a k loop inside
    (scf::tileUsingSCF), sized by a simple cost model: half the vector
    registers hold accumulators, a tile has up to 8 rows (4 with 16
    registers), and the columns fill the remaining accumulators, so a
    matrix-vector product gets one row of 16 vectors. The partial tiles at
    the edges are peeled off so
    that every tile has a static shape (any M, N, K, primes and 1 included),
    and each tile is vectorized to a vector.contract. kiln-lower-vectors
    then keeps the accumulator in registers across the k loop and lowers the
    contraction to broadcast + FMA outer products. A batch operand
    broadcast through a unit dimension is sliced to drop it first, so
    broadcast batches take the same path. Big plain matmuls are split into
    column blocks with one packed B panel each; long-K ones without an
    epilogue (whose B is not packed ahead) run in K blocks, each over the
    column tiles, with one panel per column tile that stays in L1; a matmul's only elementwise consumer becomes its
    epilogue, applied to each tile in registers (unless its result is an
    update written in place into an argument, `nn.updates`).
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", "512",
           "the target's vector width: 512 (AVX-512, 32 registers), 256 or 128 (16 registers)">,
    Option<"tileM", "tile-m", "int64_t", "0", "rows of a register tile (0: from the cost model)">,
    Option<"tileN", "tile-n", "int64_t", "0", "columns of a register tile (0: from the cost model)">,
    Option<"l2Bytes", "l2-bytes", "int64_t", "1048576",
           "the target's L2 cache per core (the host's when compiling for it; 1 MiB, the smallest "
           "measured, otherwise)">,
    Option<"parallelMinFlops", "parallel-min-flops", "int64_t", "4000000",
           "mark the output-tile loops of matmuls with at least this many flops `kiln.parallel`">,
    Option<"explain", "explain", "bool", "false", "remark on each matmul kernel and its epilogue">,
  ];
  let statistics = [
    Statistic<"epilogues", "epilogues", "matmuls whose elementwise consumer became their epilogue">,
    Statistic<"blocked", "blocked", "matmuls split into column blocks with one packed B panel each">,
    Statistic<"kBlocked", "k-blocked", "long-K matmuls split into K blocks whose B panels stay in L1">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
                           "mlir::affine::AffineDialect", "mlir::tensor::TensorDialect"];
}

def TileConvolution : Pass<"kiln-tile-convolution", "mlir::func::FuncOp"> {
  let summary = "Tile convolutions (window contractions) into vectorized register tiles";
  let description = [{
    A contraction whose output's last loop reads one operand contiguously
    at a shift of its reduction loops (a convolution in the direct form:
    out[n, g, o, q] += x[n, g, c, q + kh*dh*Wp + kw*dw] * w[g, o, c, kh, kw],
    or its weight gradient with the output channels last) is tiled to
    register tiles of rows x columns outputs (the output's last two loops;
    8 x 32 f32 on AVX-512), every other output loop one at a time, the
    zero fill fused in, the partial tiles peeled; each tile becomes vector
    code: accumulators in registers over all reduction loops, per step one
    vector load of the shifted operand and one broadcast FMA per row. The
    outermost output loop with at least 8 iterations (else the longest)
    goes on the thread pool. Contractions kiln-tile-matmul takes (projected
    permutations, one reduction) are left to it.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", "512",
           "the target's vector width: 512 (AVX-512, 32 registers), 256 or 128 (16 registers)">,
    Option<"parallelMinFlops", "parallel-min-flops", "int64_t", "4000000",
           "mark an output-tile loop of convolutions with at least this many flops `kiln.parallel`">,
    Option<"explain", "explain", "bool", "false", "remark on each convolution kernel">,
  ];
  let statistics = [
    Statistic<"tiledOps", "tiled", "window contractions tiled to register tiles">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
                           "mlir::affine::AffineDialect", "mlir::tensor::TensorDialect"];
}

def TilePooling : Pass<"kiln-tile-pooling", "mlir::func::FuncOp"> {
  let summary = "Pooling windows (max, sums, max pooling's argmax) as vector code";
  let description = [{
    A window reduction over x[n, c, i*sh + kh, j*sw + kw] (max pooling, the
    sums of average pooling, and the first-maximum tap of max pooling's
    gradient for unpadded windows, which the lowering marks
    `kiln.window_argmax`) is tiled to one output row piece at a time (two
    vectors of outputs along j; the tail peeled) and emitted as vector code:
    per tap, one contiguous load of the input row, every sw-th element
    picked by a shuffle, combined in the taps' row-major order as the loops
    combine them. Rows go on the thread pool.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", "512", "the target's vector width">,
    Option<"parallelMinElements", "parallel-min-elements", "int64_t", "65536",
           "mark a row loop of pooling kernels with at least this many outputs `kiln.parallel`">,
  ];
  let statistics = [
    Statistic<"tiledOps", "tiled", "window reductions emitted as vector code">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
                           "mlir::affine::AffineDialect", "mlir::tensor::TensorDialect"];
}

def LowerVectors : Pass<"kiln-lower-vectors", "mlir::func::FuncOp"> {
  let summary = "Hoist register-tile accumulators and lower contractions to FMAs";
  let description = [{
    On buffers: hoists the accumulator's transfer_read/write out of the k
    loop (linalg::hoistRedundantVectorTransfers), then lowers
    vector.contract to outer products (vector.fma per row) and transfers'
    permutation maps, ready for convert-vector-to-scf/llvm.
  }];
  let dependentDialects = ["mlir::vector::VectorDialect", "mlir::memref::MemRefDialect"];
}

def EmptyBufferArgs : Pass<"kiln-empty-buffer-args", "mlir::func::FuncOp"> {
  let summary = "Pass zero-sized buffer arguments as one-dimensional empty buffers";
  let description = [{
    MLIR's bare-pointer calling convention cannot lower an argument such as
    `memref<3x0xf32>` (its strides are not derivable), so a model with a
    zero-sized dimension other than the first failed late with "no lowered
    function". Such an argument becomes `memref<0xT>` -- the same one
    pointer in the ABI -- and a `memref.reinterpret_cast` gives the body
    its original shape back with the canonical strides. No element is ever
    read or written through it.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def CollapseLoops : Pass<"kiln-collapse-loops", "mlir::func::FuncOp"> {
  let summary = "Merge the loops of linalg ops over contiguous buffers into one";
  let description = [{
    A linalg op left for loops (elementwise kernels and broadcasts, copies)
    whose consecutive loops walk every operand contiguously (the same order
    in each indexing map, buffers with identity layouts) runs them as one
    loop: `memref<32x64x128xf32>` is walked as 262144 elements, not three
    nested loops. Transposes, reads through a constant index, fills (a
    scalar operand) and strided views are left alone. LLVM's per-loop work
    (induction variables, rotation, vectorization) shrinks with the number
    of loops; the code it vectorizes is one long loop instead of short
    inner ones.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def RecognizeAttention : Pass<"kiln-recognize-attention", "mlir::func::FuncOp"> {
  let summary = "Rewrite softmax between matmuls (attention spelled out) into nn.attention";
  let description = [{
    `matmul(softmax(select(mask, matmul(q, k^T) * c, -big), -1), v)` becomes
    `nn.attention(q, k, v) {causal, scale = c}` where that computes the same
    within f32 rounding: a causal mask from iotas (selected or added as
    0 / -big) becomes `causal`; another mask becomes the boolean mask with
    fill -inf, the bias select(mask, 0, fill) with a finite fill at most
    -1e9; an added float tensor becomes the bias; k may be transposed by
    the matmul or by nn.transpose; constant scales before or after the mask
    and on q or k multiply into `scale`; the scores are used nowhere else;
    probabilities used elsewhere, as shown attention weights, keep their
    softmax for those users. With `explain`, each rewrite (with its form) and
    each softmax between matmuls left alone is reported, with why.
  }];
  let options = [
    Option<"explain", "explain", "bool", "false", "report each rewrite and each softmax left alone">,
  ];
}

def LowerAttention : Pass<"kiln-lower-attention", "mlir::func::FuncOp"> {
  let summary = "Lower nn.attention: the plain composite of nn ops, or flash attention";
  let description = [{
    Where one batch's `[Lq, Lk]` scores have fewer than `flash-min-scores`
    elements, nn.attention becomes its composite of nn ops
    (ir/AttentionComposite.h): a matmul, the mask as selects, a softmax
    that gives zero rows where no key is left, a matmul; the usual matmul
    tiling and row kernels then apply. Otherwise it becomes flash attention
    on tensors: a loop over (batch, block of queries) marked for the thread
    pool, and in it a loop over blocks of keys keeping each query's running
    max, running sum and output accumulator (the online softmax), so that
    no `[Lq, Lk]` buffer exists; key blocks wholly above a causal diagonal
    are not visited. nn.attention_backward likewise becomes the composite
    gradient or flash attention's backward pass (one parallel iteration per
    batch, owning its dK and dV; P recomputed per block from each row's
    log-sum-exp, which the forward of the same attention keeps when the
    function has it, else a first loop over the keys recomputes).
  }];
  let options = [
    Option<"flashMinScores", "flash-min-scores", "int64_t", /*default=*/"4096",
           "one batch's number of scores (Lq x Lk) from which flash attention is used">,
    Option<"blockQueries", "block-queries", "int64_t", /*default=*/"64",
           "queries per flash block">,
    Option<"blockKeys", "block-keys", "int64_t", /*default=*/"64",
           "keys per flash block">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
                           "mlir::bufferization::BufferizationDialect"];
}

def LowerNNToLinalg : Pass<"kiln-lower-nn-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower nn ops to linalg/tensor/arith/math ops on tensors";
  let description = [{
    Every nn op becomes linalg ops that write into a destination tensor
    (`tensor.empty`, filled where a reduction needs an initial value), plus
    tensor reshapes and arith constants. Broadcast operands are read through
    indexing maps, never materialised. An nn op without a lowering is an error.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::scf::SCFDialect", "mlir::bufferization::BufferizationDialect"];
}

def SplitDestinations : Pass<"kiln-split-destinations", "mlir::func::FuncOp"> {
  let summary = "Give every destination tensor (empty, fill of empty) one user";
  let description = [{
    CSE merges identical `tensor.empty` and `linalg.fill` ops. Bufferized
    as they are, two matmuls sharing one zero-filled init conflict (one
    copies the other's buffer), and eliminate-empty-tensors would make every
    user of a shared empty write into an updated argument. Cloning these
    cheap destination ops per use restores one buffer per result.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def UpdateInPlace : Pass<"kiln-update-in-place", "mlir::func::FuncOp"> {
  let summary = "Write results marked nn.updates into their arguments' buffers";
  let description = [{
    A result with `nn.updates = i` becomes
    `bufferization.materialize_in_destination %new in %arg_i`; after
    bufferization (empty-tensor elimination, drop-equivalent-buffer-results)
    the update writes straight into the argument's buffer and the result
    disappears from the signature: no allocation, no copy.
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect"];
}

def FuseElementwise : Pass<"kiln-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Fuse elementwise producers into consumers that read each element once";
  let description = [{
    MLIR's elementwise fusion, limited to producers with one use and
    consumers whose indexing map for the fused operand is a permutation:
    every producer element is then computed once. (Fusing a bias-add and
    relu into the next matmul, as linalg-fuse-elementwise-ops does, would
    recompute them once per output column.) Chains of elementwise ops,
    broadcasts and the elementwise parts of softmax, layer norm, losses and
    optimizer updates become single loops. A fused op's location joins
    those of what it absorbed (a FusedLoc of the nn ops' named locations).
    A kernel's body is kept under `max-kernel-ops` operations: a longer
    chain becomes several kernels, so that compile time stays linear in
    the number of ops (LLVM's work per loop body grows faster than its size).
  }];
  let options = [
    Option<"explain", "explain", "bool", "false", "remark on each kernel and each producer left alone">,
    Option<"maxKernelOps", "max-kernel-ops", "int64_t", "64",
           "most operations in one fused kernel's body (longer chains are cut)">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def MaterializeResults : Pass<"kiln-materialize-results", "mlir::func::FuncOp"> {
  let summary = "Give every function result its own tensor before bufferization";
  let description = [{
    A result that is a function argument, or a value returned twice, is
    copied (`linalg.copy` into a `tensor.empty`), so every result owns a
    buffer that bufferization can place directly in the caller's output
    buffer (buffer-results-to-out-params with hoist-static-allocs, which
    crashes in MLIR 19 on a returned argument).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def CopiesToLinalg : Pass<"kiln-copies-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Turn memref.copy into linalg.copy";
  let description = [{
    memref.copy between non-contiguous views (a concat's insert_slice, say)
    lowers to a call of `memrefCopy` from MLIR's C runner library, which
    neither the JIT nor AOT artifacts link. As linalg.copy it becomes plain
    loops (LLVM turns contiguous ones back into memcpy).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def TileRows : Pass<"kiln-tile-rows", "mlir::func::FuncOp"> {
  let summary = "Make softmax, layer_norm and the losses one vectorized kernel per row";
  let description = [{
    A group of linalg ops that reduce over the last dimension and use the
    result row by row (what softmax, log_softmax, layer_norm and the losses
    lower to) becomes one kernel: the last op of the group is tiled to one
    row and the group's producers fused into that loop, which is marked
    `kiln.parallel` (rows are independent) when the group is large enough. Inside a row, reductions become
    vector-wide partial reductions and elementwise ops vector-wide chunks
    (the partial chunk peeled), each vectorized at its static shape. A row
    is read from memory once; its temporaries stay in L1.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", "512", "the target's vector width">,
    Option<"parallelMinElements", "parallel-min-elements", "int64_t", "65536",
           "mark the row loop `kiln.parallel` from this many elements on">,
    Option<"explain", "explain", "bool", "false", "remark on each row kernel and each group left alone">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
                           "mlir::tensor::TensorDialect", "mlir::linalg::LinalgDialect",
                           "mlir::affine::AffineDialect", "mlir::arith::ArithDialect",
                           "mlir::bufferization::BufferizationDialect"];
}

def ChunkElementwise : Pass<"kiln-chunk-elementwise", "mlir::func::FuncOp"> {
  let summary = "Split big elementwise kernels and partial reductions into chunks for the thread pool";
  let description = [{
    What kiln-tile-matmul and kiln-tile-rows leave as a plain linalg.generic
    at the function's top level (elementwise kernels, reductions that keep
    a dimension, transposes, copies of activations) ran on one thread. One
    of at least `parallel-min-elements` elements whose outermost loop is
    parallel is tiled along it into at most 64 chunks, the chunk loop
    marked `kiln.parallel` (kiln-parallelize-loops then runs the chunks on
    the thread pool). Each chunk is the same op on a slice, so it is
    compiled as before, and no reduction is split across chunks: the bits
    are the same on every thread count. An op that reads an input across
    the grain (a transpose) is also split into blocks of 16 x 64 elements
    within each chunk, so that the input lines a block reads stay in L1.
  }];
  let options = [
    Option<"parallelMinElements", "parallel-min-elements", "int64_t", "65536",
           "chunk kernels of at least this many elements">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
                           "mlir::linalg::LinalgDialect", "mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect"];
}

def SinkTemporaries : Pass<"kiln-sink-temporaries", "mlir::func::FuncOp"> {
  let summary = "Give each use of a hoisted tensor.empty inside a parallel loop its own copy there";
  let description = [{
    Loop-invariant code motion hoists tensor.empty out of loops, so a
    temporary each iteration of a kiln.parallel loop writes and reads
    becomes one buffer shared by all iterations, and kiln-parallelize-loops
    keeps the loop serial unless it proves each iteration overwrites it
    first. Each use of such an empty inside a parallel loop that does not
    contain it gets its own copy beside it: allocated inside the loop, the
    temporary is private to each iteration (each thread's scratch).
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def SplitScanRows : Pass<"kiln-split-scan-rows", "mlir::func::FuncOp"> {
  let summary = "Run a recurrence's independent rows (its batch) on the thread pool, whole";
  let description = [{
    A scan whose body treats the rows of its carries and scanned inputs
    (the batch) independently, every loop-invariant value shared by all
    rows, becomes a `kiln.parallel` loop over blocks of rows, each running
    the whole scan on its rows: `tensor.extract_slice` of the inits and
    scanned inputs, the scan re-typed for the block, `tensor.insert_slice`
    of its results. The threads then share nothing for all T steps (no
    fork and join per step, the step's elementwise gates on every thread
    too). Each element is computed as before, in the same order: the
    results are bit for bit those of the unsplit scan. The blocks are
    `threads` or fewer, at least `min-rows` rows each, dividing the rows;
    a scan with less work than `parallel-min-flops` stays whole, and so
    does one whose products' shared operands exceed 4 MiB (every block
    reads all of them at every step, where split by columns inside each
    step a thread keeps its share in its L2; up to 4 MiB, an LSTM's W_hh
    at H = 512, the split was measured faster).
  }];
  let options = [
    Option<"threads", "threads", "int64_t", "1",
           "the threads the code will run on (kiln_num_threads() where it is compiled): 1 never splits">,
    Option<"minRows", "min-rows", "int64_t", "8", "the fewest rows a block may have (a register tile's rows)">,
    Option<"parallelMinFlops", "parallel-min-flops", "int64_t", "4000000",
           "split only scans whose products and elementwise ops over all steps come to this many flops">,
    Option<"explain", "explain", "bool", "false", "remark on each scan split, or why not">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::tensor::TensorDialect", "mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"split", "split", "scans whose rows run on the thread pool in blocks">,
  ];
}

def ParallelizeLoops : Pass<"kiln-parallelize-loops", "mlir::ModuleOp"> {
  let summary = "Run loops marked kiln.parallel on the runtime's thread pool";
  let description = [{
    Each outermost scf.for marked `kiln.parallel` (with at least two
    iterations and no results) is outlined into
    `@<f>_parallel_<k>(%begin, %end : index, %args, %scratch : !llvm.ptr)`,
    which runs iterations [begin, end), and replaced by a call
    `kiln_rt1_parallel_for(@<f>_parallel_<k>, trips, args, scratch_bytes)`.
    Captured memrefs travel as LLVM descriptors in a stack struct (bridged
    by unrealized casts that the LLVM lowering folds). Buffers private to an
    iteration (allocated in the body, or before the loop but used only in it
    and overwritten first in each iteration, like a packed B panel) become
    views of the calling thread's scratch. Chunks are whole iterations, so
    no reduction is split and every thread count gives identical bits.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::func::FuncDialect",
                           "mlir::arith::ArithDialect", "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def OutlineKernels : Pass<"kiln-outline-kernels", "mlir::ModuleOp"> {
  let summary = "Move every kernel of a function into a function of its own";
  let description = [{
    The top-level ops of a function (not one kiln outlined already) that
    hold loops and have no results, and each `kiln_rt1_parallel_for` call
    with the stores that fill its args struct, move into
    `func.func private @<f>_kernel_<k>(...)` functions, marked `noinline`,
    called in their place; consecutive kernels share a function up to
    `max-function-ops` ops, and an op with effects between two kernels keeps
    its place between their calls. A kernel is passed the buffers and
    scalars at the roots of what it uses; views and index arithmetic are
    recomputed inside, so LLVM still sees workspace slices as offsets from
    one pointer. A kernel that uses a value no call can pass (a dynamic
    view of a dynamic buffer) stays where it is. The model's function is
    then a sequence of calls, and MLIR's and LLVM's work per function
    spreads over the cores instead of waiting on one big function.
  }];
  let options = [
    Option<"maxFunctionOps", "max-function-ops", "int64_t", "1000",
           "consecutive kernels share a function up to this many ops">,
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::func::FuncDialect",
                           "mlir::arith::ArithDialect"];
}

def BufferizeModule : Pass<"kiln-bufferize-module", "mlir::ModuleOp"> {
  let summary = "One-shot bufferization of the whole module, as kiln's ABI needs it";
  let description = [{
    MLIR's one-shot module bufferization with function boundaries
    bufferized and identity layouts at them (every buffer the entry takes
    is a plain row-major array), the other settings MLIR's defaults. One
    pass with fixed settings rather than `one-shot-bufferize{...}`, so that
    the pipeline is built from typed constructors and prints as it runs.
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect", "mlir::memref::MemRefDialect"];
}

def ResultsToOutParams : Pass<"kiln-results-to-out-params", "mlir::ModuleOp"> {
  let summary = "Function results as caller-owned out-parameters";
  let description = [{
    MLIR's buffer-results-to-out-params with static allocations hoisted
    into the caller: a result becomes an argument the caller provides, and
    the entry writes its results straight into the caller's buffers.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def PlanWorkspace : Pass<"kiln-plan-workspace", "mlir::ModuleOp"> {
  let summary = "Place the entry's temporaries in one workspace, reusing memory by liveness";
  let description = [{
    Every statically shaped memref.alloc at the top level of the entry
    function, with its dealloc (if any) at the top level too, becomes a
    memref.view into a new last argument `memref<N x i8> {nn.workspace = N}`:
    offsets are chosen first-fit over the buffers' live ranges (alloc to
    dealloc), 64-byte aligned, so buffers that are never live together share
    memory. The deallocs go. The ABI entry passes the caller's workspace and
    exports `<symbol>_workspace_size`; a call then makes no heap allocation.
  }];
  let options = [
    Option<"entry", "entry", "std::string", "\"main\"", "the function to plan">,
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect"];
}

def ProfileKernels : Pass<"kiln-profile-kernels", "mlir::ModuleOp"> {
  let summary = "Time every kernel of the entry function (the per-kernel profile)";
  let description = [{
    Only with `--profile`. Each kernel at the top level of the entry (a loop
    nest, a linalg op, a call onto the thread pool; consecutive ones of the
    same source location are one kernel) is bracketed by two reads of a
    monotonic clock (`kiln_rt1_profile_now`), and the elapsed nanoseconds
    and a call count are added to its row of the module's counters
    `@kiln_profile_counters : memref<(K+1) x 2 x i64>`; the last row times
    the whole entry, so time outside kernels is the difference. The entry
    gets `nn.profile`, a JSON array describing each kernel (kind, source
    ops, FLOPs from `kiln.flops`, bytes of the buffers it touches), which
    kiln-emit-entry exports as `<symbol>_profile_kernels()` next to
    `<symbol>_profile_counters()`.

    With `check` (`kiln run --check`, the numerics bisector) the same
    kernels are also probed: after each one, every buffer it writes (traced
    through the views it makes, into the bodies of its parallel loops; its
    own tiles and panels excluded) is handed to `kiln_rt1_check_probe(kernel,
    slot, aligned pointer, offset)`, and the kernel's row lists these probes
    (dtype, shape, strides), its source ops one by one and the phase that
    formed it. `perturb-kernel=K` (tests of the checker only) then adds
    1e-3 x max(|x|, 1) to the first element of kernel K's first float probe,
    a planted error the checker must find.
  }];
  let options = [
    Option<"entry", "entry", "std::string", "\"main\"", "the function to profile">,
    Option<"check", "check", "bool", "false",
           "probe every buffer each kernel writes (the numerics bisector)">,
    Option<"perturbKernel", "perturb-kernel", "int64_t", "-1",
           "with check: plant an error in this kernel's first float probe (tests only)">,
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect", "mlir::math::MathDialect"];
}

def ApproximateMath : Pass<"kiln-approximate-math"> {
  let summary = "Replace f32 transcendentals by polynomial approximations";
  let description = [{
    exp, log, tanh, erf (and friends) on f32 and vectors of f32 become
    MLIR's polynomial approximations, straight-line code that LLVM
    vectorises; no per-element libm call remains. f64 is left to libm.
    tests/unit/ApproximationTest.cpp measures the error of each.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect", "mlir::x86vector::X86VectorDialect"];
}

def EmitEntry : Pass<"kiln-emit-entry", "mlir::ModuleOp"> {
  let summary = "Add the ABI entry function around the lowered model";
  let description = [{
    Runs on the LLVM dialect. The model function `entry` (bare-pointer
    convention, one pointer per argument then one per result) becomes
    internal, and a new external function `symbol`
    `i32 (ptr buffers, ptr ctx, ptr workspace)` checks each buffer (non-null,
    64-byte aligned), clears `ctx->status`, calls the model and returns the
    status (docs/abi.md). Every other function becomes internal too, so an
    object exports only the entry.
  }];
  let options = [
    Option<"entry", "entry", "std::string", "\"main\"", "the model function">,
    Option<"symbol", "symbol", "std::string", "\"kiln_main\"", "the exported entry symbol">,
  ];
}

#endif // KILN_PASSES
