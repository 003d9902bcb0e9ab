//===- GraphModule.h - a Graph's module, for the layer above -----*- C++ -*-===//
//
// Internal to kiln (not installed): the API layer (api/) compiles a Graph's
// module where the builder made it, in the graph's own MLIR context, with no
// text round trip; weights and constants stay the attributes the builder
// created (never printed and parsed again).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_GRAPHMODULE_H
#define KILN_FRONTEND_GRAPHMODULE_H

#include "kiln/Graph.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace kiln {

/// A finished copy of the graph's module (its outputs returned and named),
/// in the graph's context, with the builder's source locations. The copy
/// shares the graph's attributes (weights are not copied). The graph must
/// outlive the copy and must not be used from another thread meanwhile.
mlir::OwningOpRef<mlir::ModuleOp> finishedModule(const Graph &graph);

} // namespace kiln

#endif
