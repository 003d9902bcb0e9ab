//===- OpCompletenessTest.cpp - every nn op is tested, forward and back ---===//
//
// Walks every op the nn dialect registers and fails when one lacks
//   - a forward case in OpCases.h (OpsTest runs each case through the whole
//     pipeline, so the case proves the op's lowering, and compares it with
//     the reference interpreter, so it proves the reference too), and
//   - a gradient case (a case GradTest checks against finite differences,
//     or one naming the GradTest test that checks it), unless the op is
//     marked NotDifferentiable in ODS, and
//   - its result-type rule as InferTypeOpInterface, unless the result type
//     is given in the IR by design (a cast's or reshape's target type).
// An op both differentiable and marked is an error too. Adding an op
// without its rows fails here (the list in ir/NNOps.td's header says where
// each piece goes).
//
//===----------------------------------------------------------------------===//
#include "OpCases.h"
#include "TestUtil.h"
#include "frontend/GraphModule.h"
#include "ir/Dialect.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include <map>
#include <set>

using namespace kiln;
using namespace kiln::test;

namespace {

bool isFloat(DType d) { return d == DType::f32 || d == DType::f64; }

/// The nn ops a case's graph contains; `differentiable` says whether
/// GradTest checks the case (float inputs, a float output).
std::set<std::string> opsOf(const OpCase &c, bool *differentiable) {
  Graph g;
  std::vector<Tensor> inputs;
  std::vector<HostTensor> values;
  makeInputs(c, DType::f64, g, inputs, values);
  Tensor y = c.build(g, inputs);
  std::set<std::string> ops;
  if (!y.valid())
    return ops;
  g.output(y, "y");
  *differentiable = (c.ints.size() < c.inputs.size() && c.finiteDifferences && isFloat(y.dtype())) ||
                    c.gradientTest != nullptr;
  mlir::OwningOpRef<mlir::ModuleOp> module = finishedModule(g);
  module->walk([&](mlir::Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "nn")
      ops.insert(op->getName().getStringRef().str());
  });
  return ops;
}

TEST(OpCompleteness, EveryNNOpHasForwardAndGradientCases) {
  std::set<std::string> forward, gradient;
  for (const OpCase &c : allCases()) {
    bool differentiable = false;
    std::set<std::string> ops = opsOf(c, &differentiable);
    forward.insert(ops.begin(), ops.end());
    if (differentiable)
      gradient.insert(ops.begin(), ops.end());
  }
  // Ops whose result type is not a function of their operands and
  // attributes: the IR states it (the target of a cast, reshape or
  // broadcast, an iota's shape, the full shape a scatter writes into).
  const std::set<std::string> typedInTheIR = {"nn.cast", "nn.reshape", "nn.broadcast_to",
                                              "nn.iota", "nn.slice_scatter", "nn.scatter_add",
                                              "nn.scan", "nn.yield"};
  // Ops only gradient rules emit (no C++ builder makes them): GradTest
  // runs them through the whole pipeline in every gradient of the op they
  // belong to, and the test named here checks their lowering against the
  // reference interpreter forward.
  const std::map<std::string, std::string> emittedByGradientRules = {
      {"nn.attention_backward", "AttentionTest.BackwardMatchesReference"},
      {"nn.conv2d_backward_input", "ConvolutionTest/Conv2dGradientOps.MatchReference"},
      {"nn.conv2d_backward_weight", "ConvolutionTest/Conv2dGradientOps.MatchReference"},
      {"nn.max_pool2d_backward", "ConvolutionTest/Pool2dGradientOps.MatchReference"},
      {"nn.avg_pool2d_backward", "ConvolutionTest/Pool2dGradientOps.MatchReference"}};
  mlir::MLIRContext context;
  context.loadDialect<nn::NNDialect>();
  int checked = 0;
  for (mlir::RegisteredOperationName name : context.getRegisteredOperations()) {
    if (name.getDialectNamespace() != "nn")
      continue;
    ++checked;
    std::string op = name.getStringRef().str();
    bool marked = name.hasTrait<nn::NotDifferentiable>();
    bool hasRule = name.hasInterface<nn::DifferentiableOpInterface>();
    EXPECT_TRUE(forward.count(op) || emittedByGradientRules.count(op))
        << op << ": no forward case in tests/unit/OpCases.h";
    EXPECT_NE(marked, hasRule) << op << ": needs either a gradient rule (Differentiable) or the "
                               << "NotDifferentiable mark, not " << (marked ? "both" : "neither");
    EXPECT_NE(name.hasInterface<mlir::InferTypeOpInterface>(), typedInTheIR.count(op) > 0)
        << op << ": its result type must come from its rule (InferTypeOpInterface), or the op must be "
        << "listed here as typed in the IR";
    if (hasRule)
      EXPECT_TRUE(gradient.count(op)) << op << ": no gradient case (a row with float inputs and a "
                                      << "float output) in tests/unit/OpCases.h";
  }
  EXPECT_GE(checked, 40) << "the nn dialect registered fewer ops than expected";
}

} // namespace
