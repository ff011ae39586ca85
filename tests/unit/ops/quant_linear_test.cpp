// Unit tests of the shared quantization math (quant_math.h) and of QuantizeLinear,
// DequantizeLinear and ai.leancnn UnpackInt4: rounding, saturation, per-axis, packing, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ir/graph.h"
#include "leancnn/ops/quant_math.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

Tensor scalar_f(float v) { return Tensor::from_floats({}, {v}); }
Tensor ints(const Shape& s, const std::vector<int64_t>& v, DType t) { return Tensor::from_ints(s, v, t); }

std::vector<int> as_ints(const Tensor& t) {
  std::vector<int> out;
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype()) {
      case DType::u8: out.push_back(t.data<uint8_t>()[i]); break;
      case DType::s8: out.push_back(t.data<int8_t>()[i]); break;
      default: out.push_back(t.data<int32_t>()[i]); break;
    }
  }
  return out;
}

TEST(QuantMath, RoundHalfEven) {
  EXPECT_EQ(ops::round_half_even(0.5f), 0.f);
  EXPECT_EQ(ops::round_half_even(1.5f), 2.f);
  EXPECT_EQ(ops::round_half_even(2.5f), 2.f);
  EXPECT_EQ(ops::round_half_even(-0.5f), 0.f);
  EXPECT_EQ(ops::round_half_even(-1.5f), -2.f);
  EXPECT_EQ(ops::round_half_even(-2.5f), -2.f);
  EXPECT_EQ(ops::round_half_even(2.5000002f), 3.f);
  EXPECT_EQ(ops::round_half_even(-2.4999998f), -2.f);
  EXPECT_EQ(ops::round_half_even(16777216.f), 16777216.f);
  for (float x = -300.f; x < 300.f; x += 0.125f) EXPECT_EQ(ops::round_half_even(x), std::nearbyint(x)) << x;
}

TEST(QuantMath, QuantizeValueSaturatesAndRounds) {
  EXPECT_EQ(ops::quantize_value(1.f, 0.5f, 10, 0, 255), 12);
  EXPECT_EQ(ops::quantize_value(0.25f, 0.5f, 10, 0, 255), 10);  // 0.5 -> 0 (even)
  EXPECT_EQ(ops::quantize_value(0.75f, 0.5f, 10, 0, 255), 12);  // 1.5 -> 2
  EXPECT_EQ(ops::quantize_value(1e9f, 0.5f, 10, 0, 255), 255);
  EXPECT_EQ(ops::quantize_value(-1e9f, 0.5f, 10, 0, 255), 0);
  EXPECT_EQ(ops::quantize_value(-1e30f, 1e-30f, 0, -128, 127), -128);
  EXPECT_EQ(ops::quantize_value(NAN, 1.f, 3, 0, 255), 3);
}

TEST(QuantMath, QuantizeRowEqualsQuantizeValue) {
  std::vector<float> x;
  for (float v = -300.f; v < 300.f; v += 0.0625f) x.push_back(v);
  x.push_back(NAN);
  x.push_back(INFINITY);
  x.push_back(-INFINITY);
  x.push_back(1e30f);
  for (const float scale : {1.f, 0.5f, 0.37f, 3.f})
    for (const int zp : {0, 17, 128, 255}) {
      std::vector<uint8_t> u(x.size());
      ops::quantize_row(x.data(), static_cast<int64_t>(x.size()), scale, zp, 0, 255, u.data());
      for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(u[i], ops::quantize_value(x[i], scale, zp, 0, 255)) << x[i];
      std::vector<int8_t> s(x.size());
      ops::quantize_row(x.data(), static_cast<int64_t>(x.size()), scale, zp - 128, -128, 127, s.data());
      for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(s[i], ops::quantize_value(x[i], scale, zp - 128, -128, 127)) << x[i];
    }
}

TEST(QuantMath, RequantizeFormula) {
  // ((acc + bias) * m) + zp, rounded half to even, clamped.
  EXPECT_EQ(ops::requantize(10, 0, 0.25f, 0, 0, 255), 2);   // 2.5 -> 2
  EXPECT_EQ(ops::requantize(14, 0, 0.25f, 0, 0, 255), 4);   // 3.5 -> 4
  EXPECT_EQ(ops::requantize(10, 4, 0.25f, 100, 0, 255), 104);
  EXPECT_EQ(ops::requantize(-1000, 0, 1.f, 100, 0, 255), 0);
  EXPECT_EQ(ops::requantize(1000, 0, 1.f, 100, 0, 255), 255);
  const ops::QuantBounds r = ops::relu_bounds(100, 0, 255);
  EXPECT_EQ(ops::requantize(-50, 0, 1.f, 100, r.lo, r.hi), 100);
  EXPECT_EQ(ops::requantize(-50, 0, 1.f, -10, -128, 127), -60);
  const ops::QuantBounds c = ops::clip_bounds(0.f, 6.f, 0.1f, 5, 0, 255);
  EXPECT_EQ(c.lo, 5);
  EXPECT_EQ(c.hi, 65);
  EXPECT_EQ(ops::requantize(1000, 0, 1.f, 5, c.lo, c.hi), 65);
  EXPECT_FLOAT_EQ(ops::requant_multiplier(0.5f, 0.25f, 2.f), 0.0625f);
}

