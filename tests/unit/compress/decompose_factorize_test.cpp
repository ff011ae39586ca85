// Decomposition's factorisations against their definitions: truncated SVD meets Eckart-Young,
// the energy rule's rank, Tucker-2 and CP reconstruct the kernel exactly at full (true) rank and
// lose accuracy as the rank falls, HOOI never fits worse than its HOSVD start.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/compress/decompose/factorize.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"

namespace leancnn::compress::decompose {
namespace {

Tensor random_tensor(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.fill_normal(t, 0.f, 1.f);
  return t;
}

TEST(DecomposeFactorize, TruncatedSvdErrorIsTheTailOfTheSingularValues) {
  const Tensor m = random_tensor({12, 20}, 1);
  const std::vector<double> s = singular_values(m);
  ASSERT_EQ(s.size(), 12u);
  for (size_t i = 1; i < s.size(); ++i) EXPECT_GE(s[i - 1], s[i]);
  double total = 0;
  for (double v : s) total += v * v;
  double last = 2;
  for (int64_t r = 1; r <= 12; ++r) {
    const LowRank lr = truncated_svd(m, r);
    EXPECT_EQ(lr.left.shape(), (Shape{12, r}));
    EXPECT_EQ(lr.right.shape(), (Shape{r, 20}));
    double tail = 0;
    for (size_t i = static_cast<size_t>(r); i < s.size(); ++i) tail += s[i] * s[i];
    const double err = relative_error(m, matmul(lr.left, lr.right));
    EXPECT_NEAR(err, std::sqrt(tail / total), 1e-5) << "rank " << r;
    EXPECT_LT(err, last);
    last = err;
  }
  EXPECT_LT(last, 1e-5);  // full rank: exact up to f32 rounding
  EXPECT_THROW(truncated_svd(m, 13), Error);
  EXPECT_THROW(truncated_svd(m, 0), Error);
}

TEST(DecomposeFactorize, EnergyRankKeepsTheAskedShareOfSquaredMass) {
  const std::vector<double> s = {3, 2, 1, 1};  // squares 9, 4, 1, 1 of 15
  EXPECT_EQ(energy_rank(s, 0.5), 1);           // 9/15 = 0.6
  EXPECT_EQ(energy_rank(s, 0.61), 2);          // 13/15 = 0.867
  EXPECT_EQ(energy_rank(s, 0.9), 3);           // 14/15 = 0.933
  EXPECT_EQ(energy_rank(s, 0.95), 4);
  EXPECT_EQ(energy_rank(s, 1.0), 4);
  EXPECT_EQ(energy_rank({2, 0, 0}, 1.0), 1);   // zero tail is not asked for
  EXPECT_THROW(energy_rank(s, 0.0), Error);
  EXPECT_THROW(energy_rank(s, 1.5), Error);
}

TEST(DecomposeFactorize, Tucker2IsExactAtFullRankAndHooiImprovesOnHosvd) {
  const Tensor w = random_tensor({10, 7, 3, 3}, 2);
  const Tucker2 full = tucker2(w, 10, 7);
  EXPECT_LT(relative_error(w, tucker2_kernel(full)), 1e-5);
  EXPECT_EQ(full.core.shape(), (Shape{10, 7, 3, 3}));
  // Orthonormal factors.
  const int64_t r = 4;
  const Tucker2 t = tucker2(w, 5, r, 20);
  for (int64_t a = 0; a < r; ++a)
    for (int64_t b = 0; b < r; ++b) {
      double dot = 0;
      for (int64_t i = 0; i < 7; ++i) dot += t.in_factor.data<float>()[i * r + a] * t.in_factor.data<float>()[i * r + b];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5);
    }
  const double hosvd = relative_error(w, tucker2_kernel(tucker2(w, 5, r, 0)));
  const double hooi = relative_error(w, tucker2_kernel(t));
  EXPECT_GT(hosvd, 0.05);
  EXPECT_LE(hooi, hosvd + 1e-9);
  // Lower ranks fit worse.
  EXPECT_GT(relative_error(w, tucker2_kernel(tucker2(w, 3, 2))), hooi);
  EXPECT_THROW(tucker2(w, 11, 3), Error);
}

TEST(DecomposeFactorize, CpRecoversAKernelOfExactRank) {
  // w = sum of 3 rank-one terms: CP at rank 3 fits it, rank 1 does not.
  const int64_t oc = 6, ic = 5, kh = 3, kw = 3, r = 3;
  Cp truth;
  truth.out = random_tensor({oc, r}, 3);
  truth.in = random_tensor({ic, r}, 4);
  truth.h = random_tensor({kh, r}, 5);
  truth.w = random_tensor({kw, r}, 6);
  const Tensor w = cp_kernel(truth);
  const Cp fit = cp_als(w, r, 500, 1e-10, 7);
  EXPECT_LT(fit.rel_error, 1e-3);
  EXPECT_NEAR(fit.rel_error, relative_error(w, cp_kernel(fit)), 1e-9);
  const Cp low = cp_als(w, 1, 200, 1e-10, 7);
  EXPECT_GT(low.rel_error, 0.05);
  EXPECT_EQ(fit.out.shape(), (Shape{oc, r}));
  EXPECT_EQ(fit.h.shape(), (Shape{kh, r}));
  EXPECT_THROW(cp_als(w, 0), Error);
}

TEST(DecomposeFactorize, ModeSingularValuesAreThoseOfTheUnfolding) {
  const Tensor w = random_tensor({4, 6, 3, 3}, 8);
  const std::vector<double> s0 = mode_singular_values(w, 0);
  const std::vector<double> direct = singular_values(w.reshape({4, 54}));
  ASSERT_EQ(s0.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(s0[i], direct[i], 1e-4);
  EXPECT_EQ(mode_singular_values(w, 1).size(), 6u);
}

}  // namespace
}  // namespace leancnn::compress::decompose
