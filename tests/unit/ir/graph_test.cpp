// Graph structure, topological order, shape inference, the verifier's errors and the summary.
#include <gtest/gtest.h>

#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::ir {
namespace {

const OpTable& ops() { return leancnn::ops::op_table(); }

// Expects verify() to throw bad_input with `needle` in the message.
void expect_verify_error(const Graph& g, const std::string& needle) {
  try {
    verify(g, ops());
    ADD_FAILURE() << "verify() accepted a malformed graph; expected '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

Graph conv_relu() {
  Graph g;
  Builder b(g, ops(), 1);
  ValueId x = b.input("x", {1, 3, 8, 8});
  b.output(b.relu(b.conv(x, 4, 3, 1, 1, 1, true)));
  return g;
}

TEST(Graph, BuilderInfersShapesAndNamesUnderScopes) {
  Graph g;
  Builder b(g, ops(), 1);
  ValueId x = b.input("x", {2, 3, 9, 9});
  ValueId y;
  {
    Builder::Scope s(b, "stem");
    y = b.conv(x, 8, 3, 2, 1);
  }
  EXPECT_EQ(g.value(y).shape, (Shape{2, 8, 5, 5}));
  EXPECT_EQ(g.value(y).name, "stem.conv");
  EXPECT_NE(g.find_value("stem.conv.weight"), kNone);
  EXPECT_TRUE(g.value(g.find_value("stem.conv.weight")).trainable);
  EXPECT_NO_THROW(verify(g, ops()));
}

TEST(Graph, TopoOrderFollowsDependencies) {
  Graph g;
  ValueId x = g.add_input("x", {1, 2, 3, 3});
  ValueId a = g.add_value("a"), c = g.add_value("c");
  // Insert the consumer first: the order must still put the producer first.
  NodeId second = g.add_node("Relu", {a}, {c});
  NodeId first = g.add_node("Relu", {x}, {a});
  auto order = g.topo_order();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], first);
  EXPECT_EQ(order[1], second);
  EXPECT_EQ(g.consumers(a), std::vector<NodeId>{second});
}

TEST(Verify, AcceptsAWellFormedGraph) {
  Graph g = conv_relu();
  EXPECT_NO_THROW(verify(g, ops()));
}

TEST(Verify, RejectsACycle) {
  Graph g;
  ValueId a = g.add_value("a"), b = g.add_value("b");
  g.add_node("Relu", {b}, {a}, {}, "r1");
  g.add_node("Relu", {a}, {b}, {}, "r2");
  g.mark_output(b);
  expect_verify_error(g, "cycle");
}

TEST(Verify, RejectsADanglingValue) {
  Graph g;
  ValueId ghost = g.add_value("ghost");  // never produced, not an input
  ValueId y = g.add_value("y");
  g.add_node("Relu", {ghost}, {y}, {}, "r");
  g.mark_output(y);
  expect_verify_error(g, "dangling");
}

TEST(Verify, RejectsAnUnproducedGraphOutput) {
  Graph g = conv_relu();
  g.mark_output(g.add_value("nothing"));
  expect_verify_error(g, "never produced");
}

TEST(Verify, RejectsUnknownOpsAndAttributes) {
  Graph g = conv_relu();
  g.add_node("FancyConv", {g.inputs()[0]}, {g.add_value("z")}, {}, "f");
  expect_verify_error(g, "unsupported op");

  Graph h = conv_relu();
  h.node(0).attrs.set("bogus", int64_t{1});
  expect_verify_error(h, "unknown attribute 'bogus'");
}

TEST(Verify, RejectsWrongArity) {
  Graph g;
  ValueId x = g.add_input("x", {1, 3, 4, 4});
  ValueId y = g.add_value("y");
  g.add_node("Conv", {x}, {y}, {}, "c");  // Conv needs X and W
  g.mark_output(y);
  expect_verify_error(g, "has 1 inputs");
}

TEST(Verify, RejectsShapeMismatches) {
  Graph g;
  ValueId x = g.add_input("x", {1, 3, 8, 8});
  ValueId w = g.add_initializer("w", Tensor::zeros({4, 5, 3, 3}), true);  // expects 5 channels
  ValueId y = g.add_value("y");
  g.add_node("Conv", {x, w}, {y}, {}, "c");
  g.mark_output(y);
  expect_verify_error(g, "input channels");

  Graph h = conv_relu();
  h.value(h.outputs()[0]).shape = {1, 4, 7, 7};  // recorded shape disagrees with inference
  expect_verify_error(h, "recorded as 1x4x7x7");
}

TEST(Summary, CountsParamsAndMacs) {
  Graph g = conv_relu();
  Summary s = summarize(g, ops());
  // Conv 3->4, 3x3, bias: 4*3*9 + 4 params; MACs = 4*8*8 * 3*9.
  EXPECT_EQ(s.params, 4 * 3 * 9 + 4);
  EXPECT_EQ(s.macs, 4 * 8 * 8 * 3 * 9);
  ASSERT_EQ(s.rows.size(), 2u);
  EXPECT_EQ(s.rows[0].output_shape, (Shape{1, 4, 8, 8}));
  std::string text = format_summary(g, s);
  EXPECT_NE(text.find("6,912"), std::string::npos) << text;
}

TEST(InferShapes, PropagatesThroughTheGraph) {
  Graph g = conv_relu();
  for (int i = 0; i < g.num_values(); ++i)
    if (g.value(i).producer != kNone) g.value(i).shape_known = false;
  infer_shapes(g, ops());
  EXPECT_EQ(g.value(g.outputs()[0]).shape, (Shape{1, 4, 8, 8}));
}

}  // namespace
}  // namespace leancnn::ir
