// Gradient checks of Dropout's backward in training (the harness re-seeds the Rng, so the mask
// is the same in every evaluation) and in inference (identity).
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct DropoutCfg {
  Shape x;
  float ratio;  // < 0: the ratio input is omitted (default 0.5)
  int num_outputs;
  bool training;
};

class DropoutGrad : public ::testing::TestWithParam<DropoutCfg> {};

TEST_P(DropoutGrad, MatchesCentralDifferences) {
  const DropoutCfg& p = GetParam();
  Rng rng(51);
  OpCase c;
  c.op_type = "Dropout";
  c.inputs = {random_tensor(p.x, rng)};
  if (p.ratio >= 0.f) c.inputs.push_back(Tensor::from_floats({}, {p.ratio}));
  c.num_outputs = p.num_outputs;
  c.training = p.training;
  c.seed = 99;
  expect_gradients_match(c, {0});
}

INSTANTIATE_TEST_SUITE_P(Cases, DropoutGrad,
                         ::testing::Values(DropoutCfg{{5, 7}, 0.3f, 1, true}, DropoutCfg{{2, 3, 4, 5}, -1.f, 2, true},
                                           DropoutCfg{{1, 1, 3, 3}, 0.9f, 2, true}, DropoutCfg{{4, 6}, 0.5f, 1, false}));

}  // namespace
}  // namespace leancnn::testing
