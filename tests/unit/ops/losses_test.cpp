// Unit tests of the ai.leancnn losses: registration in the leancnn domain, scalar output,
// error cases (shapes, dtypes, attributes, out-of-range labels) and hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

OpCase loss(const std::string& op, std::vector<Tensor> inputs) {
  OpCase c;
  c.op_type = op;
  c.domain = ir::kLeancnnDomain;
  c.inputs = std::move(inputs);
  return c;
}

Tensor labels(const std::vector<int64_t>& v, DType t = DType::s64) {
  return Tensor::from_ints({static_cast<int64_t>(v.size())}, v, t);
}

float value_of(const OpCase& c) {
  OpRun r = run_reference(c);
  EXPECT_EQ(r.inferred[0].shape, Shape{});
  EXPECT_EQ(r.outputs[0].rank(), 0);
  return r.outputs[0].at(0);
}

TEST(Losses, LiveInTheLeancnnDomain) {
  const ir::OpTable& t = ops::op_table();
  for (const char* op : {"SoftmaxCrossEntropy", "KLDivergence", "MSELoss"}) {
    EXPECT_NE(t.find(ir::kLeancnnDomain, op), nullptr) << op;
    EXPECT_EQ(t.find("", op), nullptr) << op;
  }
}

TEST(SoftmaxCrossEntropy, TwoClassKnownValues) {
  const float ln3 = std::log(3.f);  // logits [ln 3, 0] -> softmax [0.75, 0.25]
  OpCase c = loss("SoftmaxCrossEntropy", {Tensor::from_floats({1, 2}, {ln3, 0}), labels({0})});
  EXPECT_NEAR(value_of(c), -std::log(0.75), 1e-6);
  c.inputs[1] = labels({1}, DType::s32);
  EXPECT_NEAR(value_of(c), -std::log(0.25), 1e-6);
  // Label smoothing 0.2 over K = 2: q = [0.9, 0.1] for label 0.
  c.inputs[1] = labels({0});
  c.attrs.set("label_smoothing", 0.2f);
  EXPECT_NEAR(value_of(c), -(0.9 * std::log(0.75) + 0.1 * std::log(0.25)), 1e-6);
}

TEST(SoftmaxCrossEntropy, MeansOverTheBatchAndIsStable) {
  // Row 0: uniform over 3 classes (ln 3); row 1: a huge confident logit (loss 0 / 1000).
  OpCase c = loss("SoftmaxCrossEntropy", {Tensor::from_floats({2, 3}, {0, 0, 0, 1000, 0, 0}), labels({2, 0})});
  EXPECT_NEAR(value_of(c), std::log(3.0) / 2, 1e-6);
  c.inputs[1] = labels({2, 1});
  EXPECT_NEAR(value_of(c), (std::log(3.0) + 1000.0) / 2, 1e-3);
}

TEST(SoftmaxCrossEntropy, BackwardIsSoftmaxMinusTargetOverN) {
  const float ln3 = std::log(3.f);
  OpCase c = loss("SoftmaxCrossEntropy", {Tensor::from_floats({2, 2}, {ln3, 0, 0, 0}), labels({0, 1})});
  c.attrs.set("label_smoothing", 0.2f);
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {Tensor::from_floats({}, {3.f})}, {}};
  b.d_inputs = {Tensor::full({2, 2}, NAN), Tensor()};
  ops::op_table().get(g.node(0)).backward(b);
  // g / N = 1.5; row 0: [0.75 - 0.9, 0.25 - 0.1]; row 1: [0.5 - 0.1, 0.5 - 0.9].
  const std::vector<float> want = {1.5f * -0.15f, 1.5f * 0.15f, 1.5f * 0.4f, 1.5f * -0.4f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(b.d_inputs[0].at(i), want[i], 1e-6) << i;
}

