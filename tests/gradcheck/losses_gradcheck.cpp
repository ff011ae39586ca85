// Gradient checks of the ai.leancnn losses: SoftmaxCrossEntropy (label smoothing, s64/s32
// labels), KLDivergence (temperatures) and MSELoss (both inputs).
#include <gtest/gtest.h>

#include "leancnn/ir/graph.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct CeCfg {
  int64_t n, k;
  float label_smoothing;
  DType label_type;
};

class CrossEntropyGrad : public ::testing::TestWithParam<CeCfg> {};

TEST_P(CrossEntropyGrad, MatchesCentralDifferences) {
  const CeCfg& p = GetParam();
  Rng rng(61);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < p.n; ++i) labels.push_back(rng.below(p.k));
  OpCase c;
  c.op_type = "SoftmaxCrossEntropy";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {random_tensor({p.n, p.k}, rng, -3.f, 3.f), Tensor::from_ints({p.n}, labels, p.label_type)};
  c.attrs.set("label_smoothing", p.label_smoothing);
  expect_gradients_match(c, {0});
}

INSTANTIATE_TEST_SUITE_P(Cases, CrossEntropyGrad,
                         ::testing::Values(CeCfg{5, 3, 0.f, DType::s64}, CeCfg{1, 7, 0.1f, DType::s64},
                                           CeCfg{5, 7, 0.3f, DType::s32}, CeCfg{3, 1, 0.f, DType::s64},
                                           CeCfg{4, 2, 1.f, DType::s32}));

struct KlCfg {
  int64_t n, k;
  float temperature;
};

class KlGrad : public ::testing::TestWithParam<KlCfg> {};

TEST_P(KlGrad, MatchesCentralDifferences) {
  const KlCfg& p = GetParam();
  Rng rng(71);
  OpCase c;
  c.op_type = "KLDivergence";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {random_tensor({p.n, p.k}, rng, -3.f, 3.f), random_tensor({p.n, p.k}, rng, -3.f, 3.f)};
  c.attrs.set("temperature", p.temperature);
  expect_gradients_match(c, {0});
}

INSTANTIATE_TEST_SUITE_P(Cases, KlGrad,
                         ::testing::Values(KlCfg{5, 3, 1.f}, KlCfg{1, 7, 2.f}, KlCfg{5, 7, 4.f}, KlCfg{2, 10, 0.5f}));

class MseGrad : public ::testing::TestWithParam<Shape> {};

TEST_P(MseGrad, MatchesCentralDifferences) {
  Rng rng(81);
  OpCase c;
  c.op_type = "MSELoss";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {random_tensor(GetParam(), rng), random_tensor(GetParam(), rng)};
  expect_gradients_match(c, {0, 1});
}

INSTANTIATE_TEST_SUITE_P(Shapes, MseGrad, ::testing::Values(Shape{1}, Shape{5, 3}, Shape{2, 3, 4, 1}));

}  // namespace
}  // namespace leancnn::testing
