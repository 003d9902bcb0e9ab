//===- OnnxImportTest.cpp - the ONNX importer on models built here -------===//
//
// Models written with ONNX's protobuf API into a temporary folder: an MLP
// whose initializers become parameters (under their ONNX names) and whose
// forward matches a plain C++ reference and trains; opset-dependent
// semantics (Softmax before and after 13); values known while importing
// (Shape -> Reshape); and the errors: an unsupported op, a malformed file,
// a symbolic dimension, external data outside the model's folder, a
// truncated external file. (ONNX's own node tests run in
// onnx.node_conformance.)
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "kiln/Onnx.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace kiln;
using kiln::test::allClose;
using kiln::test::randomTensor;

namespace {

namespace fs = std::filesystem;

fs::path scratchDir(const std::string &name) {
  fs::path dir = fs::temp_directory_path() / ("kiln_onnx_test_" + std::to_string(::getpid()) + "_" + name);
  fs::create_directories(dir);
  return dir;
}

void addInput(onnx::GraphProto &g, const std::string &name, const Shape &shape,
              int32_t type = onnx::TensorProto::FLOAT, const std::string &symbolic = "") {
  onnx::ValueInfoProto *v = g.add_input();
  v->set_name(name);
  auto *t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(type);
  for (int64_t d : shape)
    t->mutable_shape()->add_dim()->set_dim_value(d);
  if (!symbolic.empty())
    t->mutable_shape()->add_dim()->set_dim_param(symbolic);
}

void addOutput(onnx::GraphProto &g, const std::string &name) { g.add_output()->set_name(name); }

onnx::NodeProto *addNode(onnx::GraphProto &g, const std::string &op, std::vector<std::string> inputs,
                         std::vector<std::string> outputs, const std::string &name = "") {
  onnx::NodeProto *n = g.add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto &i : inputs)
    n->add_input(i);
  for (auto &o : outputs)
    n->add_output(o);
  return n;
}

void addInitializer(onnx::GraphProto &g, const std::string &name, const HostTensor &value) {
  onnx::TensorProto *t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(value.dtype() == DType::i64 ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT);
  for (int64_t d : value.shape())
    t->add_dims(d);
  t->set_raw_data(std::string(static_cast<const char *>(value.data()), value.bytes()));
}

std::string save(onnx::ModelProto &model, const fs::path &dir, int64_t opset = 17) {
  model.set_ir_version(8);
  auto *o = model.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  std::string path = (dir / "model.onnx").string();
  std::ofstream out(path, std::ios::binary);
  model.SerializeToOstream(&out);
  return path;
}

/// x [B, 3] -> Gemm(fc.weight [4, 3], transB) + bias -> Relu -> MatMul(w2 [4, 2]) -> y.
std::string mlpModel(const fs::path &dir, HostTensor &w1, HostTensor &b1, HostTensor &w2) {
  onnx::ModelProto model;
  onnx::GraphProto &g = *model.mutable_graph();
  g.set_name("mlp");
  addInput(g, "x", {5, 3});
  w1 = randomTensor(DType::f32, {4, 3}, -1, 1, 1);
  b1 = randomTensor(DType::f32, {4}, -1, 1, 2);
  w2 = randomTensor(DType::f32, {4, 2}, -1, 1, 3);
  addInitializer(g, "fc.weight", w1);
  addInitializer(g, "fc.bias", b1);
  addInitializer(g, "onnx::MatMul_7", w2);
  auto *gemm = addNode(g, "Gemm", {"x", "fc.weight", "fc.bias"}, {"h"}, "/fc/Gemm");
  auto *transB = gemm->add_attribute();
  transB->set_name("transB");
  transB->set_type(onnx::AttributeProto::INT);
  transB->set_i(1);
  addNode(g, "Relu", {"h"}, {"r"}, "/relu/Relu");
  addNode(g, "MatMul", {"r", "onnx::MatMul_7"}, {"y"}, "/out/MatMul");
  addOutput(g, "y");
  return save(model, dir);
}

