// Shape sub-graphs folded at load (as torch.onnx.export writes x.view(x.size(0), -1) and
// ShuffleNet's channel shuffle): the result is a constant Reshape shape with the batch as 0 or
// -1, the model runs at any batch, nothing of the shape computation is left in the graph;
// what cannot be folded is an error naming the node. Also: a zero Pad folded into a Conv.
#include <gtest/gtest.h>

#include <limits>

#include "leancnn/core/rng.h"
#include "leancnn/runtime/executor.h"
#include "onnx_proto_util.h"
#include "onnx_test_support.h"

namespace leancnn {
namespace {

using namespace onnx_test;
using OnnxFold = OnnxDir;

std::vector<std::string> op_types(const ir::Graph& g) {
  std::vector<std::string> out;
  for (ir::NodeId id : g.node_ids()) out.push_back(g.node(id).op_type);
  return out;
}

std::vector<int64_t> ints_of(const ir::Graph& g, ir::ValueId v) {
  const Tensor& t = g.value(v).data;
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.numel());
}

Tensor random_input(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng(seed).fill_uniform(t, -1.f, 1.f);
  return t;
}

// dim = Gather(Shape(x), index) then Unsqueeze to 1-D (axes as an attribute before opset 13).
std::string size_of(onnx::GraphProto* g, int64_t opset, const std::string& shape, int64_t index) {
  const std::string idx = shape + "_i" + std::to_string(index), dim = shape + "_d" + std::to_string(index);
  add_int64_constant(g, idx, {index}, true);
  add_node(g, "gather_" + dim, "Gather", {shape, idx}, {dim});
  const std::string out = dim + "_1d";
  if (opset >= 13) {
    add_int64_constant(g, dim + "_axes", {0});
    add_node(g, "unsq_" + dim, "Unsqueeze", {dim, dim + "_axes"}, {out});
  } else {
    attr_ints(add_node(g, "unsq_" + dim, "Unsqueeze", {dim}, {out}), "axes", {0});
  }
  return out;
}

// x[N, 3, 2, 2] -> Relu -> view(x.size(0), -1), as torch.onnx.export writes it.
onnx::ModelProto view_model(int64_t opset) {
  onnx::ModelProto m = empty_model(opset);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3, 2, 2});
  add_node(g, "relu", "Relu", {"x"}, {"r"});
  add_node(g, "shape", "Shape", {"r"}, {"s"});
  const std::string batch = size_of(g, opset, "s", 0);
  add_int64_constant(g, "minus_one", {-1});
  attr_int(add_node(g, "cat", "Concat", {batch, "minus_one"}, {"spec"}), "axis", 0);
  add_node(g, "view", "Reshape", {"r", "spec"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 12});
  return m;
}

TEST_F(OnnxFold, ViewOfTheBatchSizeBecomesZero) {
  for (int64_t opset : {11, 13}) {
    write_proto(file("view.onnx"), view_model(opset));
    ir::Graph g = io::load_onnx(file("view.onnx").string(), ops::op_table());
    ASSERT_EQ(op_types(g), (std::vector<std::string>{"Relu", "Reshape"})) << opset;
    const ir::Node& view = g.node(g.node_ids()[1]);
    EXPECT_EQ(ints_of(g, view.inputs[1]), (std::vector<int64_t>{0, -1}));
    EXPECT_EQ(g.initializers().size(), 1u) << "only the Reshape shape remains";
    EXPECT_EQ(g.num_values(), 4) << "x, r, the shape, y: nothing else of the shape computation";
    runtime::Executor ex(g, ops::op_table());
    const Tensor x = random_input({3, 3, 2, 2}, 1);
    const Tensor y = ex.forward({{"x", x}})[0];
    ASSERT_EQ(y.shape(), (Shape{3, 12}));
    for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y.at(i), std::max(x.at(i), 0.f));
  }
}

