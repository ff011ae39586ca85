// Gradient checks of Softmax's reference backward over axis 1, -1 and 0 on odd shapes.
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct SoftmaxCfg {
  Shape x;
  int64_t axis;
  bool set_axis;  // false: leave the attribute out (default -1)
};

void PrintTo(const SoftmaxCfg& p, std::ostream* os) { *os << shape_str(p.x) << " axis " << p.axis; }

class SoftmaxGrad : public ::testing::TestWithParam<SoftmaxCfg> {};

TEST_P(SoftmaxGrad, MatchesCentralDifferences) {
  const SoftmaxCfg& p = GetParam();
  Rng rng(51);
  OpCase c;
  c.op_type = "Softmax";
  c.inputs = {random_tensor(p.x, rng, -3.f, 3.f)};
  if (p.set_axis) c.attrs.set("axis", p.axis);
  expect_gradients_match(c, {0});
}

INSTANTIATE_TEST_SUITE_P(
    Axes, SoftmaxGrad,
    ::testing::Values(SoftmaxCfg{{5, 13}, -1, false},      // classifier logits, default axis
                      SoftmaxCfg{{1, 7}, 1, true},
                      SoftmaxCfg{{5, 3, 2, 3}, 1, true},   // over channels
                      SoftmaxCfg{{1, 13, 3, 1}, 1, true},
                      SoftmaxCfg{{5, 3, 2, 3}, -1, true},  // over the last axis
                      SoftmaxCfg{{3, 7, 2}, 0, true},
                      SoftmaxCfg{{5, 1}, -1, true}));      // a single class: gradient 0

}  // namespace
}  // namespace leancnn::testing
