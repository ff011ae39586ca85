// Import of older opsets (6-12): attributes that later opsets made inputs (Split, Clip, Dropout,
// Pad, Reshape), Softmax's 2-D coercion, legacy broadcasting, BatchNormalization's old flags,
// ReduceMean as GlobalAveragePool; op versions leancnn does not read are clear errors.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/rng.h"
#include "leancnn/runtime/executor.h"
#include "onnx_proto_util.h"
#include "onnx_test_support.h"

namespace leancnn {
namespace {

using namespace onnx_test;
using OnnxOpset = OnnxDir;

std::vector<std::string> op_types(const ir::Graph& g) {
  std::vector<std::string> out;
  for (ir::NodeId id : g.node_ids()) out.push_back(g.node(id).op_type);
  return out;
}

Tensor random_input(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng(seed).fill_uniform(t, -2.f, 2.f);
  return t;
}

std::vector<Tensor> run(ir::Graph& g, const std::map<std::string, Tensor>& feeds) {
  runtime::Executor ex(g, ops::op_table());
  return ex.forward(feeds);
}

TEST_F(OnnxOpset, SplitAttributeBecomesAnInput) {
  for (int64_t opset : {11, 12}) {
    onnx::ModelProto m = empty_model(opset);
    auto* g = m.mutable_graph();
    add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 4, 2});
    onnx::NodeProto* s = add_node(g, "split", "Split", {"x"}, {"a", "b"});
    attr_int(s, "axis", 1);
    attr_ints(s, "split", {1, 3});
    add_node(g, "cat", "Concat", {"b", "a"}, {"y"});
    attr_int(g->mutable_node(1), "axis", 1);
    add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 4, 2});
    write_proto(file("split.onnx"), m);
    ir::Graph graph = io::load_onnx(file("split.onnx").string(), ops::op_table());
    const ir::Node& split = graph.node(graph.node_ids()[0]);
    ASSERT_EQ(split.inputs.size(), 2u);
    const ir::Value& sizes = graph.value(split.inputs[1]);
    ASSERT_TRUE(sizes.is_initializer());
    EXPECT_EQ(sizes.data.data<int64_t>()[0], 1);
    EXPECT_EQ(sizes.data.data<int64_t>()[1], 3);
    EXPECT_FALSE(split.attrs.has("split"));
    const Tensor x = random_input({2, 4, 2}, 1);
    const Tensor y = run(graph, {{"x", x}})[0];
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < 4; ++c)
        for (int w = 0; w < 2; ++w)  // y = [x[:, 1:4], x[:, 0:1]]
          EXPECT_EQ(y.at((n * 4 + c) * 2 + w), x.at((n * 4 + (c + 1) % 4) * 2 + w)) << opset;
  }
}

// Softmax-11 with axis 1 on [N, 2, 3] normalizes each batch element's 6 values together.
TEST_F(OnnxOpset, OldSoftmaxIsCoercedTo2dAtAnyBatch) {
  onnx::ModelProto m = empty_model(11);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 2, 3});
  add_node(g, "sm", "Softmax", {"x"}, {"y"});  // axis defaults to 1 before opset 13
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 2, 3});
  write_proto(file("softmax.onnx"), m);
  ir::Graph graph = io::load_onnx(file("softmax.onnx").string(), ops::op_table());
  EXPECT_EQ(op_types(graph), (std::vector<std::string>{"Flatten", "Softmax", "Reshape"}));
  EXPECT_EQ(graph.value(graph.outputs()[0]).name, "y");
  for (int64_t batch : {1, 3}) {
    const Tensor x = random_input({batch, 2, 3}, 2);
    const Tensor y = run(graph, {{"x", x}})[0];
    ASSERT_EQ(y.shape(), (Shape{batch, 2, 3}));
    for (int64_t n = 0; n < batch; ++n) {
      double sum = 0;
      for (int k = 0; k < 6; ++k) sum += std::exp(static_cast<double>(x.at(n * 6 + k)));
      for (int k = 0; k < 6; ++k) EXPECT_NEAR(y.at(n * 6 + k), std::exp(x.at(n * 6 + k)) / sum, 1e-6);
    }
  }
  // At the last axis the old and new Softmax agree: one node.
  onnx::ModelProto last = m;
  attr_int(last.mutable_graph()->mutable_node(0), "axis", 2);
  write_proto(file("softmax_last.onnx"), last);
  ir::Graph g2 = io::load_onnx(file("softmax_last.onnx").string(), ops::op_table());
  ASSERT_EQ(op_types(g2), (std::vector<std::string>{"Softmax"}));
  EXPECT_EQ(g2.node(g2.node_ids()[0]).attrs.get_int("axis", 0), -1);
}

