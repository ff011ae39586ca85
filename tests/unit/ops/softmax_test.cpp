// Unit tests of Softmax (opset 13): shape inference, error cases, hand-computed values,
// numerical stability, normalisation over exactly one axis, and backward.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "leancnn/core/error.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

void expect_values(const Tensor& t, const std::vector<float>& want, float tol = 1e-6f) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.at(i), want[i], tol) << "element " << i;
}

OpCase softmax(Tensor x, std::optional<int64_t> axis = {}) {
  OpCase c;
  c.op_type = "Softmax";
  c.inputs = {std::move(x)};
  if (axis) c.attrs.set("axis", *axis);
  return c;
}

TEST(SoftmaxInfer, SameShapeAndSavesNothing) {
  OpCase c = softmax(Tensor::zeros({5, 13, 2}), 1);
  c.training = true;
  OpRun r = run_reference(c);
  EXPECT_EQ(r.inferred.at(0).shape, (Shape{5, 13, 2}));
  EXPECT_EQ(r.inferred[0].dtype, DType::f32);
  EXPECT_TRUE(r.saved.empty());
}

TEST(SoftmaxInfer, Errors) {
  expect_bad_input(softmax(Tensor::zeros({2, 3}), 2), "out of range");
  expect_bad_input(softmax(Tensor::zeros({2, 3}), -3), "out of range");
  expect_bad_input(softmax(Tensor::from_ints({2}, {1, 2}, DType::s64)), "must be f32");
}

TEST(SoftmaxForward, HandComputed) {
  // exp(1,2,3) / (e + e^2 + e^3)
  expect_values(run_reference(softmax(Tensor::from_floats({1, 3}, {1, 2, 3}))).outputs[0],
                {0.09003057f, 0.24472847f, 0.66524096f});
  expect_values(run_reference(softmax(Tensor::from_floats({2, 1}, {5, -7}))).outputs[0], {1, 1});  // one class
}

TEST(SoftmaxForward, StableForLargeLogits) {
  Tensor y = run_reference(softmax(Tensor::from_floats({2, 2}, {1000, 1000, -1000, 0}))).outputs[0];
  expect_values(y, {0.5f, 0.5f, 0.f, 1.f});
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_TRUE(std::isfinite(y.at(i)));
}

TEST(SoftmaxForward, Opset13NormalisesOverOneAxisOnly) {
  // [1, 2, 2] over axis 1: each column (fixed last index) sums to 1. Opset < 13 would coerce
  // dims 1..2 into one and normalise over all four values instead.
  Tensor y = run_reference(softmax(Tensor::from_floats({1, 2, 2}, {0, 1, std::log(3.f), 1}), 1)).outputs[0];
  expect_values(y, {0.25f, 0.5f, 0.75f, 0.5f});
  // axis 0 of [2, 3]: columns.
  y = run_reference(softmax(Tensor::from_floats({2, 3}, {0, 0, 5, 0, std::log(3.f), 5}), 0)).outputs[0];
  expect_values(y, {0.5f, 0.25f, 0.5f, 0.5f, 0.75f, 0.5f});
}

TEST(SoftmaxBackward, HandComputed) {
  // y = (0.25, 0.75); d_src = y * (d_dst - <d_dst, y>): d_dst = (1, 0) -> <.,.> = 0.25,
  // d_src = (0.25 * 0.75, 0.75 * -0.25).
  OpCase c = softmax(Tensor::from_floats({1, 2}, {0, std::log(3.f)}));
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {Tensor::from_floats({1, 2}, {1, 0})},
                    {Tensor::full({1, 2}, NAN)}};
  ops::op_table().get(g.node(0)).backward(b);
  expect_values(b.d_inputs[0], {0.1875f, -0.1875f});
  // A gradient constant along the axis has no effect on the normalised output.
  b.d_outputs[0] = Tensor::full({1, 2}, 3.f);
  ops::op_table().get(g.node(0)).backward(b);
  expect_values(b.d_inputs[0], {0.f, 0.f});
}

}  // namespace
}  // namespace leancnn::testing
