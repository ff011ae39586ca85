// Gradient checks of Conv's reference backward: odd shapes, strides, groups, dilation, padding.
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct ConvCfg {
  Shape x, w;
  std::vector<int64_t> strides, pads, dilations;
  int64_t group;
  bool bias;
};

class ConvGrad : public ::testing::TestWithParam<ConvCfg> {};

TEST_P(ConvGrad, MatchesCentralDifferences) {
  const ConvCfg& p = GetParam();
  Rng rng(11);
  OpCase c;
  c.op_type = "Conv";
  c.inputs = {random_tensor(p.x, rng), random_tensor(p.w, rng)};
  if (p.bias) c.inputs.push_back(random_tensor({p.w[0]}, rng));
  c.attrs.set("strides", p.strides);
  c.attrs.set("pads", p.pads);
  c.attrs.set("dilations", p.dilations);
  c.attrs.set("group", p.group);
  std::vector<int> wrt = {0, 1};
  if (p.bias) wrt.push_back(2);
  expect_gradients_match(c, wrt);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvGrad,
    ::testing::Values(ConvCfg{{1, 3, 7, 7}, {5, 3, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true},
                      ConvCfg{{2, 3, 8, 7}, {4, 3, 3, 3}, {2, 2}, {1, 0, 2, 1}, {1, 1}, 1, false},  // asymmetric pads
                      ConvCfg{{1, 6, 6, 6}, {6, 2, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 3, true},   // groups
                      ConvCfg{{1, 4, 7, 7}, {4, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 4, false},  // depthwise
                      ConvCfg{{1, 2, 9, 9}, {3, 2, 3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1, true},   // dilation
                      ConvCfg{{5, 1, 5, 5}, {1, 1, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true})); // batch 5, 1x1

}  // namespace
}  // namespace leancnn::testing