TEST(OnnxImport, MlpMatchesTheReferenceAndKeepsItsParameters) {
  fs::path dir = scratchDir("mlp");
  HostTensor w1, b1, w2;
  std::string path = mlpModel(dir, w1, b1, w2);
  auto graph = importOnnx(path);
  ASSERT_TRUE(graph.ok()) << graph.error();
  auto fn = Function::compile(**graph);
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<std::string> names;
  for (const TensorInfo &p : fn->params())
    names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc.weight", "fc.bias", "onnx::MatMul_7"}));
  HostTensor x = randomTensor(DType::f32, {5, 3}, -1, 1, 4);
  auto got = fn->run({x});
  ASSERT_TRUE(got.ok()) << got.error();
  HostTensor want(DType::f32, {5, 2});
  for (int64_t b = 0; b < 5; ++b)
    for (int64_t j = 0; j < 2; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < 4; ++k) {
        double h = b1.at(k);
        for (int64_t i = 0; i < 3; ++i)
          h += x.at(b * 3 + i) * w1.at(k * 3 + i);
        sum += std::max(h, 0.0) * w2.at(k * 2 + j);
      }
      want.set(b * 2 + j, sum);
    }
  EXPECT_TRUE(allClose((*got)[0], want, 1e-5, 1e-6));
  // The ops are located at their nodes.
  std::string text = (*graph)->str(true);
  EXPECT_NE(text.find("\"/fc/Gemm (Gemm)\""), std::string::npos) << text;
  fs::remove_all(dir);
}

TEST(OnnxImport, ImportedModelTrains) {
  fs::path dir = scratchDir("train");
  HostTensor w1, b1, w2;
  onnx::ModelProto model;
  {
    std::string path = mlpModel(dir, w1, b1, w2);
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(model.ParseFromIstream(&in));
  }
  // A loss on top: mean((y - label)^2) with the label as an input.
  onnx::GraphProto &g = *model.mutable_graph();
  addInput(g, "label", {5, 2});
  addNode(g, "Sub", {"y", "label"}, {"d"});
  addNode(g, "Mul", {"d", "d"}, {"d2"});
  addNode(g, "ReduceMean", {"d2"}, {"loss"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("keepdims");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(0);
    return a;
  }());
  g.clear_output();
  addOutput(g, "loss");
  model.clear_opset_import();
  std::string path = save(model, dir);
  auto graph = importOnnx(path);
  ASSERT_TRUE(graph.ok()) << graph.error();
  auto step = train_step(**graph, "loss", {}, Optimizer::sgd());
  ASSERT_TRUE(step.ok()) << step.error();
  HostTensor x = randomTensor(DType::f32, {5, 3}, -1, 1, 5), label = randomTensor(DType::f32, {5, 2}, -1, 1, 6);
  HostTensor rate(step->inputs().back().dtype, {});
  rate.set(0, 0.1);
  double first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    auto out = step->run({x, label, rate});
    ASSERT_TRUE(out.ok()) << out.error();
    (i == 0 ? first : last) = (*out)[0].at(0);
  }
  EXPECT_LT(last, 0.5 * first);
  fs::remove_all(dir);
}

TEST(OnnxImport, SoftmaxAxisFollowsTheOpset) {
  for (int64_t opset : {11, 13}) {
    fs::path dir = scratchDir("softmax" + std::to_string(opset));
    onnx::ModelProto model;
    onnx::GraphProto &g = *model.mutable_graph();
    addInput(g, "x", {2, 3, 4});
    addNode(g, "Softmax", {"x"}, {"y"});
    addOutput(g, "y");
    auto graph = importOnnx(save(model, dir, opset));
    ASSERT_TRUE(graph.ok()) << graph.error();
    auto fn = Function::compile(**graph);
    ASSERT_TRUE(fn.ok()) << fn.error();
    HostTensor x = randomTensor(DType::f32, {2, 3, 4}, -2, 2, 7);
    auto y = fn->run({x});
    ASSERT_TRUE(y.ok()) << y.error();
    // Opset 11: normalized over [3 x 4] per batch row (axis 1 onwards);
    // 13: over the last axis.
    for (int64_t b = 0; b < 2; ++b) {
      double sum = 0;
      for (int64_t k = 0; k < 12; ++k)
        sum += (*y)[0].at(b * 12 + k);
      EXPECT_NEAR(sum, opset == 11 ? 1.0 : 3.0, 1e-5) << "opset " << opset;
    }
    fs::remove_all(dir);
  }
}