TEST(SoftmaxCrossEntropy, RejectsOutOfRangeLabelsAndBadShapes) {
  expect_bad_input(loss("SoftmaxCrossEntropy", {Tensor::zeros({2, 3}), labels({0, 3})}), "label 3");
  expect_bad_input(loss("SoftmaxCrossEntropy", {Tensor::zeros({2, 3}), labels({0, 3})}), "3 classes");
  expect_bad_input(loss("SoftmaxCrossEntropy", {Tensor::zeros({2, 3}), labels({-1, 0}, DType::s32)}), "label -1");
  expect_bad_input(loss("SoftmaxCrossEntropy", {Tensor::zeros({2, 3}), labels({0, 1, 2})}), "must have shape 2");
  expect_bad_input(loss("SoftmaxCrossEntropy", {Tensor::zeros({2, 3, 1}), labels({0, 1})}), "rank 2");
  expect_bad_input(loss("SoftmaxCrossEntropy", {Tensor::zeros({2, 3}), Tensor::zeros({2})}), "s64 or s32");
  OpCase ls = loss("SoftmaxCrossEntropy", {Tensor::zeros({2, 3}), labels({0, 1})});
  ls.attrs.set("label_smoothing", 1.5f);
  expect_bad_input(ls, "'label_smoothing'");
}

TEST(KLDivergence, KnownValuesWithTemperature) {
  const float ln3 = std::log(3.f);
  OpCase c = loss("KLDivergence", {Tensor::from_floats({1, 2}, {0, 0}), Tensor::from_floats({1, 2}, {ln3, 0})});
  // p_t = [0.75, 0.25], p_s = [0.5, 0.5].
  EXPECT_NEAR(value_of(c), 0.75 * std::log(1.5) + 0.25 * std::log(0.5), 1e-6);
  c.attrs.set("temperature", 2.f);
  // p_t = softmax([ln 3 / 2, 0]) = [sqrt 3, 1] / (sqrt 3 + 1); the loss is scaled by T^2 = 4.
  const double s3 = std::sqrt(3.0), pt0 = s3 / (s3 + 1), pt1 = 1 / (s3 + 1);
  EXPECT_NEAR(value_of(c), 4 * (pt0 * std::log(2 * pt0) + pt1 * std::log(2 * pt1)), 1e-6);
  // Equal logits: zero, averaged over a batch of 2.
  OpCase same = loss("KLDivergence", {Tensor::from_floats({2, 2}, {1, 2, 3, -4}), Tensor::from_floats({2, 2}, {1, 2, 3, -4})});
  EXPECT_NEAR(value_of(same), 0.0, 1e-7);
}

TEST(KLDivergence, RejectsBadShapesAndTemperature) {
  expect_bad_input(loss("KLDivergence", {Tensor::zeros({2, 3}), Tensor::zeros({2, 4})}), "same shape");
  expect_bad_input(loss("KLDivergence", {Tensor::zeros({6}), Tensor::zeros({6})}), "rank 2");
  OpCase t = loss("KLDivergence", {Tensor::zeros({2, 3}), Tensor::zeros({2, 3})});
  t.attrs.set("temperature", 0.f);
  expect_bad_input(t, "'temperature'");
}

TEST(MSELoss, KnownValueAndBackward) {
  OpCase c = loss("MSELoss", {Tensor::from_floats({3}, {1, 2, 3}), Tensor::from_floats({3}, {1, 0, 0})});
  EXPECT_NEAR(value_of(c), 13.0 / 3, 1e-6);
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {Tensor::from_floats({}, {1.5f})}, {}};
  b.d_inputs = {Tensor::full({3}, NAN), Tensor::full({3}, NAN)};
  ops::op_table().get(g.node(0)).backward(b);
  // d a = 1.5 * 2 (a - b) / 3 = (a - b); d b = -(a - b).
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(b.d_inputs[0].at(i), c.inputs[0].at(i) - c.inputs[1].at(i), 1e-6);
    EXPECT_NEAR(b.d_inputs[1].at(i), c.inputs[1].at(i) - c.inputs[0].at(i), 1e-6);
  }
}

TEST(MSELoss, RejectsMismatchedShapes) {
  expect_bad_input(loss("MSELoss", {Tensor::zeros({2, 3}), Tensor::zeros({3, 2})}), "same shape");
  expect_bad_input(loss("MSELoss", {Tensor::zeros({0}), Tensor::zeros({0})}), "empty");
}

}  // namespace
}  // namespace leancnn::testing