// ShuffleNet's channel_shuffle: b, c, h, w = x.size(); x.view(b, 2, c // 2, h, w)
// .transpose(1, 2).contiguous().view(b, -1, h, w).
TEST_F(OnnxFold, ChannelShuffleRunsAtAnyBatch) {
  for (int64_t opset : {11, 13}) {
    onnx::ModelProto m = empty_model(opset);
    auto* g = m.mutable_graph();
    add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 4, 2, 3});
    add_node(g, "shape", "Shape", {"x"}, {"s"});
    const std::string b = size_of(g, opset, "s", 0), h = size_of(g, opset, "s", 2), w = size_of(g, opset, "s", 3);
    add_int64_constant(g, "c_idx", {1}, true);
    add_node(g, "gather_c", "Gather", {"s", "c_idx"}, {"c"});
    add_int64_constant(g, "two", {2}, true);
    add_node(g, "div", "Div", {"c", "two"}, {"c_half"});
    add_node(g, "cast", "Cast", {"c_half"}, {"c_half64"});
    attr_int(g->mutable_node(g->node_size() - 1), "to", onnx::TensorProto::INT64);
    if (opset >= 13) {
      add_int64_constant(g, "axes0", {0});
      add_node(g, "unsq_c", "Unsqueeze", {"c_half64", "axes0"}, {"c_half_1d"});
    } else {
      attr_ints(add_node(g, "unsq_c", "Unsqueeze", {"c_half64"}, {"c_half_1d"}), "axes", {0});
    }
    add_int64_constant(g, "groups", {2});
    attr_int(add_node(g, "cat1", "Concat", {b, "groups", "c_half_1d", h, w}, {"spec1"}), "axis", 0);
    add_node(g, "view1", "Reshape", {"x", "spec1"}, {"v1"});
    attr_ints(add_node(g, "tr", "Transpose", {"v1"}, {"t"}), "perm", {0, 2, 1, 3, 4});
    add_int64_constant(g, "minus_one", {-1});
    attr_int(add_node(g, "cat2", "Concat", {b, "minus_one", h, w}, {"spec2"}), "axis", 0);
    add_node(g, "view2", "Reshape", {"t", "spec2"}, {"y"});
    add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 4, 2, 3});
    write_proto(file("shuffle.onnx"), m);

    ir::Graph graph = io::load_onnx(file("shuffle.onnx").string(), ops::op_table());
    ASSERT_EQ(op_types(graph), (std::vector<std::string>{"Reshape", "Transpose", "Reshape"})) << opset;
    const std::vector<ir::NodeId> ids = graph.node_ids();
    EXPECT_EQ(ints_of(graph, graph.node(ids[0]).inputs[1]), (std::vector<int64_t>{0, 2, 2, 2, 3}));
    EXPECT_EQ(ints_of(graph, graph.node(ids[2]).inputs[1]), (std::vector<int64_t>{0, -1, 2, 3}));
    EXPECT_EQ(graph.initializers().size(), 2u);
    runtime::Executor ex(graph, ops::op_table());
    const Tensor x = random_input({2, 4, 2, 3}, 2);
    const Tensor y = ex.forward({{"x", x}})[0];
    ASSERT_EQ(y.shape(), (Shape{2, 4, 2, 3}));
    const int from[4] = {0, 2, 1, 3};  // output channel k reads input channel from[k]
    for (int n = 0; n < 2; ++n)
      for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 6; ++i) EXPECT_EQ(y.at((n * 4 + k) * 6 + i), x.at((n * 4 + from[k]) * 6 + i));
  }
}

