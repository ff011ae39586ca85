// Unit tests of BatchNormalization: shape inference and error cases, the inference formula,
// training-mode normalisation, the saved {mean, invstd} and the in-place running-stat update.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

Tensor vec(const std::vector<float>& v) { return Tensor::from_floats({static_cast<int64_t>(v.size())}, v); }

OpCase bn(const Tensor& x, const std::vector<float>& scale, const std::vector<float>& bias,
          const std::vector<float>& mean, const std::vector<float>& var) {
  OpCase c;
  c.op_type = "BatchNormalization";
  c.inputs = {x, vec(scale), vec(bias), vec(mean), vec(var)};
  return c;
}

TEST(BatchNorm, InferenceUsesRunningStatistics) {
  // N=1, C=2, H=1, W=2.
  OpCase c = bn(Tensor::from_floats({1, 2, 1, 2}, {1, 2, 3, 5}), {2, 0.5f}, {1, -1}, {1, 4}, {3, 0.25f});
  c.attrs.set("epsilon", 1.f);
  OpRun r = run_reference(c);
  EXPECT_EQ(r.inferred[0].shape, (Shape{1, 2, 1, 2}));
  // y = (x - mean) / sqrt(var + eps) * scale + bias: channel 0 divides by 2, channel 1 by sqrt(1.25).
  const float s1 = 0.5f / std::sqrt(1.25f);
  expect_values(r.outputs[0], {1.f, 2.f, (3 - 4) * s1 - 1, (5 - 4) * s1 - 1});
  expect_values(c.inputs[3], {1, 4});  // running statistics untouched
  expect_values(c.inputs[4], {3, 0.25f});
  EXPECT_TRUE(r.saved.empty());
}

TEST(BatchNorm, TrainingNormalisesWithBatchStatsAndUpdatesRunningStats) {
  // Rank 2, N=2, C=1: batch mean 2, biased var 1, unbiased var 2.
  OpCase c = bn(Tensor::from_floats({2, 1}, {1, 3}), {1}, {0}, {0}, {1});
  c.training = true;
  c.attrs.set("epsilon", 0.f);
  c.attrs.set("momentum", 0.9f);
  OpRun r = run_reference(c);
  expect_values(r.outputs[0], {-1, 1});
  expect_values(c.inputs[3], {0.2f});         // 0 * 0.9 + 2 * 0.1
  expect_values(c.inputs[4], {1.1f});         // 1 * 0.9 + 2 * 0.1 (unbiased)
  ASSERT_EQ(r.saved.size(), 2u);
  expect_values(r.saved[0], {2});  // mean
  expect_values(r.saved[1], {1});  // invstd
}

TEST(BatchNorm, TrainingRank4PerChannelStatistics) {
  // N=2, C=2, H=1, W=2; channel 0 holds {0, 2, 4, 6}, channel 1 holds {1, 1, 3, 3}.
  OpCase c = bn(Tensor::from_floats({2, 2, 1, 2}, {0, 2, 1, 1, 4, 6, 3, 3}), {1, 2}, {0, 10}, {5, 5}, {5, 5});
  c.training = true;
  c.attrs.set("epsilon", 0.f);
  c.attrs.set("momentum", 0.5f);
  OpRun r = run_reference(c);
  // channel 0: mean 3, biased var 5, unbiased 20/3; channel 1: mean 2, var 1, unbiased 4/3.
  const float s0 = 1.f / std::sqrt(5.f);
  expect_values(r.outputs[0], {-3 * s0, -1 * s0, 10 - 2, 10 - 2, 1 * s0, 3 * s0, 10 + 2, 10 + 2});
  expect_values(c.inputs[3], {4.f, 3.5f});
  expect_values(c.inputs[4], {2.5f + 10.f / 3, 2.5f + 2.f / 3});
  expect_values(r.saved[1], {s0, 1.f});
}

TEST(BatchNorm, AcceptsRank3AndTrainingModeAttribute) {
  OpCase c = bn(Tensor::zeros({2, 3, 4}), {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1});
  c.attrs.set("training_mode", int64_t{1});  // accepted; ctx.training decides
  OpRun r = run_reference(c);
  EXPECT_EQ(r.inferred[0].shape, (Shape{2, 3, 4}));
  EXPECT_TRUE(r.saved.empty());
}

TEST(BatchNorm, RejectsBadShapesAndAttributes) {
  expect_bad_input(bn(Tensor::zeros({3}), {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}), "rank >= 2");
  expect_bad_input(bn(Tensor::zeros({2, 3}), {1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}), "scale");
  expect_bad_input(bn(Tensor::zeros({2, 3}), {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1}), "input_var");
  OpCase c = bn(Tensor::zeros({2, 3}), {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1});
  OpCase e = c;
  e.attrs.set("epsilon", -1.f);
  expect_bad_input(e, "'epsilon'");
  OpCase m = c;
  m.attrs.set("momentum", 1.5f);
  expect_bad_input(m, "'momentum'");
  OpCase t = c;
  t.attrs.set("training_mode", int64_t{3});
  expect_bad_input(t, "'training_mode'");
  OpCase outs = c;
  outs.num_outputs = 3;
  expect_bad_input(outs, "not supported");
  // Training needs more than one value per channel (the unbiased variance divides by M - 1).
  OpCase one = bn(Tensor::zeros({1, 3}), {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1});
  one.training = true;
  expect_bad_input(one, "more than one value per channel");
}

}  // namespace
}  // namespace leancnn::testing
