//===- AttentionMaps.h - which positions attend to which --------*- C++ -*-===//
#ifndef KILN_REPORT_ATTENTIONMAPS_H
#define KILN_REPORT_ATTENTIONMAPS_H

#include "ir/reference/Interpreter.h"
#include "report/ReportData.h"
#include "report/SourceIndex.h"

namespace kiln::report {

/// Runs `func` in the reference interpreter on `args` and keeps the
/// attention weights of the first batch item of every attention in it: an
/// nn.attention's probabilities (computed here from its q, k, mask, bias and
/// scale) and every softmax whose result is the left operand of a matmul
/// (attention written out), and every softmax in a scan's body (a decoder
/// attending to its source: one row per step). One map per head, then the
/// heads' mean.
/// Returns false with `why` when the interpreter fails.
bool computeAttentionMaps(mlir::func::FuncOp func, const std::vector<nn::RefTensor> &args,
                          SourceIndex &sources, ReportData &data, std::string &why);

} // namespace kiln::report

#endif