TEST(OnnxImport, ShapeIsFoldedIntoReshape) {
  fs::path dir = scratchDir("shape");
  onnx::ModelProto model;
  onnx::GraphProto &g = *model.mutable_graph();
  addInput(g, "x", {2, 3, 4});
  addInput(g, "z", {6, 4});
  addNode(g, "Shape", {"x"}, {"s"});
  addNode(g, "Reshape", {"z", "s"}, {"y"});
  addOutput(g, "y");
  auto graph = importOnnx(save(model, dir));
  ASSERT_TRUE(graph.ok()) << graph.error();
  EXPECT_NE((*graph)->str().find("tensor<6x4xf32> -> tensor<2x3x4xf32>"), std::string::npos) << (*graph)->str();
  fs::remove_all(dir);
}

TEST(OnnxImport, BadModelsAreLocatedErrors) {
  fs::path dir = scratchDir("bad");
  {
    onnx::ModelProto model;
    onnx::GraphProto &g = *model.mutable_graph();
    addInput(g, "x", {2});
    addNode(g, "Floor", {"x"}, {"y"}, "round_down");
    addOutput(g, "y");
    auto graph = importOnnx(save(model, dir, 13));
    ASSERT_FALSE(graph.ok());
    EXPECT_NE(graph.error().find("model.onnx:1:1: node \"round_down\" (Floor): error: op Floor (domain ai.onnx, "
                                 "opset 13) is not supported"),
              std::string::npos)
        << graph.error();
  }
  {
    std::ofstream((dir / "junk.onnx").string()) << "not a protobuf";
    auto graph = importOnnx((dir / "junk.onnx").string());
    ASSERT_FALSE(graph.ok());
    EXPECT_NE(graph.error().find("not an ONNX model"), std::string::npos) << graph.error();
  }
  {
    onnx::ModelProto model;
    onnx::GraphProto &g = *model.mutable_graph();
    addInput(g, "x", {2}, onnx::TensorProto::FLOAT, "batch");
    addNode(g, "Relu", {"x"}, {"y"});
    addOutput(g, "y");
    std::string path = save(model, dir);
    auto graph = importOnnx(path);
    ASSERT_FALSE(graph.ok());
    EXPECT_NE(graph.error().find("input \"x\" has a symbolic dimension \"batch\""), std::string::npos)
        << graph.error();
    OnnxImportOptions o;
    o.shapes["x"] = {2, 7};
    auto bound = importOnnx(path, o);
    ASSERT_TRUE(bound.ok()) << bound.error();
  }
  for (const char *location : {"../outside.bin", "weights.bin"}) {
    onnx::ModelProto model;
    onnx::GraphProto &g = *model.mutable_graph();
    addInput(g, "x", {4});
    onnx::TensorProto *w = g.add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(4);
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto *entry = w->add_external_data();
    entry->set_key("location");
    entry->set_value(location);
    std::ofstream((dir / "weights.bin").string(), std::ios::binary) << "12345678"; // 8 bytes: half of 4 floats
    addNode(g, "Add", {"x", "w"}, {"y"});
    addOutput(g, "y");
    auto graph = importOnnx(save(model, dir));
    ASSERT_FALSE(graph.ok());
    EXPECT_NE(graph.error().find(std::string(location) == "weights.bin" ? "does not fit its 16 bytes"
                                                                         : "is outside the model's folder"),
              std::string::npos)
        << graph.error();
  }
  fs::remove_all(dir);
}

} // namespace