TEST_F(OnnxOpset, ClipDropoutPadAndReshapeAttributesBecomeInputs) {
  onnx::ModelProto m = empty_model(6);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 1, 2, 3});
  onnx::NodeProto* clip = add_node(g, "clip", "Clip", {"x"}, {"c"});
  attr_float(clip, "min", -0.5f);
  attr_float(clip, "max", 1.f);
  onnx::NodeProto* drop = add_node(g, "drop", "Dropout", {"c"}, {"d"});
  attr_float(drop, "ratio", 0.25f);
  attr_int(drop, "is_test", 1);
  onnx::NodeProto* pad = add_node(g, "pad", "Pad", {"d"}, {"p"});
  attr_ints(pad, "pads", {0, 0, 1, 0, 0, 0, 0, 2});  // H begin 1, W end 2
  attr_float(pad, "value", 7.f);
  add_node(g, "flat", "Flatten", {"p"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 15});
  write_proto(file("old.onnx"), m);
  ir::Graph graph = io::load_onnx(file("old.onnx").string(), ops::op_table());
  EXPECT_EQ(op_types(graph), (std::vector<std::string>{"Clip", "Dropout", "Pad", "Flatten"}));
  const std::vector<ir::NodeId> ids = graph.node_ids();
  EXPECT_EQ(graph.node(ids[0]).inputs.size(), 3u);
  EXPECT_FALSE(graph.node(ids[1]).attrs.has("ratio"));
  EXPECT_EQ(graph.value(graph.node(ids[1]).inputs[1]).data.at(0), 0.25f);
  EXPECT_EQ(graph.node(ids[2]).inputs.size(), 3u);
  const Tensor x = random_input({2, 1, 2, 3}, 3);
  const Tensor y = run(graph, {{"x", x}})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 15}));
  for (int n = 0; n < 2; ++n)
    for (int h = 0; h < 3; ++h)
      for (int w = 0; w < 5; ++w) {
        const float want = h == 0 || w >= 3 ? 7.f : std::clamp(x.at(n * 6 + (h - 1) * 3 + w), -0.5f, 1.f);
        EXPECT_EQ(y.at(n * 15 + h * 5 + w), want) << n << " " << h << " " << w;
      }

  // Reshape-1 (opset 1-4) took its shape as an attribute; opset 6 files use the input form.
  onnx::ModelProto r = empty_model(6);
  auto* rg = r.mutable_graph();
  add_tensor_value(rg->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 2, 3});
  add_int64_constant(rg, "shape", {0, 6});
  add_node(rg, "reshape", "Reshape", {"x", "shape"}, {"y"});
  add_tensor_value(rg->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 6});
  write_proto(file("reshape.onnx"), r);
  const ir::Graph rgraph = io::load_onnx(file("reshape.onnx").string(), ops::op_table());
  const ir::Value& shape = rgraph.value(rgraph.node(rgraph.node_ids()[0]).inputs[1]);
  EXPECT_EQ(shape.name, "shape");
  EXPECT_TRUE(shape.is_initializer());
}

// Add-6 with broadcast = 1 and axis = 1: B[3] is aligned with A's dim 1, not its last dim.
TEST_F(OnnxOpset, LegacyBroadcastAtAnAxis) {
  onnx::ModelProto m = empty_model(6);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3, 2, 2});
  add_float_init(g, "b", {3}, {10.f, 20.f, 30.f});
  onnx::NodeProto* add = add_node(g, "add", "Add", {"x", "b"}, {"y"});
  attr_int(add, "broadcast", 1);
  attr_int(add, "axis", 1);
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 3, 2, 2});
  write_proto(file("bcast.onnx"), m);
  ir::Graph graph = io::load_onnx(file("bcast.onnx").string(), ops::op_table());
  const Tensor x = random_input({2, 3, 2, 2}, 4);
  const Tensor y = run(graph, {{"x", x}})[0];
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y.at(i), x.at(i) + 10.f * static_cast<float>((i / 4) % 3 + 1));
  EXPECT_EQ(graph.initializers().size(), 1u) << "the unaligned constant is dropped";
}

