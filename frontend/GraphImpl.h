//===- GraphImpl.h - what a Graph holds while it is built (internal) -*- C++ -*-===//
//
// Internal to kiln's frontend: Graph.cpp (the ops) and Scan.cpp (loops,
// whose bodies are built into a block of their own) share it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_GRAPHIMPL_H
#define KILN_FRONTEND_GRAPHIMPL_H

#include "kiln/Graph.h"

#include "ir/Dialect.h"
#include "ir/Signature.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"

#include <optional>
#include <string>

namespace kiln {

/// "file:line:col: error: message" from an MLIR diagnostic (a named
/// location, as an imported ONNX node's: "file:line:col: error: name: message").
inline std::string formatDiagnostic(mlir::Diagnostic &diag) {
  std::string s;
  llvm::raw_string_ostream os(s);
  mlir::Location where = diag.getLocation();
  std::string name;
  if (auto named = dyn_cast<mlir::NameLoc>(where)) {
    name = named.getName().str() + ": ";
    where = named.getChildLoc();
  }
  if (auto loc = dyn_cast<mlir::FileLineColLoc>(where))
    os << loc.getFilename().getValue() << ":" << loc.getLine() << ":" << loc.getColumn() << ": ";
  os << "error: " << name << diag.str();
  return s;
}

struct Graph::Impl {
  // Compiled where it is built (api/Function.cpp): single-threaded like
  // every kiln context (no thread pool of MLIR's own).
  mlir::MLIRContext ctx{mlir::MLIRContext::Threading::DISABLED};
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp func;
  mlir::OpBuilder builder{&ctx};
  std::string name;
  std::optional<std::string> firstError;
  mlir::SmallVector<mlir::Value> outputs;
  mlir::SmallVector<std::string> outputNames;
  llvm::StringSet<> names;
  int64_t numArgs = 0;
  std::unique_ptr<mlir::ScopedDiagnosticHandler> handler;

  explicit Impl(const std::string &graphName) : name(graphName) {
    ctx.loadDialect<nn::NNDialect, mlir::func::FuncDialect>();
    handler = std::make_unique<mlir::ScopedDiagnosticHandler>(&ctx, [this](mlir::Diagnostic &diag) {
      if (diag.getSeverity() == mlir::DiagnosticSeverity::Error && !firstError)
        firstError = formatDiagnostic(diag);
      return mlir::success();
    });
    mlir::Location loc = mlir::UnknownLoc::get(&ctx);
    module = mlir::ModuleOp::create(loc);
    builder.setInsertionPointToEnd(module->getBody());
    func = builder.create<mlir::func::FuncOp>(loc, graphName, builder.getFunctionType({}, {}));
    builder.setInsertionPointToStart(func.addEntryBlock());
  }

  /// Where the ops being built come from when not from the C++ caller's
  /// line: the ONNX importer sets it to the node it converts, with the
  /// text errors start with.
  std::optional<mlir::Location> sourceOverride;
  std::string sourceOverrideText;

  mlir::Location loc(const Where &w) {
    if (sourceOverride)
      return *sourceOverride;
    return mlir::FileLineColLoc::get(&ctx, w.file_name(), w.line(), w.column());
  }

  void error(const Where &w, const std::string &message) {
    if (firstError)
      return;
    if (sourceOverride)
      firstError = sourceOverrideText + ": error: " + message;
    else
      firstError = std::string(w.file_name()) + ":" + std::to_string(w.line()) + ":" +
                   std::to_string(w.column()) + ": error: " + message;
  }

  mlir::Type elementType(DType d) {
    switch (d) {
    case DType::f32: return builder.getF32Type();
    case DType::f64: return builder.getF64Type();
    case DType::i32: return builder.getI32Type();
    case DType::i64: return builder.getI64Type();
    case DType::boolean: return builder.getI1Type();
    }
    return {};
  }

  bool claimName(const std::string &n, const Where &w) {
    if (!nn::isTensorName(n)) {
      error(w, "the name \"" + n + "\" is not a tensor name (" + nn::kTensorNameRule + ")");
      return false;
    }
    if (!names.insert(n).second) {
      error(w, "the name \"" + n + "\" is already used by another input, parameter or output");
      return false;
    }
    return true;
  }

  bool checkShape(const Shape &shape, const Where &w) {
    for (int64_t d : shape)
      if (d < 0) {
        error(w, "shape " + shapeString(shape) + " has a negative dimension");
        return false;
      }
    return true;
  }

  mlir::Value addArgument(const std::string &n, const Shape &shape, DType dtype, mlir::DictionaryAttr param,
                    const Where &w) {
    if (!checkShape(shape, w) || !claimName(n, w))
      return {};
    mlir::SmallVector<mlir::NamedAttribute> attrs{builder.getNamedAttr(nn::kNameAttr, builder.getStringAttr(n))};
    if (param)
      attrs.push_back(builder.getNamedAttr(nn::kParamAttr, param));
    auto type = mlir::RankedTensorType::get(shape, elementType(dtype));
    func.insertArgument(numArgs, type, builder.getDictionaryAttr(attrs), loc(w));
    return func.getArgument(numArgs++);
  }
};

} // namespace kiln

#endif
