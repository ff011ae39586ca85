// Gradient checks of the activations' reference backward (Relu, Clip, Sigmoid, HardSigmoid,
// HardSwish) on odd shapes, with inputs kept away from each op's kinks.
#include <gtest/gtest.h>

#include <cmath>

#include "op_harness.h"

namespace leancnn::testing {
namespace {

// Random values in [lo, hi), each at least `margin` away from every kink (central
// differences straddling a kink would measure the average of the two one-sided slopes).
Tensor away_from_kinks(const Shape& shape, Rng& rng, float lo, float hi, const std::vector<float>& kinks,
                       float margin = 0.02f) {
  Tensor t = random_tensor(shape, rng, lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    for (float k : kinks)
      if (std::fabs(p[i] - k) < margin) p[i] = p[i] < k ? k - 2 * margin : k + 2 * margin;
  return t;
}

Tensor scalar(float v) { return Tensor::from_floats({}, {v}); }

const Shape kShapes[] = {{1, 1, 5, 5}, {1, 3, 7, 7}, {5, 7, 3, 3}, {5, 13, 2, 3}, {5, 13}};

class ActivationGrad : public ::testing::TestWithParam<Shape> {};

TEST_P(ActivationGrad, Relu) {
  Rng rng(3);
  OpCase c;
  c.op_type = "Relu";
  c.inputs = {away_from_kinks(GetParam(), rng, -1.f, 1.f, {0.f})};
  expect_gradients_match(c, {0});
}

TEST_P(ActivationGrad, ClipBothBounds) {
  Rng rng(4);
  OpCase c;
  c.op_type = "Clip";
  c.inputs = {away_from_kinks(GetParam(), rng, -1.f, 1.f, {-0.4f, 0.6f}), scalar(-0.4f), scalar(0.6f)};
  expect_gradients_match(c, {0});
}

TEST_P(ActivationGrad, ClipMinOnly) {
  Rng rng(5);
  OpCase c;
  c.op_type = "Clip";
  c.inputs = {away_from_kinks(GetParam(), rng, -1.f, 1.f, {0.1f}), scalar(0.1f)};
  expect_gradients_match(c, {0});
}

TEST_P(ActivationGrad, ClipMaxOnly) {
  Rng rng(6);
  OpCase c;
  c.op_type = "Clip";
  c.inputs = {away_from_kinks(GetParam(), rng, -1.f, 1.f, {-0.2f}), Tensor(), scalar(-0.2f)};  // min omitted
  expect_gradients_match(c, {0});
}

TEST_P(ActivationGrad, ClipRelu6) {
  Rng rng(7);
  OpCase c;
  c.op_type = "Clip";
  c.inputs = {away_from_kinks(GetParam(), rng, -2.f, 8.f, {0.f, 6.f}), scalar(0.f), scalar(6.f)};
  expect_gradients_match(c, {0});
}

TEST_P(ActivationGrad, Sigmoid) {
  Rng rng(8);
  OpCase c;
  c.op_type = "Sigmoid";
  c.inputs = {random_tensor(GetParam(), rng, -6.f, 6.f)};
  expect_gradients_match(c, {0});
}

TEST_P(ActivationGrad, HardSigmoidDefaults) {
  Rng rng(9);
  OpCase c;
  c.op_type = "HardSigmoid";
  c.inputs = {away_from_kinks(GetParam(), rng, -4.f, 4.f, {-2.5f, 2.5f})};  // corners of 0.2x + 0.5
  expect_gradients_match(c, {0});
}

TEST_P(ActivationGrad, HardSigmoidCustom) {
  Rng rng(10);
  OpCase c;
  c.op_type = "HardSigmoid";
  c.attrs.set("alpha", 0.5f);
  c.attrs.set("beta", 0.3f);
  c.inputs = {away_from_kinks(GetParam(), rng, -2.f, 2.f, {-0.6f, 1.4f})};  // corners of 0.5x + 0.3
  expect_gradients_match(c, {0});
}

TEST_P(ActivationGrad, HardSwish) {
  Rng rng(11);
  OpCase c;
  c.op_type = "HardSwish";
  c.inputs = {away_from_kinks(GetParam(), rng, -5.f, 5.f, {-3.f, 3.f})};
  expect_gradients_match(c, {0});
}

INSTANTIATE_TEST_SUITE_P(Shapes, ActivationGrad, ::testing::ValuesIn(kShapes));

}  // namespace
}  // namespace leancnn::testing
