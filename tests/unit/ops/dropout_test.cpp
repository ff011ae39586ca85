// Unit tests of Dropout: shape/dtype inference (u8 mask), the ratio input's checks, identity in
// inference, the training-mode drop rate, scaling, mask, saved entries, seeding and backward.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

OpCase dropout(const Tensor& x, float ratio, int num_outputs, bool training) {
  OpCase c;
  c.op_type = "Dropout";
  c.inputs = {x};
  if (ratio >= 0.f) c.inputs.push_back(Tensor::from_floats({}, {ratio}));
  c.num_outputs = num_outputs;
  c.training = training;
  return c;
}

TEST(Dropout, InfersDataShapeAndU8Mask) {
  OpRun r = run_reference(dropout(Tensor::zeros({2, 3}), 0.2f, 2, false));
  ASSERT_EQ(r.inferred.size(), 2u);
  EXPECT_EQ(r.inferred[0].shape, (Shape{2, 3}));
  EXPECT_EQ(r.inferred[0].dtype, DType::f32);
  EXPECT_EQ(r.inferred[1].shape, (Shape{2, 3}));
  EXPECT_EQ(r.inferred[1].dtype, DType::u8);
}

TEST(Dropout, InferenceIsIdentityWithAllOnesMask) {
  Rng rng(3);
  Tensor x = random_tensor({4, 5}, rng);
  OpRun r = run_reference(dropout(x, 0.7f, 2, false));
  for (int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_EQ(r.outputs[0].at(i), x.at(i));
    EXPECT_EQ(r.outputs[1].data<uint8_t>()[i], 1);
  }
  EXPECT_TRUE(r.saved.empty());
}

TEST(Dropout, TrainingDropsAtRatioAndScalesKeptValues) {
  const int64_t count = 20000;
  Tensor x = Tensor::full({count}, 3.f);
  OpCase c = dropout(x, 0.25f, 2, true);
  OpRun r = run_reference(c);
  ASSERT_EQ(r.saved.size(), 1u);
  EXPECT_EQ(r.saved[0].dtype(), DType::u8);
  int64_t dropped = 0;
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t keep = r.outputs[1].data<uint8_t>()[i];
    ASSERT_TRUE(keep == 0 || keep == 1);
    EXPECT_EQ(r.saved[0].data<uint8_t>()[i], keep);
    EXPECT_FLOAT_EQ(r.outputs[0].at(i), keep ? 4.f : 0.f);  // 3 / (1 - 0.25)
    dropped += keep == 0;
  }
  // Binomial(20000, 0.25): standard deviation ~61, so +-400 is > 6 sigma.
  EXPECT_NEAR(static_cast<double>(dropped), 5000.0, 400.0);
}

TEST(Dropout, DefaultRatioIsHalfAndSeedDecidesTheMask) {
  Tensor x = Tensor::full({4000}, 1.f);
  OpCase c = dropout(x, -1.f, 1, true);
  OpRun a = run_reference(c), b = run_reference(c);
  c.seed = 8;
  OpRun d = run_reference(c);
  int64_t kept = 0, differ = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_EQ(a.outputs[0].at(i), b.outputs[0].at(i));
    kept += a.outputs[0].at(i) != 0.f;
    differ += a.outputs[0].at(i) != d.outputs[0].at(i);
    EXPECT_TRUE(a.outputs[0].at(i) == 0.f || a.outputs[0].at(i) == 2.f);
  }
  EXPECT_NEAR(static_cast<double>(kept), 2000.0, 200.0);
  EXPECT_GT(differ, 1000);
}

TEST(Dropout, ZeroRatioInTrainingIsIdentity) {
  Rng rng(5);
  Tensor x = random_tensor({50}, rng);
  OpRun r = run_reference(dropout(x, 0.f, 1, true));
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(r.outputs[0].at(i), x.at(i));
}

TEST(Dropout, BackwardUsesSavedMaskAndScale) {
  OpCase c = dropout(Tensor::full({1000}, 1.f), 0.6f, 1, true);
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {Tensor::full({1000}, 2.f)}, {}};
  b.d_inputs = {Tensor::full({1000}, NAN), Tensor()};
  ops::op_table().get(g.node(0)).backward(b);
  for (int64_t i = 0; i < 1000; ++i) {
    const bool kept = r.saved[0].data<uint8_t>()[i] != 0;
    EXPECT_FLOAT_EQ(b.d_inputs[0].at(i), kept ? 5.f : 0.f) << i;  // 2 / (1 - 0.6)
  }
}

TEST(Dropout, RejectsBadRatio) {
  expect_bad_input(dropout(Tensor::zeros({3}), 1.f, 1, false), "ratio must be in [0, 1)");
  OpCase negative = dropout(Tensor::zeros({3}), 0.f, 1, false);
  negative.inputs[1] = Tensor::from_floats({}, {-0.5f});
  expect_bad_input(negative, "ratio must be in [0, 1)");
  OpCase two = dropout(Tensor::zeros({3}), 0.f, 1, false);
  two.inputs[1] = Tensor::from_floats({2}, {0.1f, 0.2f});
  expect_bad_input(two, "single f32 value");
  // A ratio that is not a constant is rejected by shape inference.
  ir::Graph g;
  ir::ValueId x = g.add_initializer("x", Tensor::zeros({3}), false);
  ir::ValueId ratio = g.add_input("ratio", {});
  ir::ValueId y = g.add_value("y");
  g.add_node("Dropout", {x, ratio}, {y});
  try {
    ir::infer_node(g, ops::op_table(), g.node(0));
    ADD_FAILURE() << "expected a non-constant ratio to be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("must be a constant"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace leancnn::testing