// A dim computed from the batch (B * C) becomes -1; Slice and Cast pass sizes through.
TEST_F(OnnxFold, BatchDerivedDimBecomesMinusOne) {
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3, 2, 2});
  add_node(g, "shape", "Shape", {"x"}, {"s"});
  add_int64_constant(g, "starts", {0});
  add_int64_constant(g, "ends", {2});
  add_node(g, "slice", "Slice", {"s", "starts", "ends"}, {"bc"});  // [B, C]
  add_int64_constant(g, "idx0", {0}, true);
  add_int64_constant(g, "idx1", {1}, true);
  add_node(g, "g0", "Gather", {"bc", "idx0"}, {"b"});
  add_node(g, "g1", "Gather", {"bc", "idx1"}, {"c"});
  add_node(g, "mul", "Mul", {"b", "c"}, {"bc_prod"});
  add_int64_constant(g, "axes0", {0});
  add_node(g, "unsq", "Unsqueeze", {"bc_prod", "axes0"}, {"bc_1d"});
  add_int64_constant(g, "starts2", {2});
  add_int64_constant(g, "ends2", {std::numeric_limits<int64_t>::max()});
  add_node(g, "slice2", "Slice", {"s", "starts2", "ends2"}, {"hw"});
  add_node(g, "cast32", "Cast", {"hw"}, {"hw32"});
  attr_int(g->mutable_node(g->node_size() - 1), "to", onnx::TensorProto::INT32);
  add_node(g, "cast64", "Cast", {"hw32"}, {"hw64"});
  attr_int(g->mutable_node(g->node_size() - 1), "to", onnx::TensorProto::INT64);
  attr_int(add_node(g, "cat", "Concat", {"bc_1d", "hw64"}, {"spec"}), "axis", 0);
  add_node(g, "view", "Reshape", {"x", "spec"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 2, 2});
  write_proto(file("bc.onnx"), m);
  ir::Graph graph = io::load_onnx(file("bc.onnx").string(), ops::op_table());
  ASSERT_EQ(op_types(graph), (std::vector<std::string>{"Reshape"}));
  EXPECT_EQ(ints_of(graph, graph.node(graph.node_ids()[0]).inputs[1]), (std::vector<int64_t>{-1, 2, 2}));
  runtime::Executor ex(graph, ops::op_table());
  EXPECT_EQ(ex.forward({{"x", random_input({5, 3, 2, 2}, 3)}})[0].shape(), (Shape{15, 2, 2}));

  // Two dims from the batch: no constant shape runs at every batch.
  auto* cat = g->mutable_node(g->node_size() - 2);
  cat->set_input(1, "bc_1d");
  add_tensor_value(g->mutable_output(0), "y", onnx::TensorProto::FLOAT, {});
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  write_proto(file("bc2.onnx"), m);
  expect_bad_file(file("bc2.onnx"), {"node 'view' (Reshape)", "depends on the batch size"});
}

TEST_F(OnnxFold, WhatCannotBeFoldedNamesTheNode) {
  // Gather of data the model computes.
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3});
  add_int64_constant(g, "idx", {1}, true);
  attr_int(add_node(g, "pick", "Gather", {"x", "idx"}, {"y"}), "axis", 1);
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1});
  write_proto(file("gather.onnx"), m);
  expect_bad_file(file("gather.onnx"), {"node 'pick' (Gather)", "shape computations", "'x'"});

  // A tensor shaped by the batch size that reaches a node other than a Reshape's shape.
  onnx::ModelProto c = empty_model(13);
  auto* cg = c.mutable_graph();
  add_tensor_value(cg->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3});
  add_node(cg, "shape", "Shape", {"x"}, {"s"});
  add_node(cg, "cast", "Cast", {"s"}, {"sf"});
  attr_int(cg->mutable_node(1), "to", onnx::TensorProto::FLOAT);
  add_node(cg, "add", "Add", {"x", "sf"}, {"y"});
  add_tensor_value(cg->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 3});
  write_proto(file("batch_value.onnx"), c);
  expect_bad_file(file("batch_value.onnx"), {"node 'add' (Add)", "'sf'", "batch size"});

  // ConstantOfShape of the input's shape: its shape would follow the batch.
  cg->mutable_node(1)->set_op_type("ConstantOfShape");
  cg->mutable_node(1)->clear_attribute();
  write_proto(file("cos.onnx"), c);
  expect_bad_file(file("cos.onnx"), {"node 'cast' (ConstantOfShape)", "depends on the batch size"});
}

