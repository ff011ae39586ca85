// Quantizers: round-half-even, stochastic rounding (unbiased, seeded), power-of-two weights.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/compress/quantize/quantizer.h"
#include "leancnn/core/error.h"

namespace leancnn::compress::quantize {
namespace {

QuantParams per_tensor(float scale, int zp, QuantGrid grid) {
  QuantParams p;
  p.scale = {scale};
  p.zero_point = {zp};
  p.grid = grid;
  return p;
}

TEST(Quantizer, NearestRoundsHalfToEvenAndSaturates) {
  const QuantParams p = per_tensor(0.5f, 10, activation_grid());
  const Tensor q = quantize_tensor(Tensor::from_floats({5}, {0.25f, 0.75f, -0.25f, 1000.f, -1000.f}), p);
  ASSERT_EQ(q.dtype(), DType::u8);
  const uint8_t* v = q.data<uint8_t>();
  EXPECT_EQ(v[0], 10);  // 0.5 -> 0
  EXPECT_EQ(v[1], 12);  // 1.5 -> 2
  EXPECT_EQ(v[2], 10);  // -0.5 -> 0
  EXPECT_EQ(v[3], 255);
  EXPECT_EQ(v[4], 0);
  const Tensor d = dequantize_tensor(q, p);
  EXPECT_FLOAT_EQ(d.at(1), 1.f);
  EXPECT_FLOAT_EQ(d.at(4), -5.f);
}

TEST(Quantizer, PerChannelSigned) {
  QuantParams p;
  p.scale = {1.f, 0.1f};
  p.zero_point = {0, 0};
  p.grid = weight_grid(8);
  p.axis = 0;
  const Tensor q = quantize_tensor(Tensor::from_floats({2, 2}, {3.f, -200.f, 0.3f, -0.7f}), p);
  ASSERT_EQ(q.dtype(), DType::s8);
  EXPECT_EQ(q.data<int8_t>()[0], 3);
  EXPECT_EQ(q.data<int8_t>()[1], -127);  // narrow range
  EXPECT_EQ(q.data<int8_t>()[2], 3);
  EXPECT_EQ(q.data<int8_t>()[3], -7);
}

TEST(Quantizer, StochasticRoundingIsUnbiasedAndSeeded) {
  const QuantParams p = per_tensor(1.f, 0, weight_grid(8));
  Tensor x = Tensor::full({20000}, 0.3f);
  Rng a(1), b(1), c(2);
  const Tensor qa = quantize_tensor(x, p, Rounding::stochastic, &a);
  const Tensor qb = quantize_tensor(x, p, Rounding::stochastic, &b);
  const Tensor qc = quantize_tensor(x, p, Rounding::stochastic, &c);
  double mean = 0;
  bool same_ab = true, same_ac = true;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int v = qa.data<int8_t>()[i];
    EXPECT_TRUE(v == 0 || v == 1);
    mean += v;
    same_ab &= v == qb.data<int8_t>()[i];
    same_ac &= v == qc.data<int8_t>()[i];
  }
  mean /= static_cast<double>(x.numel());
  EXPECT_NEAR(mean, 0.3, 0.015);
  EXPECT_TRUE(same_ab);
  EXPECT_FALSE(same_ac);
  EXPECT_THROW(quantize_tensor(x, p, Rounding::stochastic, nullptr), Error);
}

TEST(Quantizer, LogQuantizationGivesPowersOfTwoOnS8) {
  const Tensor w = Tensor::from_floats({1, 7}, {1.f, 0.5f, 0.3f, 0.01f, -0.25f, 0.f, 0.005f});
  const LogQuantized lq = log2_quantize(w, 0);
  ASSERT_EQ(lq.q.dtype(), DType::s8);
  const int8_t* q = lq.q.data<int8_t>();
  EXPECT_EQ(q[0], 64);
  EXPECT_EQ(q[1], 32);
  EXPECT_EQ(q[2], 16);   // log2(0.3) = -1.74 rounds to -2
  EXPECT_EQ(q[3], 1);    // 2^-6.6 clamps to the smallest level 2^-6
  EXPECT_EQ(q[4], -16);
  EXPECT_EQ(q[5], 0);
  EXPECT_EQ(q[6], 0);    // below half the smallest level
  EXPECT_FLOAT_EQ(lq.params.scale[0], 1.f / 64.f);
  const Tensor d = dequantize_tensor(lq.q, lq.params);
  EXPECT_FLOAT_EQ(d.at(2), 0.25f);
  // Every code is 0 or ±2^k, k in 0..6.
  for (int i = 0; i < 7; ++i) {
    const int a = std::abs(q[i]);
    EXPECT_TRUE(a == 0 || (a & (a - 1)) == 0) << a;
  }
}

TEST(Quantizer, SqnrAndNames) {
  const Tensor x = Tensor::from_floats({2}, {1.f, -1.f});
  EXPECT_TRUE(std::isinf(sqnr_db(x, x)));
  EXPECT_NEAR(sqnr_db(x, Tensor::from_floats({2}, {0.9f, -0.9f})), 20.0, 1e-4);
  EXPECT_EQ(rounding_from_name("stochastic"), Rounding::stochastic);
  EXPECT_THROW(rounding_from_name("up"), Error);
}

}  // namespace
}  // namespace leancnn::compress::quantize
