// Unit tests of the activations (Clip, Sigmoid, HardSigmoid, HardSwish): shape inference, error
// cases, forward values against hand-computed ones and the gradient conventions at the kinks.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

// Expects run_reference(c) to throw Error(bad_input) with `needle` in its message.
// The reference backward's d_src (input 0) for the given d_dst.
Tensor input_grad(const OpCase& c, const Tensor& d_dst) {
  ir::Graph g = single_node_graph(c);
  OpCase t = c;
  t.training = true;
  OpRun r = run_reference(t);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {d_dst}, {}};
  b.d_inputs.resize(c.inputs.size());
  b.d_inputs[0] = Tensor::full(c.inputs[0].shape(), NAN);
  ops::op_table().get(g.node(0)).backward(b);
  return b.d_inputs[0];
}

OpCase unary(const std::string& op, const std::vector<float>& x) {
  OpCase c;
  c.op_type = op;
  c.inputs = {Tensor::from_floats({static_cast<int64_t>(x.size())}, x)};
  return c;
}

Tensor scalar(float v) { return Tensor::from_floats({}, {v}); }

void expect_values(const Tensor& t, const std::vector<float>& want, float tol = 1e-6f) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.at(i), want[i], tol) << "element " << i;
}

TEST(ActivationsInfer, OutputHasInputShapeAndSavesNothing) {
  for (const char* op : {"Clip", "Sigmoid", "HardSigmoid", "HardSwish"}) {
    OpCase c;
    c.op_type = op;
    c.training = true;
    c.inputs = {Tensor::zeros({5, 13, 3, 1})};
    OpRun r = run_reference(c);
    ASSERT_EQ(r.inferred.size(), 1u);
    EXPECT_EQ(r.inferred[0].shape, (Shape{5, 13, 3, 1})) << op;
    EXPECT_EQ(r.inferred[0].dtype, DType::f32) << op;
    EXPECT_TRUE(r.saved.empty()) << op;
  }
}

TEST(ActivationsInfer, RejectsNonFloatInput) {
  for (const char* op : {"Clip", "Sigmoid", "HardSigmoid", "HardSwish"}) {
    OpCase c;
    c.op_type = op;
    c.inputs = {Tensor::from_ints({2}, {1, 2}, DType::s64)};
    expect_bad_input(c, "must be f32");
  }
}

TEST(ClipInfer, RejectsBoundsThatAreNotOneF32Value) {
  OpCase c = unary("Clip", {1.f, 2.f});
  c.inputs.push_back(Tensor::from_floats({2}, {0.f, 1.f}));
  expect_bad_input(c, "single f32 value");
  c.inputs[1] = scalar(0.f);
  c.inputs.push_back(Tensor::from_ints({}, {3}, DType::s64));
  expect_bad_input(c, "single f32 value");
}

TEST(ClipInfer, RejectsANonConstantBound) {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", {2, 3});
  ir::ValueId lo = g.add_input("lo", {});
  ir::ValueId y = g.add_value("y");
  g.add_node("Clip", {x, lo}, {y});
  try {
    ir::infer_node(g, ops::op_table(), g.node(0));
    ADD_FAILURE() << "a graph-input bound was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("must be a constant"), std::string::npos) << e.what();
  }
}

TEST(ClipForward, HandComputed) {
  const std::vector<float> x = {-2.f, -1.f, -0.5f, 0.f, 0.5f, 1.f, 2.f};
  OpCase c = unary("Clip", x);
  expect_values(run_reference(c).outputs[0], x);  // no bounds: identity
  c.inputs.push_back(scalar(-0.5f));
  expect_values(run_reference(c).outputs[0], {-0.5f, -0.5f, -0.5f, 0.f, 0.5f, 1.f, 2.f});  // min only
  c.inputs.push_back(scalar(0.75f));
  expect_values(run_reference(c).outputs[0], {-0.5f, -0.5f, -0.5f, 0.f, 0.5f, 0.75f, 0.75f});
  c.inputs[1] = Tensor();  // max only
  expect_values(run_reference(c).outputs[0], {-2.f, -1.f, -0.5f, 0.f, 0.5f, 0.75f, 0.75f});
}