TEST_F(OnnxFold, SqueezeAndUnsqueezeOfComputedValuesAreReshapes) {
  onnx::ModelProto m = empty_model(11);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3, 1, 1});
  attr_ints(add_node(g, "sq", "Squeeze", {"x"}, {"s"}), "axes", {2, 3});
  attr_ints(add_node(g, "unsq", "Unsqueeze", {"s"}, {"y"}), "axes", {1});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 1, 3});
  write_proto(file("sq.onnx"), m);
  ir::Graph graph = io::load_onnx(file("sq.onnx").string(), ops::op_table());
  ASSERT_EQ(op_types(graph), (std::vector<std::string>{"Reshape", "Reshape"}));
  EXPECT_EQ(ints_of(graph, graph.node(graph.node_ids()[0]).inputs[1]), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(ints_of(graph, graph.node(graph.node_ids()[1]).inputs[1]), (std::vector<int64_t>{0, 1, 3}));
  runtime::Executor ex(graph, ops::op_table());
  EXPECT_EQ(ex.forward({{"x", random_input({4, 3, 1, 1}, 4)}})[0].shape(), (Shape{4, 1, 3}));
}

// x.chunk(2, dim=1) as torch.onnx.export writes it: Slices with bounds computed from the shape.
TEST_F(OnnxFold, SliceOfAComputedValueIsASplit) {
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 6, 2});
  add_node(g, "shape", "Shape", {"x"}, {"s"});
  add_int64_constant(g, "one", {1});
  add_node(g, "gather", "Gather", {"s", "one"}, {"c"});  // [6]
  add_int64_constant(g, "two", {2});
  add_node(g, "div", "Div", {"c", "two"}, {"half"});
  add_int64_constant(g, "zero", {0});
  add_int64_constant(g, "big", {std::numeric_limits<int64_t>::max()});
  add_node(g, "lo", "Slice", {"x", "zero", "half", "one"}, {"a"});
  add_node(g, "hi", "Slice", {"x", "half", "big", "one"}, {"b"});
  add_int64_constant(g, "mid", {1});
  add_int64_constant(g, "mid_end", {-1});
  add_node(g, "inner", "Slice", {"x", "mid", "mid_end", "one"}, {"c_mid"});
  add_node(g, "add", "Add", {"a", "b"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 3, 2});
  add_tensor_value(g->add_output(), "c_mid", onnx::TensorProto::FLOAT, {-1, 4, 2});
  write_proto(file("chunk.onnx"), m);
  ir::Graph graph = io::load_onnx(file("chunk.onnx").string(), ops::op_table());
  ASSERT_EQ(op_types(graph), (std::vector<std::string>{"Split", "Split", "Split", "Add"}));
  EXPECT_EQ(ints_of(graph, graph.node(graph.node_ids()[2]).inputs[1]), (std::vector<int64_t>{1, 4, 1}));
  runtime::Executor ex(graph, ops::op_table());
  const Tensor x = random_input({3, 6, 2}, 6);
  const std::vector<Tensor> y = ex.forward({{"x", x}});
  ASSERT_EQ(y[0].shape(), (Shape{3, 3, 2}));
  ASSERT_EQ(y[1].shape(), (Shape{3, 4, 2}));
  for (int n = 0; n < 3; ++n)
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < 2; ++w) {
        EXPECT_EQ(y[0].at((n * 3 + c) * 2 + w), x.at((n * 6 + c) * 2 + w) + x.at((n * 6 + c + 3) * 2 + w));
        EXPECT_EQ(y[1].at((n * 4 + c) * 2 + w), x.at((n * 6 + c + 1) * 2 + w));
      }

  auto* steps = g->mutable_node(g->node_size() - 2);  // inner: steps of 2 are not read
  add_int64_constant(g, "step2", {2});
  steps->add_input("step2");
  g->mutable_node()->SwapElements(g->node_size() - 1, g->node_size() - 3);
  write_proto(file("steps.onnx"), m);
  expect_bad_file(file("steps.onnx"), {"node 'inner' (Slice)", "step 2"});
}