TEST(QuantMath, Int4PackRoundTrip) {
  const std::vector<int8_t> v{-8, 7, 0, -1, 3};
  const std::vector<uint8_t> p = ops::pack_int4(v.data(), 5);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], 0x78);  // low nibble -8 (0x8), high nibble 7
  EXPECT_EQ(p[1], 0xF0);  // 0, then -1 (0xF)
  EXPECT_EQ(p[2], 0x03);  // last byte padded with 0
  std::vector<int8_t> back(5);
  ops::unpack_int4(p.data(), 5, back.data());
  EXPECT_EQ(back, v);
  const int8_t bad = 8;
  EXPECT_THROW(ops::pack_int4(&bad, 1), Error);
}

TEST(QuantizeLinear, PerTensorU8DefaultAndS8) {
  OpCase c;
  c.op_type = "QuantizeLinear";
  c.inputs = {Tensor::from_floats({5}, {-1.f, 0.f, 0.25f, 0.75f, 300.f}), scalar_f(0.5f)};
  OpRun r = run_reference(c);  // zero point omitted: u8, 0
  EXPECT_EQ(r.outputs[0].dtype(), DType::u8);
  EXPECT_EQ(as_ints(r.outputs[0]), (std::vector<int>{0, 0, 0, 2, 255}));
  c.inputs.push_back(ints({}, {-3}, DType::s8));
  r = run_reference(c);
  EXPECT_EQ(r.outputs[0].dtype(), DType::s8);
  EXPECT_EQ(as_ints(r.outputs[0]), (std::vector<int>{-5, -3, -3, -1, 127}));
}

TEST(QuantizeLinear, PerAxisDefaultAxis1AndAxis0) {
  OpCase c;
  c.op_type = "QuantizeLinear";
  c.inputs = {Tensor::from_floats({2, 2, 1}, {1.f, 1.f, 1.f, 1.f}), Tensor::from_floats({2}, {0.5f, 0.25f}),
              ints({2}, {0, 10}, DType::u8)};
  EXPECT_EQ(as_ints(run_reference(c).outputs[0]), (std::vector<int>{2, 14, 2, 14}));
  c.attrs.set("axis", int64_t{0});
  EXPECT_EQ(as_ints(run_reference(c).outputs[0]), (std::vector<int>{2, 2, 14, 14}));
  c.attrs.set("axis", int64_t{-3});
  EXPECT_EQ(as_ints(run_reference(c).outputs[0]), (std::vector<int>{2, 2, 14, 14}));
}

TEST(QuantizeLinear, Errors) {
  OpCase c;
  c.op_type = "QuantizeLinear";
  c.inputs = {Tensor::zeros({2, 3}), Tensor::from_floats({2}, {1.f, 1.f})};
  expect_bad_input(c, "per-axis scale has 2 values");
  c.inputs = {Tensor::zeros({2, 3}), scalar_f(1.f), ints({}, {0}, DType::s32)};
  expect_bad_input(c, "must be u8 or s8");
  c.inputs = {Tensor::zeros({2, 3}), scalar_f(1.f), ints({2}, {0, 0}, DType::u8)};
  expect_bad_input(c, "they must match");
}

TEST(DequantizeLinear, U8S8S32PerTensorAndPerAxis) {
  OpCase c;
  c.op_type = "DequantizeLinear";
  c.inputs = {ints({3}, {0, 128, 255}, DType::u8), scalar_f(0.5f), ints({}, {128}, DType::u8)};
  expect_values(run_reference(c).outputs[0], {-64.f, 0.f, 63.5f});
  c.inputs = {ints({2, 2}, {-128, 127, 1, -1}, DType::s8), Tensor::from_floats({2}, {1.f, 0.5f}),
              ints({2}, {0, 0}, DType::s8)};
  c.attrs.set("axis", int64_t{0});
  expect_values(run_reference(c).outputs[0], {-128.f, 127.f, 0.5f, -0.5f});
  c.inputs = {ints({2}, {-100000, 7}, DType::s32), scalar_f(0.25f)};
  expect_values(run_reference(c).outputs[0], {-25000.f, 1.75f});
}

TEST(DequantizeLinear, Errors) {
  OpCase c;
  c.op_type = "DequantizeLinear";
  c.inputs = {Tensor::zeros({2}), scalar_f(1.f)};
  expect_bad_input(c, "must be u8, s8 or s32");
  c.inputs = {ints({2}, {1, 2}, DType::u8), scalar_f(1.f), ints({}, {0}, DType::s8)};
  expect_bad_input(c, "they must match");
  c.inputs = {ints({2}, {1, 2}, DType::s32), scalar_f(1.f), ints({}, {3}, DType::s32)};
  expect_bad_input(c, "zero point 0");
}

TEST(UnpackInt4, UnpacksToShape) {
  const std::vector<int8_t> v{1, -2, 3, -4, 5, -6, 7};
  const std::vector<uint8_t> p = ops::pack_int4(v.data(), 7);
  OpCase c;
  c.op_type = "UnpackInt4";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {ints({4}, {p[0], p[1], p[2], p[3]}, DType::u8)};
  c.attrs.set("shape", std::vector<int64_t>{7, 1});
  OpRun r = run_reference(c);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{7, 1}));
  EXPECT_EQ(as_ints(r.outputs[0]), (std::vector<int>{1, -2, 3, -4, 5, -6, 7}));
  c.attrs.set("shape", std::vector<int64_t>{9});
  expect_bad_input(c, "needs (numel + 1) / 2 = 5");
  c.attrs = {};
  expect_bad_input(c, "needs the attribute 'shape'");
}

}  // namespace
}  // namespace leancnn::testing
