// Gradient checks of Gemm's reference backward: every transA/transB combination, alpha/beta,
// and C omitted, full, row, column and scalar broadcast.
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct GemmCfg {
  int64_t m, k, n;
  int64_t trans_a, trans_b;
  bool has_c;
  Shape c;
  float alpha, beta;
};

class GemmGrad : public ::testing::TestWithParam<GemmCfg> {};

TEST_P(GemmGrad, MatchesCentralDifferences) {
  const GemmCfg& p = GetParam();
  Rng rng(21);
  OpCase c;
  c.op_type = "Gemm";
  c.inputs = {random_tensor(p.trans_a ? Shape{p.k, p.m} : Shape{p.m, p.k}, rng),
              random_tensor(p.trans_b ? Shape{p.n, p.k} : Shape{p.k, p.n}, rng)};
  if (p.has_c) c.inputs.push_back(random_tensor(p.c, rng));
  c.attrs.set("transA", p.trans_a);
  c.attrs.set("transB", p.trans_b);
  c.attrs.set("alpha", p.alpha);
  c.attrs.set("beta", p.beta);
  std::vector<int> wrt = {0, 1};
  if (p.has_c) wrt.push_back(2);
  expect_gradients_match(c, wrt);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmGrad,
    ::testing::Values(GemmCfg{3, 5, 4, 0, 0, true, {3, 4}, 1.f, 1.f},
                      GemmCfg{3, 5, 4, 1, 0, true, {4}, 0.5f, 2.f},      // row-vector C
                      GemmCfg{3, 5, 4, 0, 1, true, {3, 1}, -1.5f, 0.7f},  // column C
                      GemmCfg{3, 5, 4, 1, 1, true, {}, 1.f, -1.f},        // scalar C
                      GemmCfg{1, 7, 1, 1, 1, true, {1, 1}, 2.f, 3.f},
                      GemmCfg{5, 1, 3, 0, 1, false, {}, 1.f, 1.f},        // no C
                      GemmCfg{2, 3, 6, 1, 0, true, {1, 6}, 1.f, 0.f}));   // beta 0

}  // namespace
}  // namespace leancnn::testing
