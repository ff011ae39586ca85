// Pad: forward values of each mode on a small case worked by hand, shape and error checks, and
// gradient checks of the reference backward (constant, reflect, edge; crops with negative pads).
#include <gtest/gtest.h>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

OpCase pad_case(Tensor x, const std::vector<int64_t>& pads, const std::string& mode, Tensor value = {}) {
  OpCase c;
  c.op_type = "Pad";
  c.inputs = {std::move(x), Tensor::from_ints({static_cast<int64_t>(pads.size())}, pads, DType::s64)};
  if (value.defined()) c.inputs.push_back(std::move(value));
  c.attrs.set("mode", mode);
  return c;
}

// x = [1 2 3] padded by 2 before and 1 after, as in ONNX's Pad examples.
TEST(PadForward, EachModeOnARow) {
  const Tensor x = Tensor::from_floats({1, 3}, {1.f, 2.f, 3.f});
  const std::vector<int64_t> pads = {0, 2, 0, 1};
  OpRun r = run_reference(pad_case(x, pads, "constant", Tensor::full({}, 9.f)));
  EXPECT_EQ(r.inferred[0].shape, (Shape{1, 6}));
  expect_values(r.outputs[0], {9, 9, 1, 2, 3, 9});
  expect_values(run_reference(pad_case(x, pads, "constant")).outputs[0], {0, 0, 1, 2, 3, 0});
  expect_values(run_reference(pad_case(x, pads, "reflect")).outputs[0], {3, 2, 1, 2, 3, 2});
  expect_values(run_reference(pad_case(x, pads, "edge")).outputs[0], {1, 1, 1, 2, 3, 3});
  // Negative pads crop: drop the first element, add one edge copy at the end.
  expect_values(run_reference(pad_case(x, {0, -1, 0, 1}, "edge")).outputs[0], {2, 3, 3});
}

TEST(PadForward, IntegerDataAndErrors) {
  const Tensor x = Tensor::from_ints({2, 2}, {1, 2, 3, 4}, DType::s64);
  OpRun r = run_reference(pad_case(x, {1, 0, 0, 1}, "constant", Tensor::from_ints({}, {-7}, DType::s64)));
  ASSERT_EQ(r.outputs[0].shape(), (Shape{3, 3}));
  const int64_t* y = r.outputs[0].data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(y, y + 9), (std::vector<int64_t>{-7, -7, -7, 1, 2, -7, 3, 4, -7}));

  const Tensor f = Tensor::full({1, 2, 2, 2}, 1.f);
  expect_bad_input(pad_case(f, {0, 0, 1}, "constant"), "2 * rank");
  expect_bad_input(pad_case(f, {0, 0, 2, 0, 0, 0, 0, 0}, "reflect"), "reflect");
  expect_bad_input(pad_case(f, {0, 0, -3, 0, 0, 0, 0, 0}, "constant"), "remove more");
  expect_bad_input(pad_case(f, {0, 0, 0, 0, 0, 0, 0, 0}, "wrap"), "mode");
  expect_bad_input(pad_case(f, {0, 0, 1, 0, 0, 0, 0, 0}, "constant", Tensor::from_ints({}, {1}, DType::s64)),
                   "constant_value");
}

struct PadCfg {
  Shape x;
  std::vector<int64_t> pads;
  std::string mode;
};

class PadGrad : public ::testing::TestWithParam<PadCfg> {};

TEST_P(PadGrad, MatchesCentralDifferences) {
  const PadCfg& p = GetParam();
  Rng rng(5);
  expect_gradients_match(pad_case(random_tensor(p.x, rng), p.pads, p.mode), {0});
}

INSTANTIATE_TEST_SUITE_P(
    Modes, PadGrad,
    ::testing::Values(PadCfg{{2, 3, 4, 5}, {0, 0, 1, 2, 0, 0, 2, 1}, "constant"},
                      PadCfg{{1, 2, 4, 5}, {0, 0, 3, 2, 0, 0, 2, 4}, "reflect"},  // every reflected tap twice
                      PadCfg{{1, 2, 3, 3}, {0, 0, 2, 1, 0, 0, 1, 3}, "edge"},
                      PadCfg{{2, 3, 5, 4}, {0, 1, -1, 0, 1, 0, 2, -2}, "constant"},  // crops, channel pads
                      PadCfg{{3, 7}, {1, 2, 0, 3}, "reflect"}));

}  // namespace
}  // namespace leancnn::testing
