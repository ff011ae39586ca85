// Gradient checks of MaxPool, AveragePool and GlobalAveragePool references: strides, asymmetric
// pads, ceil_mode, count_include_pad, dilation, auto_pad, 1/3/7 channels, batch 1 and 5.
#include <gtest/gtest.h>

#include <numeric>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

// Distinct values (a shuffled, scaled 0..n-1) so that no max-pool window has a tie and a
// perturbation of +-eps never changes which element is the maximum.
Tensor distinct_tensor(const Shape& shape, Rng& rng) {
  Tensor t = Tensor::empty(shape);
  const int64_t n = t.numel();
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = 0.05f * static_cast<float>(perm[i] - n / 2);
  return t;
}

struct PoolCfg {
  std::string op;
  Shape x;
  std::vector<int64_t> kernel = {}, strides = {}, pads = {}, dilations = {};
  int64_t ceil_mode = 0;
  int64_t count_include_pad = 0;
  std::string auto_pad = "";
};

class PoolGrad : public ::testing::TestWithParam<PoolCfg> {};

TEST_P(PoolGrad, MatchesCentralDifferences) {
  const PoolCfg& p = GetParam();
  Rng rng(41);
  OpCase c;
  c.op_type = p.op;
  c.inputs = {p.op == "MaxPool" ? distinct_tensor(p.x, rng) : random_tensor(p.x, rng)};
  if (p.op != "GlobalAveragePool") {
    c.attrs.set("kernel_shape", p.kernel);
    c.attrs.set("strides", p.strides);
    c.attrs.set("ceil_mode", p.ceil_mode);
    if (!p.auto_pad.empty())
      c.attrs.set("auto_pad", p.auto_pad);
    else
      c.attrs.set("pads", p.pads);
  }
  if (p.op == "MaxPool") c.attrs.set("dilations", p.dilations);
  if (p.op == "AveragePool") c.attrs.set("count_include_pad", p.count_include_pad);
  expect_gradients_match(c, {0});
}

const std::vector<int64_t> k3{3, 3}, k2{2, 2}, s1{1, 1}, s2{2, 2}, d1{1, 1}, none{0, 0, 0, 0};

INSTANTIATE_TEST_SUITE_P(
    Max, PoolGrad,
    ::testing::Values(PoolCfg{"MaxPool", {1, 3, 7, 7}, k3, s2, {1, 1, 1, 1}, d1},
                      PoolCfg{"MaxPool", {5, 1, 6, 5}, k2, s2, none, d1},
                      PoolCfg{"MaxPool", {1, 7, 6, 7}, k3, s2, {0, 1, 2, 0}, d1},       // asymmetric pads
                      PoolCfg{"MaxPool", {2, 3, 6, 6}, k3, s2, {1, 1, 1, 1}, d1, 1},    // ceil_mode
                      PoolCfg{"MaxPool", {1, 2, 5, 5}, k2, s2, none, d1, 1},            // ceil, clipped last
                      PoolCfg{"MaxPool", {1, 2, 7, 8}, k2, s1, {1, 0, 0, 1}, {2, 2}},   // dilation
                      PoolCfg{"MaxPool", {1, 3, 5, 6}, {3, 2}, {2, 1}, none, d1, 0, 0, "SAME_UPPER"},
                      PoolCfg{"MaxPool", {1, 3, 5, 6}, k2, s1, none, d1, 0, 0, "SAME_LOWER"}));

INSTANTIATE_TEST_SUITE_P(
    Average, PoolGrad,
    ::testing::Values(PoolCfg{"AveragePool", {1, 3, 7, 7}, k3, s2, {1, 1, 1, 1}, d1, 0, 0},
                      PoolCfg{"AveragePool", {1, 3, 7, 7}, k3, s2, {1, 1, 1, 1}, d1, 0, 1},
                      PoolCfg{"AveragePool", {5, 1, 6, 5}, k2, s2, none, d1, 0, 0},
                      PoolCfg{"AveragePool", {1, 7, 6, 7}, k3, s2, {0, 1, 2, 0}, d1, 0, 1},  // asymmetric
                      PoolCfg{"AveragePool", {1, 7, 6, 7}, k3, s2, {0, 1, 2, 0}, d1, 0, 0},
                      PoolCfg{"AveragePool", {2, 3, 6, 6}, k3, s2, {1, 1, 1, 1}, d1, 1, 1},  // ceil_mode
                      PoolCfg{"AveragePool", {2, 3, 6, 6}, k3, s2, {1, 1, 1, 1}, d1, 1, 0},
                      PoolCfg{"AveragePool", {1, 2, 5, 5}, k2, s2, none, d1, 1, 1},          // clipped last
                      PoolCfg{"AveragePool", {1, 3, 5, 6}, {3, 2}, {2, 1}, none, d1, 0, 0, "SAME_LOWER"}));

INSTANTIATE_TEST_SUITE_P(Global, PoolGrad,
                         ::testing::Values(PoolCfg{"GlobalAveragePool", {5, 3, 4, 3}},
                                           PoolCfg{"GlobalAveragePool", {1, 7, 1, 1}},
                                           PoolCfg{"GlobalAveragePool", {1, 1, 5, 2}}));

}  // namespace
}  // namespace leancnn::testing