// OnnxLoadOptions::constant_inputs: an input given at load time is a constant.
TEST_F(OnnxFold, InputsGivenAtLoadTimeAreConstants) {
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 6});
  add_tensor_value(g->add_input(), "shape", onnx::TensorProto::INT64, {2});
  add_node(g, "reshape", "Reshape", {"x", "shape"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {3, 4});
  write_proto(file("bind.onnx"), m);
  expect_bad_file(file("bind.onnx"), {"node 'reshape' (Reshape)", "constant"});
  io::OnnxLoadOptions options;
  options.constant_inputs["shape"] = Tensor::from_ints({2}, {3, 4}, DType::s64);
  ir::Graph graph = io::load_onnx(file("bind.onnx").string(), ops::op_table(), options);
  ASSERT_EQ(graph.inputs().size(), 1u);
  EXPECT_EQ(graph.value(graph.outputs()[0]).shape, (Shape{3, 4}));
  options.constant_inputs["shape"] = Tensor::from_ints({3}, {3, 4, 1}, DType::s64);
  EXPECT_THROW(io::load_onnx(file("bind.onnx").string(), ops::op_table(), options), Error);
  options.constant_inputs = {{"nowhere", Tensor::full({}, 1.f)}};
  try {
    io::load_onnx(file("bind.onnx").string(), ops::op_table(), options);
    ADD_FAILURE() << "loaded with a value for no input";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'nowhere'"), std::string::npos) << e.what();
  }
}

// Pad(zeros on H, W) -> Conv: one Conv with the pads added, same outputs as the unfolded pair.
TEST_F(OnnxFold, ZeroPadIsFoldedIntoTheConv) {
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 2, 4, 5});
  std::vector<float> w(3 * 2 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 7) * 0.25f - 0.75f;
  add_float_init(g, "W", {3, 2, 3, 3}, w);
  add_int64_init(g, "pads", {8}, {0, 0, 1, 2, 0, 0, 0, 1});
  add_node(g, "pad", "Pad", {"x", "pads"}, {"p"});
  attr_ints(add_node(g, "conv", "Conv", {"p", "W"}, {"y"}), "pads", {1, 0, 1, 0});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 3, 5, 6});
  write_proto(file("pad_conv.onnx"), m);
  ir::Graph folded = io::load_onnx(file("pad_conv.onnx").string(), ops::op_table());
  ASSERT_EQ(op_types(folded), (std::vector<std::string>{"Conv"}));
  EXPECT_EQ(folded.node(folded.node_ids()[0]).attrs.get_ints("pads", {}), (std::vector<int64_t>{2, 2, 1, 1}));
  EXPECT_EQ(folded.find_value("pads"), ir::kNone);

  add_tensor_value(g->add_output(), "p", onnx::TensorProto::FLOAT, {-1, 2, 5, 8});  // Pad read twice: kept
  write_proto(file("pad_kept.onnx"), m);
  ir::Graph kept = io::load_onnx(file("pad_kept.onnx").string(), ops::op_table());
  ASSERT_EQ(op_types(kept), (std::vector<std::string>{"Pad", "Conv"}));
  const Tensor x = random_input({2, 2, 4, 5}, 5);
  runtime::Executor ef(folded, ops::op_table()), ek(kept, ops::op_table());
  const Tensor yf = ef.forward({{"x", x}})[0], yk = ek.forward({{"x", x}})[0];
  ASSERT_EQ(yf.shape(), (Shape{2, 3, 5, 6}));
  ASSERT_EQ(yf.shape(), yk.shape());
  for (int64_t i = 0; i < yf.numel(); ++i) EXPECT_NEAR(yf.at(i), yk.at(i), 1e-5f);
}

}  // namespace
}  // namespace leancnn
