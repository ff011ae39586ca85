// Unit tests of Concat: shape inference, error cases, forward values (f32 and s64) and the
// backward's slicing, against hand-computed examples.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

void expect_values(const Tensor& t, const std::vector<float>& want) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(t.at(i), want[i]) << "element " << i;
}

OpCase concat(std::vector<Tensor> inputs, int64_t axis) {
  OpCase c;
  c.op_type = "Concat";
  c.inputs = std::move(inputs);
  c.attrs.set("axis", axis);
  return c;
}

TEST(ConcatInfer, SumsTheAxisExtents) {
  auto shape = [](OpCase c) { return run_reference(c).inferred.at(0).shape; };
  EXPECT_EQ(shape(concat({Tensor::zeros({1, 3, 4, 4}), Tensor::zeros({1, 5, 4, 4})}, 1)), (Shape{1, 8, 4, 4}));
  EXPECT_EQ(shape(concat({Tensor::zeros({2, 3}), Tensor::zeros({5, 3}), Tensor::zeros({1, 3})}, 0)), (Shape{8, 3}));
  EXPECT_EQ(shape(concat({Tensor::zeros({2, 3, 1}), Tensor::zeros({2, 3, 6})}, -1)), (Shape{2, 3, 7}));
  EXPECT_EQ(shape(concat({Tensor::zeros({2, 3, 1})}, 2)), (Shape{2, 3, 1}));
}

TEST(ConcatInfer, Errors) {
  OpCase no_axis;
  no_axis.op_type = "Concat";
  no_axis.inputs = {Tensor::zeros({2, 3})};
  expect_bad_input(no_axis, "needs the attribute 'axis'");
  expect_bad_input(concat({Tensor::zeros({2, 3}), Tensor::zeros({2, 3})}, 2), "out of range");
  expect_bad_input(concat({Tensor::zeros({2, 3}), Tensor::zeros({2, 3})}, -3), "out of range");
  expect_bad_input(concat({Tensor::zeros({1, 3, 4, 4}), Tensor::zeros({1, 3, 5, 4})}, 1), "except on axis 1");
  expect_bad_input(concat({Tensor::zeros({2, 3}), Tensor::zeros({2, 3, 1})}, 0), "except on axis 0");
  expect_bad_input(concat({Tensor::zeros({2}), Tensor::from_ints({2}, {1, 2}, DType::s64)}, 0), "is s64");
  expect_bad_input(concat({Tensor::zeros({})}, 0), "scalar");
  expect_bad_input(concat({Tensor::zeros({2}), Tensor()}, 0), "missing input 1");
}

TEST(ConcatForward, Axis0AndAxis1) {
  Tensor a = Tensor::from_floats({2, 2}, {1, 2, 3, 4});
  expect_values(run_reference(concat({a, Tensor::from_floats({1, 2}, {5, 6})}, 0)).outputs[0], {1, 2, 3, 4, 5, 6});
  expect_values(run_reference(concat({a, Tensor::from_floats({2, 1}, {5, 6})}, 1)).outputs[0], {1, 2, 5, 3, 4, 6});
  expect_values(
      run_reference(concat({Tensor::from_floats({2, 1}, {7, 8}), a, Tensor::from_floats({2, 1}, {5, 6})}, -1))
          .outputs[0],
      {7, 1, 2, 5, 8, 3, 4, 6});
}

TEST(ConcatForward, S64Values) {
  OpRun r = run_reference(concat({Tensor::from_ints({2}, {1, -1}, DType::s64), Tensor::from_ints({1}, {7}, DType::s64)}, 0));
  ASSERT_EQ(r.outputs[0].dtype(), DType::s64);
  const int64_t* v = r.outputs[0].data<int64_t>();
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[1], -1);
  EXPECT_EQ(v[2], 7);
}

TEST(ConcatBackward, SlicesTheGradientBack) {
  OpCase c = concat({Tensor::zeros({2, 1}), Tensor::zeros({2, 2}), Tensor::zeros({2, 1})}, 1);
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  // Gradients wanted for inputs 0 and 2 only.
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved,
                    {Tensor::from_floats({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8})},
                    {Tensor::full({2, 1}, NAN), Tensor(), Tensor::full({2, 1}, NAN)}};
  ops::op_table().get(g.node(0)).backward(b);
  expect_values(b.d_inputs[0], {1, 5});
  EXPECT_FALSE(b.d_inputs[1].defined());
  expect_values(b.d_inputs[2], {4, 8});
}

}  // namespace
}  // namespace leancnn::testing
