// Range observers: min-max, moving average, percentile, entropy (KL) and MSE on known distributions.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/compress/quantize/observer.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"

namespace leancnn::compress::quantize {
namespace {

Tensor normal(int64_t n, uint64_t seed, float stddev = 1.f) {
  Tensor t = Tensor::empty({n});
  Rng rng(seed);
  rng.fill_normal(t, 0.f, stddev);
  return t;
}

TEST(QuantGrid, Ranges) {
  EXPECT_EQ(activation_grid().qmin(), 0);
  EXPECT_EQ(activation_grid().qmax(), 255);
  EXPECT_EQ(weight_grid(8).qmin(), -127);
  EXPECT_EQ(weight_grid(8).qmax(), 127);
  EXPECT_EQ(weight_grid(4).qmin(), -7);
  EXPECT_EQ(weight_grid(4).qmax(), 7);
  QuantGrid wide = weight_grid(8);
  wide.narrow_range = false;
  EXPECT_EQ(wide.qmin(), -128);
}

TEST(RangeToParams, AsymmetricSymmetricAndDegenerate) {
  float scale;
  int32_t zp;
  range_to_params(-1.f, 3.f, activation_grid(), scale, zp);
  EXPECT_FLOAT_EQ(scale, 4.f / 255.f);
  EXPECT_EQ(zp, 64);  // round(1 / (4/255)) = round(63.75)
  range_to_params(0.5f, 2.f, activation_grid(), scale, zp);  // widened to contain 0
  EXPECT_FLOAT_EQ(scale, 2.f / 255.f);
  EXPECT_EQ(zp, 0);
  range_to_params(-2.f, 1.f, weight_grid(8), scale, zp);
  EXPECT_FLOAT_EQ(scale, 2.f / 127.f);
  EXPECT_EQ(zp, 0);
  range_to_params(-2.f, 1.f, weight_grid(4), scale, zp);
  EXPECT_FLOAT_EQ(scale, 2.f / 7.f);
  range_to_params(0.f, 0.f, activation_grid(), scale, zp);
  EXPECT_EQ(scale, 1.f);
  EXPECT_EQ(zp, 0);
  EXPECT_THROW(range_to_params(0.f, 1.f, weight_grid(9), scale, zp), Error);
}

TEST(Observer, MinMaxAndEma) {
  Observer mm({.method = RangeMethod::minmax});
  mm.observe(Tensor::from_floats({3}, {-1.f, 0.5f, 2.f}));
  mm.observe(Tensor::from_floats({2}, {-0.5f, 4.f}));
  QuantParams p = mm.params(activation_grid());
  EXPECT_FLOAT_EQ(p.lo[0], -1.f);
  EXPECT_FLOAT_EQ(p.hi[0], 4.f);
  EXPECT_FLOAT_EQ(p.scale[0], 5.f / 255.f);

  Observer ema({.method = RangeMethod::ema, .ema_momentum = 0.5});
  ema.observe(Tensor::from_floats({2}, {-1.f, 2.f}));
  ema.observe(Tensor::from_floats({2}, {-3.f, 4.f}));
  p = ema.params(activation_grid());
  EXPECT_FLOAT_EQ(p.lo[0], -2.f);  // 0.5 * -1 + 0.5 * -3
  EXPECT_FLOAT_EQ(p.hi[0], 3.f);
}

TEST(Observer, PerChannelScalesFollowEachChannel) {
  Observer o({.method = RangeMethod::minmax, .axis = 0});
  Tensor w = Tensor::empty({3, 4});
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t k = 0; k < 4; ++k) w.data<float>()[c * 4 + k] = static_cast<float>((c + 1) * (k % 2 ? 1 : -1)) * (k + 1) / 4.f;
  o.observe(w);
  QuantParams p = o.params(weight_grid(8));
  ASSERT_EQ(p.scale.size(), 3u);
  for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(p.scale[c], (c + 1) / 127.f);
  EXPECT_THROW(o.observe(Tensor::empty({2, 4})), Error);  // channel count changed
}

TEST(Observer, PercentileOfUniform) {
  Tensor t = Tensor::empty({200000});
  Rng rng(3);
  rng.fill_uniform(t, 0.f, 1.f);
  Observer o({.method = RangeMethod::percentile, .percentile = 99.0});
  o.observe(t);
  const QuantParams p = o.params(activation_grid());
  EXPECT_NEAR(p.hi[0], 0.99f, 0.005f);
  EXPECT_GE(p.lo[0], 0.f);  // one-sided data: lo stays at the minimum, widened to 0 for the grid
  EXPECT_EQ(p.zero_point[0], 0);
  EXPECT_NEAR(p.scale[0], p.hi[0] / 255.f, 1e-9f);
}

TEST(Observer, HistogramGrowsAcrossBatches) {
  Observer o({.method = RangeMethod::percentile, .percentile = 100.0});
  o.observe(Tensor::from_floats({2}, {0.25f, 1.f}));
  o.observe(Tensor::from_floats({2}, {3.f, 0.5f}));  // beyond the first range: bins merge
  const QuantParams p = o.params(activation_grid());
  EXPECT_NEAR(p.hi[0], 3.f, 4.f / 2048 * 2);
}

TEST(Observer, EntropyClipsGaussianTailsButNotUniform) {
  Observer g({.method = RangeMethod::entropy});
  g.observe(normal(200000, 5));
  float lo, hi;
  g.channel_range(0, weight_grid(8), lo, hi);
  EXPECT_GT(hi, 2.5f);  // TensorRT's KL threshold on N(0, 1) at 8 bits: about 3-4.5 sigma
  Observer mm({.method = RangeMethod::minmax});
  mm.observe(normal(200000, 5));
  float mlo, mhi;
  mm.channel_range(0, weight_grid(8), mlo, mhi);
  EXPECT_LT(hi, mhi);  // clipped below the maximum (about 4.5 sigma for 2e5 samples)

  Tensor u = Tensor::empty({200000});
  Rng rng(9);
  rng.fill_uniform(u, -1.f, 1.f);
  Observer uo({.method = RangeMethod::entropy});
  uo.observe(u);
  uo.channel_range(0, weight_grid(8), lo, hi);
  EXPECT_GT(hi, 0.95f);  // nothing worth clipping in a uniform distribution
}

TEST(Observer, MseClipsGaussianAtTheKnownOptimum) {
  // The MSE-optimal symmetric clip of N(0, 1) with 2^4 levels is about 2.5 sigma (Banner et al.,
  // ACIQ); at 8 bits it is far wider (about 4 sigma, limited here by the sample's maximum).
  Observer o({.method = RangeMethod::mse});
  o.observe(normal(200000, 11));
  float lo, hi;
  o.channel_range(0, weight_grid(4), lo, hi);
  EXPECT_GT(hi, 2.1f);
  EXPECT_LT(hi, 3.0f);
  float lo8, hi8;
  o.channel_range(0, weight_grid(8), lo8, hi8);
  EXPECT_GT(hi8, 3.3f);
}

TEST(Observer, ThresholdHelpers) {
  std::vector<double> flat(2048, 1.0);
  EXPECT_NEAR(percentile_threshold(flat, 2.0, 0.5), 1.0, 1e-9);
  EXPECT_NEAR(entropy_threshold(flat, 2.0, 128), 2.0, 2.0 / 2048);
  std::vector<double> spike(2048, 0.0);
  spike[10] = 100;
  EXPECT_NEAR(entropy_threshold(spike, 1.0, 128), 11.0 / 2048, 1e-9);  // no clipping needed
}

TEST(Observer, AllZerosAndBadInput) {
  Observer o({.method = RangeMethod::entropy});
  o.observe(Tensor::zeros({16}));
  const QuantParams p = o.params(activation_grid());
  EXPECT_EQ(p.scale[0], 1.f);
  EXPECT_THROW(o.observe(Tensor::from_floats({1}, {NAN})), Error);
  EXPECT_THROW(Observer({.percentile = 0}), Error);
  EXPECT_THROW(range_method_from_name("median"), Error);
  EXPECT_EQ(range_method_from_name("kl"), RangeMethod::entropy);
}

}  // namespace
}  // namespace leancnn::compress::quantize