TEST_F(OnnxOpset, ReduceMeanIsGlobalAveragePool) {
  for (int64_t keepdims : {0, 1}) {
    onnx::ModelProto m = empty_model(11);
    auto* g = m.mutable_graph();
    add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3, 2, 2});
    onnx::NodeProto* r = add_node(g, "mean", "ReduceMean", {"x"}, {"y"});
    attr_ints(r, "axes", {-1, 2});
    attr_int(r, "keepdims", keepdims);
    add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT,
                     keepdims ? std::vector<int64_t>{-1, 3, 1, 1} : std::vector<int64_t>{-1, 3});
    write_proto(file("mean.onnx"), m);
    ir::Graph graph = io::load_onnx(file("mean.onnx").string(), ops::op_table());
    const std::vector<std::string> want =
        keepdims ? std::vector<std::string>{"GlobalAveragePool"} : std::vector<std::string>{"GlobalAveragePool", "Flatten"};
    EXPECT_EQ(op_types(graph), want);
    const Tensor x = random_input({2, 3, 2, 2}, 5);
    const Tensor y = run(graph, {{"x", x}})[0];
    ASSERT_EQ(y.numel(), 6);
    for (int k = 0; k < 6; ++k)
      EXPECT_NEAR(y.at(k), (x.at(4 * k) + x.at(4 * k + 1) + x.at(4 * k + 2) + x.at(4 * k + 3)) / 4, 1e-6);
  }
  // Over other axes: moved last, pooled as [N, K, R, 1], reshaped (any batch while dim 0 stays).
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3, 2, 2});
  attr_ints(add_node(g, "mean1", "ReduceMean", {"x"}, {"y"}), "axes", {1, -1});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 1, 2, 1});
  write_proto(file("mean1.onnx"), m);
  ir::Graph graph = io::load_onnx(file("mean1.onnx").string(), ops::op_table());
  EXPECT_EQ(op_types(graph), (std::vector<std::string>{"Transpose", "Reshape", "GlobalAveragePool", "Reshape"}));
  const Tensor x = random_input({3, 3, 2, 2}, 6);
  const Tensor y = run(graph, {{"x", x}})[0];
  ASSERT_EQ(y.shape(), (Shape{3, 1, 2, 1}));
  for (int n = 0; n < 3; ++n)
    for (int h = 0; h < 2; ++h) {
      double sum = 0;
      for (int c = 0; c < 3; ++c)
        for (int w = 0; w < 2; ++w) sum += x.at(((n * 3 + c) * 2 + h) * 2 + w);
      EXPECT_NEAR(y.at(n * 2 + h), sum / 6, 1e-6);
    }
  g->mutable_node(0)->mutable_attribute(0)->set_ints(1, 1);  // axes [1, 1]
  write_proto(file("mean2.onnx"), m);
  expect_bad_file(file("mean2.onnx"), {"node 'mean1' (ReduceMean)", "'axes' [1, 1]"});
}

TEST_F(OnnxOpset, UnsupportedVersionsAndFlagsAreClearErrors) {
  onnx::ModelProto m = empty_model(6);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3});
  add_node(g, "sub", "Sub", {"x", "x"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 3});
  write_proto(file("sub6.onnx"), m);
  expect_bad_file(file("sub6.onnx"), {"node 'sub' (Sub)", "version 6", "opset 6", "versions 7, 13, 14"});

  onnx::ModelProto bn = empty_model(7);
  auto* bg = bn.mutable_graph();
  add_tensor_value(bg->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 2, 2, 2});
  for (const char* name : {"scale", "bias", "mean", "var"}) add_float_init(bg, name, {2}, {1.f, 1.f});
  attr_int(add_node(bg, "bn", "BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"}), "spatial", 0);
  add_tensor_value(bg->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 2, 2, 2});
  write_proto(file("bn.onnx"), bn);
  expect_bad_file(file("bn.onnx"), {"node 'bn' (BatchNormalization)", "'spatial'"});
  bg->mutable_node(0)->mutable_attribute(0)->set_i(1);  // spatial = 1: the per-channel form
  write_proto(file("bn.onnx"), bn);
  EXPECT_NO_THROW(io::load_onnx(file("bn.onnx").string(), ops::op_table()));

  write_proto(file("new.onnx"), empty_model(18));
  expect_bad_file(file("new.onnx"), {"opset 18", "1 to 17"});
  onnx::ModelProto old = empty_model(5);  // Relu-1 (consumed_inputs) is in effect before opset 6
  add_tensor_value(old.mutable_graph()->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3});
  add_node(old.mutable_graph(), "relu", "Relu", {"x"}, {"y"});
  add_tensor_value(old.mutable_graph()->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 3});
  write_proto(file("old.onnx"), old);
  expect_bad_file(file("old.onnx"), {"node 'relu' (Relu)", "version 1", "opset 5", "versions 6, 13, 14"});
}

}  // namespace
}  // namespace leancnn
