// Gradient checks of Flatten, Reshape and Transpose (including the channel-shuffle permutation).
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

TEST(ShapeOpsGrad, Flatten) {
  Rng rng(41);
  for (int64_t axis : {0, 1, 2, 4, -1, -3}) {
    SCOPED_TRACE(axis);
    OpCase c;
    c.op_type = "Flatten";
    c.inputs = {random_tensor({5, 3, 2, 3}, rng)};
    c.attrs.set("axis", axis);
    expect_gradients_match(c, {0});
  }
}

TEST(ShapeOpsGrad, Reshape) {
  Rng rng(42);
  const std::vector<std::vector<int64_t>> specs = {{5, -1}, {0, 13, 6}, {-1}, {0, 0, 3, 2}, {1, 0, -1, 3}};
  for (const auto& spec : specs) {
    SCOPED_TRACE(shape_str(spec));
    OpCase c;
    c.op_type = "Reshape";
    c.inputs = {random_tensor({5, 13, 2, 3}, rng),
                Tensor::from_ints({static_cast<int64_t>(spec.size())}, spec, DType::s64)};
    expect_gradients_match(c, {0});
  }
}

struct TransposeCfg {
  Shape x;
  std::vector<int64_t> perm;  // empty: the default (reversed dims)
};

void PrintTo(const TransposeCfg& p, std::ostream* os) { *os << shape_str(p.x) << " perm " << shape_str(p.perm); }

class TransposeGrad : public ::testing::TestWithParam<TransposeCfg> {};

TEST_P(TransposeGrad, MatchesCentralDifferences) {
  const TransposeCfg& p = GetParam();
  Rng rng(43);
  OpCase c;
  c.op_type = "Transpose";
  c.inputs = {random_tensor(p.x, rng)};
  if (!p.perm.empty()) c.attrs.set("perm", p.perm);
  expect_gradients_match(c, {0});
}

INSTANTIATE_TEST_SUITE_P(
    Perms, TransposeGrad,
    ::testing::Values(TransposeCfg{{3, 7}, {}},                          // matrix, default perm
                      TransposeCfg{{5, 3, 2, 4}, {}},                    // default: reversed
                      TransposeCfg{{1, 3, 4, 5}, {0, 2, 3, 1}},          // NCHW -> NHWC
                      TransposeCfg{{5, 4, 5, 3}, {0, 3, 1, 2}},          // NHWC -> NCHW
                      TransposeCfg{{5, 2, 3, 2, 2}, {0, 2, 1, 3, 4}},    // channel shuffle, 2 groups
                      TransposeCfg{{1, 3, 4, 2, 3}, {0, 2, 1, 3, 4}},    // channel shuffle, 3 groups
                      TransposeCfg{{2, 3, 5}, {1, 2, 0}}));              // a 3-cycle (inverse != perm)

}  // namespace
}  // namespace leancnn::testing
