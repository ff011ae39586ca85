// Unit tests of the integer ops' references: QLinearConv / QLinearFusedConv against hand-computed
// values and against the float conv of dequantized values, QGemm / QLinearMatMul (quantized and
// f32 outputs), QAdd against the DQ + Add + Relu + Q chain it replaces, and their error paths.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/ops/qlinear.h"
#include "leancnn/ops/quant_math.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

Tensor f(float v) { return Tensor::from_floats({}, {v}); }
Tensor i8(const Shape& s, const std::vector<int64_t>& v) { return Tensor::from_ints(s, v, DType::s8); }
Tensor u8(const Shape& s, const std::vector<int64_t>& v) { return Tensor::from_ints(s, v, DType::u8); }

std::vector<int> ints_of(const Tensor& t) {
  std::vector<int> out;
  for (int64_t i = 0; i < t.numel(); ++i)
    out.push_back(t.dtype() == DType::u8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i]);
  return out;
}

// 1x1 input channel 2x2 image, one 1x1 filter of weight 2: acc = 2 (x - 10).
OpCase tiny_conv(const char* op, const char* domain) {
  OpCase c;
  c.op_type = op;
  c.domain = domain;
  c.inputs = {u8({1, 1, 2, 2}, {10, 11, 13, 200}), f(0.5f), u8({}, {10}), i8({1, 1, 1, 1}, {2}), f(0.25f),
              i8({}, {0}), f(0.125f), u8({}, {100}), Tensor::from_ints({1}, {1}, DType::s32)};
  return c;
}

TEST(QLinearConv, HandComputed) {
  // m = 0.5 * 0.25 / 0.125 = 1: y = (2 (x - 10) + 1) + 100, clamped to 255.
  const OpRun r = run_reference(tiny_conv("QLinearConv", ""));
  EXPECT_EQ(r.outputs[0].dtype(), DType::u8);
  EXPECT_EQ(ints_of(r.outputs[0]), (std::vector<int>{101, 103, 107, 255}));
}

TEST(QLinearFusedConv, ReluAndClipClampInTheIntegerDomain) {
  OpCase c = tiny_conv("QLinearFusedConv", ir::kLeancnnDomain);
  c.inputs[0] = u8({1, 1, 2, 2}, {0, 5, 10, 12});  // acc + b = -19, -9, 1, 5
  c.attrs.set("activation", std::string("Relu"));
  EXPECT_EQ(ints_of(run_reference(c).outputs[0]), (std::vector<int>{100, 100, 101, 105}));
  c.attrs.set("activation", std::string("Clip"));
  c.attrs.set("activation_params", std::vector<float>{-1.f, 0.25f});  // q: [92, 102]
  EXPECT_EQ(ints_of(run_reference(c).outputs[0]), (std::vector<int>{92, 92, 101, 102}));
  c.attrs.set("activation", std::string("HardSwish"));
  c.attrs.set("activation_params", std::vector<float>{});
  expect_bad_input(c, "is not one of");
}

// The integer conv equals quantize(float conv of the dequantized operands) up to one unit where
// the float sum lands next to a rounding boundary (here: never more than one unit, rarely that).
TEST(QLinearFusedConv, MatchesFloatConvOfDequantizedValues) {
  Rng rng(4);
  const Shape xs{2, 6, 7, 7}, ws{6, 3, 3, 3};
  Tensor xf = random_tensor(xs, rng, 0.f, 255.f), wf = random_tensor(ws, rng, -127.f, 127.f);
  std::vector<int64_t> xv(xf.numel()), wv(wf.numel());
  for (int64_t i = 0; i < xf.numel(); ++i) xv[i] = static_cast<int64_t>(xf.at(i));
  for (int64_t i = 0; i < wf.numel(); ++i) wv[i] = static_cast<int64_t>(wf.at(i));
  OpCase q;
  q.op_type = "QLinearFusedConv";
  q.domain = ir::kLeancnnDomain;
  const Tensor w_scale = Tensor::from_floats({6}, {0.01f, 0.02f, 0.005f, 0.015f, 0.03f, 0.008f});
  q.inputs = {u8(xs, xv), f(0.02f), u8({}, {120}), i8(ws, wv), w_scale, Tensor::zeros({6}, DType::s8), f(0.4f),
              u8({}, {128}), Tensor::from_ints({6}, {100, -300, 0, 5000, -7, 42}, DType::s32)};
  q.attrs.set("group", int64_t{2});
  q.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const Tensor y = run_reference(q).outputs[0];
  // The float path: Conv on DQ(x), DQ(w), DQ(b), then QuantizeLinear.
  OpCase c;
  c.op_type = "Conv";
  c.attrs = q.attrs;
  Tensor dx = Tensor::empty(xs), dw = Tensor::empty(ws), db = Tensor::empty({6});
  for (int64_t i = 0; i < dx.numel(); ++i) dx.data<float>()[i] = static_cast<float>(xv[i] - 120) * 0.02f;
  for (int64_t i = 0; i < dw.numel(); ++i) dw.data<float>()[i] = static_cast<float>(wv[i]) * w_scale.at(i / 27);
  for (int64_t o = 0; o < 6; ++o)
    db.data<float>()[o] = static_cast<float>(q.inputs[8].data<int32_t>()[o]) * (0.02f * w_scale.at(o));
  c.inputs = {dx, dw, db};
  const Tensor yf = run_reference(c).outputs[0];
  int off_by_one = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const int want = ops::quantize_value(yf.at(i), 0.4f, 128, 0, 255);
    const int got = y.data<uint8_t>()[i];
    ASSERT_LE(std::abs(got - want), 1) << i;
    off_by_one += got != want;
  }
  EXPECT_LE(off_by_one, y.numel() / 100);
}

