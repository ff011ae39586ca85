// Gradient checks of Split: explicit sizes and equal parts, several axes.
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

TEST(SplitGrad, ExplicitSizesOnChannels) {
  Rng rng(3);
  OpCase c;
  c.op_type = "Split";
  c.inputs = {random_tensor({2, 7, 3, 3}, rng), Tensor::from_ints({3}, {2, 4, 1}, DType::s64)};
  c.attrs.set("axis", int64_t{1});
  c.num_outputs = 3;
  expect_gradients_match(c, {0}, {}, 3);
}

TEST(SplitGrad, EqualPartsOnTheLastAxis) {
  Rng rng(4);
  OpCase c;
  c.op_type = "Split";
  c.inputs = {random_tensor({5, 3, 6}, rng)};
  c.attrs.set("axis", int64_t{-1});
  c.num_outputs = 2;
  expect_gradients_match(c, {0}, {}, 2);
}

}  // namespace
}  // namespace leancnn::testing
