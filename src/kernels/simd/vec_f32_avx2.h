// fp32 vector traits for AVX2 + FMA (8 floats per vector), the type the kernels' SIMD code is
// written over (winograd_simd.h, inverted_residual_simd.h). Include only from *_avx2.cpp files
// (compiled with -mavx2 -mfma, reached through run-time dispatch); internal linkage, so a
// function of it compiled for AVX2 never stands in for a baseline one.
#pragma once
#include <immintrin.h>

namespace leancnn::kernels::simd {
namespace {
struct Avx2 {
  using V = __m256;
  static constexpr int W = 8;
  static constexpr int MR = 6;  // GEMM micro-kernel rows: 12 accumulators + 2 weight vectors + 1 broadcast of 16
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static __m256i mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static V load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store_n(float* p, V v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }    // a * b + c
  static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a * b
};
}  // namespace
}  // namespace leancnn::kernels::simd
