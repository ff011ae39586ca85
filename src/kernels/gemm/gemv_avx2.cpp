// The row products of cpu_gemv_f32 (gemv.cpp) for AVX2 + FMA; compiled with -mavx2 -mfma and
// reached only through run-time dispatch.
#include <immintrin.h>

#include "gemv.h"

namespace leancnn::kernels::gemv {
namespace {

float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// y[i][j] = sum_p a[i][p] * b[j][p] for R rows of A against one row of B: four accumulators per
// row of A over 32 floats per step, then the tail one float at a time.
template <int R>
void row(const float* a, int64_t lda, const float* bj, int64_t k, float* y, int64_t ldy) {
  __m256 acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int u = 0; u < 4; ++u) acc[r][u] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 32 <= k; p += 32)
    for (int u = 0; u < 4; ++u) {
      const __m256 w = _mm256_loadu_ps(bj + p + 8 * u);
      for (int r = 0; r < R; ++r) acc[r][u] = _mm256_fmadd_ps(_mm256_loadu_ps(a + r * lda + p + 8 * u), w, acc[r][u]);
    }
  for (int r = 0; r < R; ++r) {
    float s = hsum(_mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3])));
    for (int64_t q = p; q < k; ++q) s += a[r * lda + q] * bj[q];
    y[r * ldy] = s;
  }
}

}  // namespace

void rows_avx2(const Args& x, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; ++j) {
    const float* bj = x.b + j * x.k;
    int64_t i = 0;
    for (; i + 4 <= x.m; i += 4) row<4>(x.a + i * x.k, x.k, bj, x.k, x.y + i * x.n + j, x.n);
    for (; i < x.m; ++i) row<1>(x.a + i * x.k, x.k, bj, x.k, x.y + i * x.n + j, x.n);
  }
}

}  // namespace leancnn::kernels::gemv
