// Gradient check of AttentionMap (attention transfer's normalised spatial map), p = 2 and p = 3,
// and its forward against a hand-computed map.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/ir/graph.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct AtCfg {
  Shape shape;
  float p;
};

class AttentionMapGrad : public ::testing::TestWithParam<AtCfg> {};

TEST_P(AttentionMapGrad, MatchesCentralDifferences) {
  Rng rng(91);
  OpCase c;
  c.op_type = "AttentionMap";
  c.domain = ir::kLeancnnDomain;
  // Values away from 0 so that |x|^p is smooth where the differences are taken.
  Tensor x = random_tensor(GetParam().shape, rng, 0.3f, 2.f);
  for (int64_t i = 0; i < x.numel(); i += 3) x.data<float>()[i] = -x.data<float>()[i];
  c.inputs = {x};
  c.attrs.set("p", GetParam().p);
  expect_gradients_match(c, {0});
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionMapGrad,
                         ::testing::Values(AtCfg{{1, 1, 1, 1}, 2.f}, AtCfg{{2, 3, 2, 3}, 2.f}, AtCfg{{2, 4, 3, 1}, 3.f},
                                           AtCfg{{1, 2, 2, 2}, 1.5f}));

TEST(AttentionMap, ForwardIsNormalisedChannelMeanOfSquares) {
  OpCase c;
  c.op_type = "AttentionMap";
  c.domain = ir::kLeancnnDomain;
  // One image, 2 channels, 1x2: a = mean_c x^2 = {(1 + 9) / 2, (4 + 0) / 2} = {5, 2}.
  c.inputs = {Tensor::from_floats({1, 2, 1, 2}, {1, 2, -3, 0})};
  const OpRun r = run_reference(c);
  const std::vector<Tensor>& out = r.outputs;
  ASSERT_EQ(out[0].shape(), (Shape{1, 2}));
  EXPECT_EQ(r.inferred[0].shape, (Shape{1, 2}));
  const double norm = std::sqrt(25.0 + 4.0);
  EXPECT_NEAR(out[0].at(0), 5.0 / norm, 1e-6);
  EXPECT_NEAR(out[0].at(1), 2.0 / norm, 1e-6);
}

}  // namespace
}  // namespace leancnn::testing
