// Unit tests of FusedConv (ai.leancnn): shape inference, MACs, attribute and input errors, and
// the reference equal to Conv, Add and the activation op references run one after another.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/ir/passes.h"
#include "leancnn/ops/conv.h"
#include "leancnn/ops/fused_conv.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct FusedCfg {
  const char* name;
  Shape x, w;
  std::vector<int64_t> strides, pads;
  int64_t group;
  bool bias, residual;
  const char* activation;          // "" = none
  std::vector<float> params;       // activation_params
};

// The FusedConv case; Z (when cfg.residual) has the output's shape.
OpCase fused_case(const FusedCfg& p, uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = "FusedConv";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {random_tensor(p.x, rng, -2.f, 2.f), random_tensor(p.w, rng)};
  c.inputs.push_back(p.bias ? random_tensor({p.w[0]}, rng) : Tensor());
  c.attrs.set("strides", p.strides);
  c.attrs.set("pads", p.pads);
  c.attrs.set("group", p.group);
  c.attrs.set("activation", std::string(p.activation));
  c.attrs.set("activation_params", p.params);
  if (p.residual) {
    OpCase conv = c;
    conv.op_type = "Conv";
    conv.domain = "";
    c.inputs.push_back(random_tensor(run_reference(conv).inferred[0].shape, rng, -2.f, 2.f));
  }
  return c;
}

Tensor scalar(float v) { return Tensor::from_floats({}, {v}); }

// Conv -> Add(Z) -> activation, each through its own op's reference.
Tensor unfused(const OpCase& fused, const FusedCfg& p) {
  OpCase conv;
  conv.op_type = "Conv";
  conv.inputs = {fused.inputs[0], fused.inputs[1]};
  if (p.bias) conv.inputs.push_back(fused.inputs[2]);
  for (const char* a : {"strides", "pads", "group"}) conv.attrs.set(a, fused.attrs.all().at(a));
  Tensor y = run_reference(conv).outputs[0];
  if (p.residual) {
    OpCase add;
    add.op_type = "Add";
    add.inputs = {y, fused.inputs[3]};
    y = run_reference(add).outputs[0];
  }
  const std::string act = p.activation;
  if (act.empty()) return y;
  OpCase a;
  a.op_type = act;
  a.inputs = {y};
  if (act == "Clip") {
    a.inputs.push_back(scalar(p.params[0]));
    a.inputs.push_back(scalar(p.params[1]));
  }
  return run_reference(a).outputs[0];
}

class FusedConvReference : public ::testing::TestWithParam<FusedCfg> {};

TEST_P(FusedConvReference, EqualsConvAddActivationInSequence) {
  const FusedCfg& p = GetParam();
  const OpCase c = fused_case(p, 41);
  const OpRun r = run_reference(c);
  const Tensor want = unfused(c, p);
  ASSERT_EQ(r.inferred[0].shape, want.shape());
  // Same formulas in the same order on the same floats: bit-identical.
  EXPECT_EQ(max_rel_diff(r.outputs[0], want), 0.0);
  // The activation is not a no-op on these inputs: some values sit on its clamped parts.
  const std::string act = p.activation;
  int64_t clamped = 0;
  for (int64_t i = 0; i < r.outputs[0].numel(); ++i) {
    const float v = r.outputs[0].at(i);
    if (act == "Relu") clamped += v == 0.f;
    if (act == "Clip") clamped += v == p.params[0] || v == p.params[1];
    if (act == "HardSwish") clamped += v == 0.f;  // x <= -3
  }
  if (!act.empty()) {
    EXPECT_GT(clamped, 0) << act;
  }
}

void PrintTo(const FusedCfg& c, std::ostream* os) { *os << c.name; }

const std::vector<float> kNone = {};
const std::vector<float> kRelu6 = {0.f, 6.f};
const std::vector<float> kNarrow = {-0.5f, 0.7f};