TEST(QGemm, QuantizedAndFloatOutputs) {
  OpCase c;
  c.op_type = "QGemm";
  c.domain = ir::kLeancnnDomain;
  // x [1, 2] = (12, 8) - 10 = (2, -2); w [2, 2] rows (1, 2) and (3, -1): acc = (-2, 8).
  c.inputs = {u8({1, 2}, {12, 8}), f(0.5f), u8({}, {10}), i8({2, 2}, {1, 2, 3, -1}), Tensor::from_floats({2}, {1.f, 0.5f}),
              i8({2}, {0, 0}), f(1.f), u8({}, {50}), Tensor::from_ints({2}, {1, 2}, DType::s32)};
  // y = (acc + b) * 0.5 * w_scale + 50: (-1 * 0.5) -> -0.5 -> 0 (even) + 50; (10 * 0.25) = 2.5 -> 2 + 50.
  EXPECT_EQ(ints_of(run_reference(c).outputs[0]), (std::vector<int>{50, 52}));
  c.inputs[6] = Tensor();
  c.inputs[7] = Tensor();
  const OpRun r = run_reference(c);
  EXPECT_EQ(r.outputs[0].dtype(), DType::f32);
  expect_values(r.outputs[0], {-0.5f, 2.5f});
  c.attrs.set("activation", std::string("Relu"));
  expect_values(run_reference(c).outputs[0], {0.f, 2.5f});
}

TEST(QLinearMatMul, KByNWeights) {
  OpCase c;
  c.op_type = "QLinearMatMul";
  c.inputs = {u8({1, 2}, {12, 8}), f(0.5f), u8({}, {10}), i8({2, 2}, {1, 3, 2, -1}), f(1.f), i8({}, {0}), f(1.f),
              u8({}, {50})};
  // w [K, N] = columns (1, 2) and (3, -1): acc = (-2, 8) -> (-1, 4) + 50.
  EXPECT_EQ(ints_of(run_reference(c).outputs[0]), (std::vector<int>{49, 54}));
  c.inputs[3] = i8({3, 2}, {1, 3, 2, -1, 0, 0});
  expect_bad_input(c, "disagree on K");
}

TEST(QLinearOps, ErrorPaths) {
  OpCase c = tiny_conv("QLinearFusedConv", ir::kLeancnnDomain);
  c.inputs[4] = Tensor::from_floats({3}, {1.f, 1.f, 1.f});
  expect_bad_input(c, "needs 1 or 1");
  c = tiny_conv("QLinearFusedConv", ir::kLeancnnDomain);
  c.inputs[8] = Tensor::from_floats({1}, {1.f});
  expect_bad_input(c, "bias");
  c = tiny_conv("QLinearFusedConv", ir::kLeancnnDomain);
  c.inputs[6] = f(-1.f);
  expect_bad_input(c, "positive");
  c = tiny_conv("QLinearFusedConv", ir::kLeancnnDomain);
  c.inputs[0] = Tensor::zeros({1, 1, 2, 2});
  expect_bad_input(c, "must be u8 or s8");
}

TEST(QAdd, EqualsTheDequantizeAddReluQuantizeChain) {
  Rng rng(8);
  const Shape s{2, 3, 5, 7};
  Tensor af = random_tensor(s, rng, 0.f, 255.f), bf = random_tensor(s, rng, 0.f, 255.f);
  std::vector<int64_t> av(af.numel()), bv(bf.numel());
  for (int64_t i = 0; i < af.numel(); ++i) av[i] = static_cast<int64_t>(af.at(i)), bv[i] = static_cast<int64_t>(bf.at(i));
  for (const bool relu : {false, true}) {
    OpCase c;
    c.op_type = "QAdd";
    c.domain = ir::kLeancnnDomain;
    c.inputs = {u8(s, av), f(0.037f), u8({}, {131}), u8(s, bv), f(0.021f), u8({}, {17}), f(0.05f), u8({}, {90})};
    if (relu) c.attrs.set("activation", std::string("Relu"));
    const Tensor y = run_reference(c).outputs[0];
    for (int64_t i = 0; i < y.numel(); ++i) {
      const float a = static_cast<float>(av[i] - 131) * 0.037f, b = static_cast<float>(bv[i] - 17) * 0.021f;
      float sum = a + b;
      if (relu) sum = sum > 0.f ? sum : 0.f;
      ASSERT_EQ(y.data<uint8_t>()[i], ops::quantize_value(sum, 0.05f, 90, 0, 255)) << i;
    }
  }
  OpCase bad;
  bad.op_type = "QAdd";
  bad.domain = ir::kLeancnnDomain;
  bad.inputs = {u8({2}, {1, 2}), f(1.f), u8({}, {0}), u8({1}, {1}), f(1.f), u8({}, {0}), f(1.f), u8({}, {0})};
  expect_bad_input(bad, "does not broadcast");
}

}  // namespace
}  // namespace leancnn::testing
