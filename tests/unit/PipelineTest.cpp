//===- PipelineTest.cpp - the phase table prints as the pipeline it runs --===//
#include "codegen/Compiler.h"
#include "passes/Pipeline.h"

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <gtest/gtest.h>

using namespace kiln;

namespace {

/// Options unlike the defaults, so that a value the printer dropped shows.
PipelineOptions unusualOptions(bool trainStep) {
  PipelineOptions o;
  o.entry = "model";
  o.symbol = "my_symbol";
  o.vectorBits = 256;
  o.tileRows = 4;
  o.tileColumns = 16;
  o.explainFusion = true;
  o.trainStep = trainStep;
  o.gradient = !trainStep;
  o.wrt = {"w1", "b1"};
  o.optimizer = "adamw";
  o.eps = 1e-8; // std::to_string once printed this as 0
  o.weightDecay = 0.01;
  return o;
}

// Each phase's printed pipeline parses back (every pass and option known)
// and prints the same: what `kiln phases` and dumps show is what runs.
TEST(Pipeline, EveryPhasePrintsAsAPipelineThatReadsBackTheSame) {
  auto context = createContext(); // registers kiln's passes for the parser
  for (bool trainStep : {false, true}) {
    PipelineOptions options = unusualOptions(trainStep);
    for (const Phase &phase : phases()) {
      std::string text = phasePipelineText(phase, options);
      if (text.empty())
        continue;
      mlir::OpPassManager parsed(mlir::ModuleOp::getOperationName());
      std::string error;
      llvm::raw_string_ostream os(error);
      ASSERT_TRUE(mlir::succeeded(mlir::parsePassPipeline(text, parsed, os)))
          << phase.name << ": " << error << "\n" << text;
      std::string again;
      llvm::raw_string_ostream againOs(again);
      llvm::interleave(
          parsed.getPasses(), againOs, [&](mlir::Pass &p) { p.printAsTextualPipeline(againOs); }, ",");
      EXPECT_EQ(again, text) << phase.name;
    }
  }
}

TEST(Pipeline, OptionsReachThePasses) {
  PipelineOptions options = unusualOptions(/*trainStep=*/true);
  auto text = [&](const char *name) { return phasePipelineText(phases()[phaseIndex(name)], options); };
  EXPECT_NE(text("grad").find("kiln-make-train-step{"), std::string::npos);
  EXPECT_NE(text("grad").find("eps=1.000000e-08"), std::string::npos) << text("grad");
  EXPECT_NE(text("grad").find("weight-decay=1.000000e-02"), std::string::npos) << text("grad");
  EXPECT_NE(text("grad").find("optimizer=adamw"), std::string::npos);
  EXPECT_NE(text("linalg").find("symbol-privatize{exclude=model_train_step}"), std::string::npos)
      << text("linalg");
  EXPECT_NE(text("tiled").find("tile-m=4 tile-n=16 vector-bits=256"), std::string::npos) << text("tiled");
  EXPECT_NE(text("fused").find("explain=true"), std::string::npos);
  EXPECT_NE(text("bufferized").find("kiln-plan-workspace{entry=model_train_step}"), std::string::npos);
  EXPECT_NE(text("llvm").find("kiln-emit-entry{entry=model_train_step symbol=my_symbol}"),
            std::string::npos)
      << text("llvm");
}

} // namespace
