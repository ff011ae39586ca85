// Gradient checks of BatchNormalization's training-mode backward (through the batch
// statistics) on rank-2 and rank-4 inputs with 1, 3 and 7 channels.
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

class BatchNormGrad : public ::testing::TestWithParam<Shape> {};

TEST_P(BatchNormGrad, TrainingMatchesCentralDifferences) {
  const Shape& x = GetParam();
  const int64_t ch = x[1];
  Rng rng(31);
  OpCase c;
  c.op_type = "BatchNormalization";
  c.training = true;
  c.inputs = {random_tensor(x, rng, -2.f, 2.f), random_tensor({ch}, rng, 0.5f, 1.5f), random_tensor({ch}, rng),
              random_tensor({ch}, rng), random_tensor({ch}, rng, 0.5f, 2.f)};
  c.attrs.set("epsilon", 1e-3f);
  c.attrs.set("momentum", 0.8f);
  expect_gradients_match(c, {0, 1, 2});
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormGrad,
                         ::testing::Values(Shape{5, 3}, Shape{4, 7}, Shape{2, 1}, Shape{2, 3, 3, 4},
                                           Shape{1, 7, 2, 3}, Shape{5, 1, 2, 2}, Shape{3, 2, 5}));

}  // namespace
}  // namespace leancnn::testing
