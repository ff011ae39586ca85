// Unit tests of Add and Mul: broadcast shape inference, its error cases, forward values and
// the backward's reduction over broadcast dims, against hand-computed examples.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

// The reference backward's gradients of both inputs for the given d_dst.
std::vector<Tensor> both_grads(const OpCase& c, const Tensor& d_dst) {
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {d_dst}, {}};
  for (const Tensor& t : c.inputs) b.d_inputs.push_back(Tensor::full(t.shape(), NAN));
  ops::op_table().get(g.node(0)).backward(b);
  return b.d_inputs;
}

void expect_values(const Tensor& t, const std::vector<float>& want) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(t.at(i), want[i]) << "element " << i;
}

OpCase binary(const std::string& op, Tensor a, Tensor b) {
  OpCase c;
  c.op_type = op;
  c.inputs = {std::move(a), std::move(b)};
  return c;
}

Shape inferred(const std::string& op, const Shape& a, const Shape& b) {
  return run_reference(binary(op, Tensor::zeros(a), Tensor::zeros(b))).inferred.at(0).shape;
}

TEST(BinaryInfer, BroadcastShapes) {
  for (const char* op : {"Add", "Mul"}) {
    EXPECT_EQ(inferred(op, {5, 13, 3, 2}, {5, 13, 1, 1}), (Shape{5, 13, 3, 2}));
    EXPECT_EQ(inferred(op, {5, 13, 1, 1}, {5, 13, 3, 2}), (Shape{5, 13, 3, 2}));
    EXPECT_EQ(inferred(op, {2, 7, 3, 3}, {7, 1, 1}), (Shape{2, 7, 3, 3}));
    EXPECT_EQ(inferred(op, {3, 1}, {1, 4}), (Shape{3, 4}));
    EXPECT_EQ(inferred(op, {5, 1, 3, 1}, {7, 1, 2}), (Shape{5, 7, 3, 2}));
    EXPECT_EQ(inferred(op, {}, {2, 3}), (Shape{2, 3}));
    EXPECT_EQ(inferred(op, {4}, {}), (Shape{4}));
    EXPECT_EQ(inferred(op, {}, {}), (Shape{}));
  }
}

TEST(BinaryInfer, RejectsShapesThatDoNotBroadcast) {
  for (const char* op : {"Add", "Mul"}) {
    expect_bad_input(binary(op, Tensor::zeros({2, 3}), Tensor::zeros({4})), "do not broadcast");
    expect_bad_input(binary(op, Tensor::zeros({5, 3, 1, 1}), Tensor::zeros({5, 4, 1, 1})), "do not broadcast");
    expect_bad_input(binary(op, Tensor::zeros({3, 2}), Tensor::zeros({2, 3})), "do not broadcast");
  }
}

TEST(BinaryInfer, RejectsNonFloatAndMissingInputs) {
  expect_bad_input(binary("Add", Tensor::zeros({2}), Tensor::from_ints({2}, {1, 2}, DType::s64)), "must be f32");
  expect_bad_input(binary("Mul", Tensor(), Tensor::zeros({2})), "missing input 0");
}

TEST(BinaryForward, AddBothSidesBroadcast) {
  // [3,1] + [1,4]: out[i][j] = a[i] + b[j].
  OpCase c = binary("Add", Tensor::from_floats({3, 1}, {1, 2, 3}), Tensor::from_floats({1, 4}, {10, 20, 30, 40}));
  expect_values(run_reference(c).outputs[0], {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43});
}

TEST(BinaryForward, MulSqueezeExcitation) {
  // [N=2,C=2,H=1,W=2] scaled by [2,2,1,1].
  OpCase c = binary("Mul", Tensor::from_floats({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8}),
                    Tensor::from_floats({2, 2, 1, 1}, {1, 10, 100, 1000}));
  expect_values(run_reference(c).outputs[0], {1, 2, 30, 40, 500, 600, 7000, 8000});
}

TEST(BinaryForward, ScalarOperand) {
  expect_values(run_reference(binary("Mul", Tensor::from_floats({}, {-2}), Tensor::from_floats({3}, {1, 2, 3})))
                    .outputs[0],
                {-2, -4, -6});
  expect_values(run_reference(binary("Add", Tensor::from_floats({3}, {1, 2, 3}), Tensor::from_floats({1}, {0.5f})))
                    .outputs[0],
                {1.5f, 2.5f, 3.5f});
}

TEST(BinaryBackward, AddSumsOverBroadcastDims) {
  OpCase c = binary("Add", Tensor::zeros({2, 3}), Tensor::zeros({3}));
  auto d = both_grads(c, Tensor::from_floats({2, 3}, {1, 2, 3, 4, 5, 6}));
  expect_values(d[0], {1, 2, 3, 4, 5, 6});
  expect_values(d[1], {5, 7, 9});
}

TEST(BinaryBackward, MulBothSidesBroadcast) {
  // y[i][j] = a[i] * b[j], a: [2,1], b: [1,3]; d_a[i] = sum_j dy[i][j] b[j], d_b[j] = sum_i dy[i][j] a[i].
  OpCase c = binary("Mul", Tensor::from_floats({2, 1}, {2, 3}), Tensor::from_floats({1, 3}, {1, 10, 100}));
  auto d = both_grads(c, Tensor::from_floats({2, 3}, {1, 2, 3, 4, 5, 6}));
  expect_values(d[0], {1 + 20 + 300, 4 + 50 + 600});
  expect_values(d[1], {2 + 12, 4 + 15, 6 + 18});
}

TEST(BinaryBackward, MulSqueezeExcitationScale) {
  // The [N,C,1,1] scale's gradient sums d_dst * x over H and W.
  OpCase c = binary("Mul", Tensor::from_floats({1, 2, 1, 2}, {1, 2, 3, 4}), Tensor::from_floats({1, 2, 1, 1}, {5, 6}));
  auto d = both_grads(c, Tensor::full({1, 2, 1, 2}, 1.f));
  expect_values(d[0], {5, 5, 6, 6});
  expect_values(d[1], {3, 7});
}

TEST(BinaryBackward, OnlyTheWantedGradientIsWritten) {
  OpCase c = binary("Mul", Tensor::from_floats({2}, {1, 2}), Tensor::from_floats({2}, {3, 4}));
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {Tensor::full({2}, 1.f)}, {Tensor(), Tensor::full({2}, NAN)}};
  ops::op_table().get(g.node(0)).backward(b);
  EXPECT_FALSE(b.d_inputs[0].defined());
  expect_values(b.d_inputs[1], {1, 2});
}

}  // namespace
}  // namespace leancnn::testing