INSTANTIATE_TEST_SUITE_P(
    Cases, FusedConvReference,
    ::testing::Values(
        FusedCfg{"plain", {1, 3, 7, 7}, {5, 3, 3, 3}, {1, 1}, {1, 1, 1, 1}, 1, false, false, "", kNone},
        FusedCfg{"bias_relu", {2, 4, 6, 6}, {6, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}, 1, true, false, "Relu", kNone},
        FusedCfg{"bias_z_relu", {2, 4, 6, 6}, {6, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}, 1, true, true, "Relu", kNone},
        FusedCfg{"z_only", {1, 5, 5, 5}, {3, 5, 1, 1}, {1, 1}, {0, 0, 0, 0}, 1, false, true, "", kNone},
        FusedCfg{"z_relu_stride2", {1, 4, 9, 9}, {8, 4, 3, 3}, {2, 2}, {1, 1, 1, 1}, 1, false, true, "Relu", kNone},
        FusedCfg{"bias_relu6", {1, 8, 6, 6}, {8, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, 1, true, false, "Clip", kRelu6},
        FusedCfg{"z_clip_narrow_groups", {1, 6, 7, 7}, {9, 2, 3, 3}, {1, 1}, {1, 0, 2, 1}, 3, true, true, "Clip",
                 kNarrow},
        FusedCfg{"depthwise_relu6_stride2", {1, 8, 9, 9}, {8, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, 8, true, false, "Clip",
                 kRelu6},
        FusedCfg{"bias_hardswish", {1, 4, 6, 6}, {7, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}, 1, true, false, "HardSwish",
                 kNone},
        FusedCfg{"depthwise_z_hardswish", {2, 6, 8, 8}, {6, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, 6, false, true,
                 "HardSwish", kNone},
        FusedCfg{"groups_bias_z_stride2", {1, 8, 8, 8}, {4, 4, 3, 3}, {2, 2}, {0, 0, 1, 1}, 2, true, true, "",
                 kNone}),
    [](const ::testing::TestParamInfo<FusedCfg>& i) { return std::string(i.param.name); });

OpCase small_case() {
  return fused_case({"small", {2, 4, 8, 8}, {6, 4, 3, 3}, {2, 2}, {1, 1, 1, 1}, 1, true, true, "Relu", kNone}, 5);
}

TEST(FusedConv, LivesInTheLeancnnDomainWithoutBackward) {
  const ir::OpTable& t = ops::op_table();
  const ir::OpSchema* s = t.find(ir::kLeancnnDomain, "FusedConv");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(t.find("", "FusedConv"), nullptr);
  EXPECT_EQ(s->backward, nullptr);
  EXPECT_TRUE(s->trainable_inputs.empty());
  EXPECT_EQ(s->min_inputs, 2);
  EXPECT_EQ(s->max_inputs, 4);
}

TEST(FusedConv, InfersConvShapeAndCountsConvMacs) {
  OpCase c = small_case();
  EXPECT_EQ(run_reference(c).inferred[0].shape, (Shape{2, 6, 4, 4}));
  c.attrs.set("auto_pad", std::string("SAME_UPPER"));
  c.attrs.erase("pads");
  c.attrs.set("strides", std::vector<int64_t>{1, 1});
  c.inputs.pop_back();  // no Z (its shape would now be wrong)
  EXPECT_EQ(run_reference(c).inferred[0].shape, (Shape{2, 6, 8, 8}));
  ir::Graph g = single_node_graph(small_case());
  const ir::OpTable& ops = ops::op_table();
  ir::infer_shapes(g, ops);
  const ir::Node& n = g.node(0);
  std::vector<const ir::Value*> in, out{&g.value(n.outputs[0])};
  for (ir::ValueId v : n.inputs) in.push_back(v == ir::kNone ? nullptr : &g.value(v));
  EXPECT_EQ(ops.get(n).macs(n, in, out), 2 * 6 * 4 * 4 * 4 * 3 * 3);
  EXPECT_EQ(ops.get(n).macs(n, in, out), ops::conv_geometry(n, {2, 4, 8, 8}, {6, 4, 3, 3}).macs());
}

TEST(FusedConv, OmittedBiasWithResidual) {
  OpCase c = small_case();
  c.inputs[2] = Tensor();
  EXPECT_EQ(run_reference(c).inferred[0].shape, (Shape{2, 6, 4, 4}));
}

TEST(FusedConv, RejectsBadActivationAttributes) {
  OpCase c = small_case();
  c.attrs.set("activation", std::string("Sigmoid"));
  expect_bad_input(c, "'activation'");
  c.attrs.set("activation", std::string("relu"));  // names are case-sensitive, as ONNX op types
  expect_bad_input(c, "'activation'");
  c.attrs.set("activation", std::string("Relu"));
  c.attrs.set("activation_params", std::vector<float>{1.f});
  expect_bad_input(c, "'activation_params' must be empty");
  c.attrs.set("activation", std::string(""));
  expect_bad_input(c, "'activation_params' must be empty");
  c.attrs.set("activation", std::string("HardSwish"));
  expect_bad_input(c, "'activation_params' must be empty");
  c.attrs.set("activation", std::string("Clip"));
  c.attrs.erase("activation_params");
  expect_bad_input(c, "'activation_params' must be [min, max]");
  c.attrs.set("activation_params", std::vector<float>{0.f, 6.f, 1.f});
  expect_bad_input(c, "'activation_params' must be [min, max]");
  c.attrs.set("activation_params", std::vector<float>{NAN, 6.f});
  expect_bad_input(c, "'activation_params' of Clip must not be NaN");
  c.attrs.set("activation_params", int64_t{6});
  expect_bad_input(c, "activation_params");
  c.attrs.set("activation_params", std::vector<float>{0.f, 6.f});
  EXPECT_NO_THROW(run_reference(c));
}

TEST(FusedConv, RejectsBadShapesAndConvAttributes) {
  OpCase c = small_case();
  c.inputs[3] = Tensor::zeros({2, 6, 8, 8});  // the unstrided shape, not the output's
  expect_bad_input(c, "residual Z");
  c = small_case();
  c.inputs[2] = Tensor::zeros({5});
  expect_bad_input(c, "bias");
  c = small_case();
  c.attrs.set("group", int64_t{4});
  expect_bad_input(c, "group 4");
  c = small_case();
  c.attrs.set("auto_pad", std::string("SAME"));
  expect_bad_input(c, "auto_pad");
}

TEST(FusedConv, ClipWithMinAboveMaxGivesMaxLikeClip) {
  OpCase c = small_case();
  c.attrs.set("activation", std::string("Clip"));
  c.attrs.set("activation_params", std::vector<float>{2.f, 1.f});
  const Tensor y = run_reference(c).outputs[0];
  for (int64_t i = 0; i < y.numel(); ++i) ASSERT_EQ(y.at(i), 1.f) << i;
}

TEST(FusedConv, EpilogueFormulasAtTheCorners) {
  ops::FusedEpilogue e;
  e.activation = ops::FusedActivation::hard_swish;
  EXPECT_EQ(ops::apply_epilogue_activation(e, -3.f), 0.f);
  EXPECT_EQ(ops::apply_epilogue_activation(e, 3.f), 3.f);
  EXPECT_FLOAT_EQ(ops::apply_epilogue_activation(e, 1.f), 1.f * (1.f / 6.f + 0.5f));
  e.activation = ops::FusedActivation::clip;
  e.clip_min = -1.f;
  e.clip_max = 2.f;
  EXPECT_EQ(ops::apply_epilogue_activation(e, -5.f), -1.f);
  EXPECT_EQ(ops::apply_epilogue_activation(e, 5.f), 2.f);
  EXPECT_EQ(ops::apply_epilogue_activation(e, 0.5f), 0.5f);
  e.activation = ops::FusedActivation::relu;
  EXPECT_EQ(ops::apply_epilogue_activation(e, -0.5f), 0.f);
  EXPECT_EQ(ops::apply_epilogue_activation(e, 0.5f), 0.5f);
}

}  // namespace
}  // namespace leancnn::testing