TEST(ClipForward, MinAboveMaxGivesMaxEverywhere) {
  OpCase c = unary("Clip", {-3.f, 0.f, 1.5f, 9.f});
  c.inputs.push_back(scalar(2.f));
  c.inputs.push_back(scalar(1.f));
  expect_values(run_reference(c).outputs[0], {1.f, 1.f, 1.f, 1.f});
  expect_values(input_grad(c, Tensor::full({4}, 1.f)), {0.f, 0.f, 0.f, 0.f});
}

TEST(ClipBackward, PassesInsideAndOnTheBoundsOnly) {
  OpCase c = unary("Clip", {-2.f, -1.f, 0.f, 1.f, 2.f});
  c.inputs.push_back(scalar(-1.f));
  c.inputs.push_back(scalar(1.f));
  Tensor dy = Tensor::from_floats({5}, {10.f, 20.f, 30.f, 40.f, 50.f});
  expect_values(input_grad(c, dy), {0.f, 20.f, 30.f, 40.f, 0.f});
}

TEST(SigmoidForward, HandComputedAndStableAtExtremes) {
  Tensor y = run_reference(unary("Sigmoid", {0.f, 1.f, -1.f, 100.f, -100.f})).outputs[0];
  expect_values(y, {0.5f, 0.7310586f, 0.2689414f, 1.f, 0.f});
  EXPECT_TRUE(std::isfinite(y.at(4)));
  EXPECT_GE(y.at(4), 0.f);
}

TEST(SigmoidBackward, IsYTimesOneMinusY) {
  expect_values(input_grad(unary("Sigmoid", {0.f, 2.f}), Tensor::full({2}, 2.f)),
                {0.5f, 2.f * 0.8807971f * (1.f - 0.8807971f)});
}

TEST(HardSigmoidForward, DefaultsAreAlpha02Beta05) {
  expect_values(run_reference(unary("HardSigmoid", {-3.f, -2.5f, 0.f, 1.f, 2.5f, 3.f})).outputs[0],
                {0.f, 0.f, 0.5f, 0.7f, 1.f, 1.f});
}

TEST(HardSigmoidForward, CustomAlphaBeta) {
  OpCase c = unary("HardSigmoid", {-1.f, 0.f, 1.f, 2.f});
  c.attrs.set("alpha", 0.5f);
  c.attrs.set("beta", 0.3f);
  expect_values(run_reference(c).outputs[0], {0.f, 0.3f, 0.8f, 1.f});
}

TEST(HardSigmoidBackward, AlphaStrictlyInsideZeroAtCorners) {
  OpCase c = unary("HardSigmoid", {-3.f, -2.5f, 0.f, 2.5f, 3.f});
  expect_values(input_grad(c, Tensor::full({5}, 1.f)), {0.f, 0.f, 0.2f, 0.f, 0.f});
}

TEST(HardSwishForward, HandComputed) {
  expect_values(run_reference(unary("HardSwish", {-4.f, -3.f, -1.f, 0.f, 1.f, 3.f, 4.f})).outputs[0],
                {0.f, 0.f, -1.f / 3.f, 0.f, 2.f / 3.f, 3.f, 4.f});
}

TEST(HardSwishBackward, CurvedPartAndCorners) {
  // x/3 + 1/2 inside (-3, 3); the corner -3 takes 0 and the corner 3 takes 1.
  OpCase c = unary("HardSwish", {-4.f, -3.f, -1.5f, 0.f, 1.5f, 3.f, 4.f});
  expect_values(input_grad(c, Tensor::full({7}, 1.f)), {0.f, 0.f, 0.f, 0.5f, 1.f, 1.f, 1.f});
}

}  // namespace
}  // namespace leancnn::testing
