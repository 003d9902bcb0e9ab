//===- GraphSvg.h - the nn graph as an inline SVG picture -------*- C++ -*-===//
#ifndef KILN_REPORT_GRAPHSVG_H
#define KILN_REPORT_GRAPHSVG_H

#include "report/ReportData.h"
#include "report/SourceIndex.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace kiln::report {

/// Draws `func` into data.graphSvg (an <svg> element for inline use) and
/// data.graphNodes (each node's id and source lines). `layout`: "dot"
/// (Graphviz's, an error note when it is not installed), "kiln" (a plain
/// layered layout drawn here) or "auto" (dot when installed).
void drawGraph(mlir::func::FuncOp func, const std::string &layout, SourceIndex &sources, ReportData &data);

} // namespace kiln::report

#endif
