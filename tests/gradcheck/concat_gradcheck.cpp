// Gradient checks of Concat's reference backward along axes 0, 1, -1 with one to three inputs.
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct ConcatCfg {
  std::vector<Shape> inputs;
  int64_t axis;
};

void PrintTo(const ConcatCfg& p, std::ostream* os) {
  for (const Shape& s : p.inputs) *os << shape_str(s) << " ";
  *os << "axis " << p.axis;
}

class ConcatGrad : public ::testing::TestWithParam<ConcatCfg> {};

TEST_P(ConcatGrad, MatchesCentralDifferences) {
  const ConcatCfg& p = GetParam();
  Rng rng(31);
  OpCase c;
  c.op_type = "Concat";
  std::vector<int> wrt;
  for (const Shape& s : p.inputs) {
    wrt.push_back(static_cast<int>(c.inputs.size()));
    c.inputs.push_back(random_tensor(s, rng));
  }
  c.attrs.set("axis", p.axis);
  expect_gradients_match(c, wrt);
}

INSTANTIATE_TEST_SUITE_P(
    Axes, ConcatGrad,
    ::testing::Values(ConcatCfg{{{1, 3, 4, 4}, {4, 3, 4, 4}}, 0},                 // batch
                      ConcatCfg{{{5, 1, 3, 3}, {5, 3, 3, 3}, {5, 7, 3, 3}}, 1},   // channels (DenseNet)
                      ConcatCfg{{{1, 13, 2, 2}, {1, 3, 2, 2}}, -3},               // channels, negative
                      ConcatCfg{{{5, 3, 2, 1}, {5, 3, 2, 4}, {5, 3, 2, 2}}, -1},  // last axis
                      ConcatCfg{{{3, 7}, {3, 1}}, 1},
                      ConcatCfg{{{1, 3, 5}}, 2}));                                 // a single input

}  // namespace
}  // namespace leancnn::testing
