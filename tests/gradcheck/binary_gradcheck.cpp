// Gradient checks of Add and Mul with every broadcasting pattern the models use: equal shapes,
// scalars, [C,1,1] biases, [N,C,1,1] squeeze-excitation scales, both sides broadcasting.
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct BinaryCfg {
  std::string op;
  Shape a, b;
};

void PrintTo(const BinaryCfg& p, std::ostream* os) { *os << p.op << " " << shape_str(p.a) << " " << shape_str(p.b); }

class BinaryGrad : public ::testing::TestWithParam<BinaryCfg> {};

TEST_P(BinaryGrad, MatchesCentralDifferences) {
  const BinaryCfg& p = GetParam();
  Rng rng(21);
  OpCase c;
  c.op_type = p.op;
  c.inputs = {random_tensor(p.a, rng), random_tensor(p.b, rng)};
  expect_gradients_match(c, {0, 1});
}

std::vector<BinaryCfg> cases() {
  const std::vector<std::pair<Shape, Shape>> patterns = {
      {{1, 3, 7, 7}, {1, 3, 7, 7}},    // equal shapes
      {{5, 13, 2, 3}, {}},             // scalar B
      {{}, {5, 3, 2, 2}},              // scalar A
      {{1, 3, 7, 7}, {1}},             // one-element 1-D
      {{5, 7, 3, 3}, {7, 1, 1}},       // per-channel [C,1,1]
      {{5, 13, 3, 2}, {5, 13, 1, 1}},  // squeeze-excitation [N,C,1,1]
      {{5, 13, 1, 1}, {5, 13, 3, 2}},  // ... with the broadcast operand first
      {{3, 1}, {1, 4}},                // both sides broadcast
      {{5, 1, 3, 1}, {7, 1, 2}},       // both sides, different ranks
      {{5, 3, 4}, {4}},                // trailing vector
      {{1, 1, 1, 1}, {5, 3, 2, 2}},    // all-ones shape
  };
  std::vector<BinaryCfg> out;
  for (const char* op : {"Add", "Mul"})
    for (const auto& [a, b] : patterns) out.push_back({op, a, b});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Broadcasting, BinaryGrad, ::testing::ValuesIn(cases()));

}  // namespace
}  // namespace leancnn::testing
