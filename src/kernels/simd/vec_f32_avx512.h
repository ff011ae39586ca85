// fp32 vector traits for AVX-512F (16 floats per vector), the type the kernels' SIMD code is
// written over (winograd_simd.h, inverted_residual_simd.h). Include only from *_avx512.cpp
// files (compiled with -mavx512f, reached through run-time dispatch); internal linkage, so a
// function of it compiled for AVX-512 never stands in for another file's.
#pragma once
#include <immintrin.h>

namespace leancnn::kernels::simd {
namespace {
struct Avx512 {
  using V = __m512;
  static constexpr int W = 16;
  static constexpr int MR = 12;  // GEMM micro-kernel rows with two weight vectors: 24 of 32 registers accumulate
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static V load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store_n(float* p, V v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  // maskz forms: GCC 12's plain _mm512_max_ps/_mm512_min_ps trip -Wmaybe-uninitialized (_mm512_undefined_ps)
  static V max(V a, V b) { return _mm512_maskz_max_ps(0xFFFF, a, b); }
  static V min(V a, V b) { return _mm512_maskz_min_ps(0xFFFF, a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }    // a * b + c
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a * b
};
}  // namespace
}  // namespace leancnn::kernels::simd
