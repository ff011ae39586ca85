// Split: shapes, values and errors.
#include <gtest/gtest.h>

#include "leancnn/core/error.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

OpCase split_case(Tensor x, Tensor sizes, int64_t axis, int outputs) {
  OpCase c;
  c.op_type = "Split";
  c.inputs = {x};
  if (sizes.defined()) c.inputs.push_back(sizes);
  c.attrs.set("axis", axis);
  c.num_outputs = outputs;
  return c;
}

TEST(Split, CutsAlongTheAxis) {
  Tensor x = Tensor::from_floats({2, 3}, {0, 1, 2, 3, 4, 5});
  OpRun r = run_reference(split_case(x, Tensor::from_ints({2}, {1, 2}, DType::s64), 1, 2));
  ASSERT_EQ(r.outputs.size(), 2u);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(r.outputs[1].shape(), (Shape{2, 2}));
  EXPECT_EQ(r.outputs[0].at(1), 3.f);
  EXPECT_EQ(r.outputs[1].at(0), 1.f);
  EXPECT_EQ(r.outputs[1].at(3), 5.f);
}

TEST(Split, EqualPartsWithoutSizes) {
  Tensor x = Tensor::from_floats({4}, {0, 1, 2, 3});
  OpRun r = run_reference(split_case(x, Tensor(), 0, 2));
  EXPECT_EQ(r.outputs[1].at(0), 2.f);
}

TEST(Split, RejectsBadSizes) {
  Tensor x = Tensor::zeros({2, 5});
  EXPECT_THROW(run_reference(split_case(x, Tensor::from_ints({2}, {2, 2}, DType::s64), 1, 2)), Error);  // sum 4 != 5
  EXPECT_THROW(run_reference(split_case(x, Tensor(), 1, 2)), Error);  // 5 not divisible by 2
  EXPECT_THROW(run_reference(split_case(x, Tensor::from_ints({3}, {1, 2, 2}, DType::s64), 1, 2)), Error);  // 3 sizes, 2 outputs
  EXPECT_THROW(run_reference(split_case(x, Tensor(), 2, 1)), Error);  // axis out of range
}

}  // namespace
}  // namespace leancnn::testing
