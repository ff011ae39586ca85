// AVX2 micro-kernels of the exact s16 int8 GEMM (s16_gemm.h): a 6 x 16 vpmaddwd tile, the
// requantizing store, and the u8/s8 -> s16 widening. Compiled with -mavx2 (and
// -ffp-contract=off: the requantization's add and multiply must round separately, as
// ops::requantize does); reached only through run-time dispatch on CPUs with AVX2.
#include <immintrin.h>

#include <cstring>

#include "s16_gemm.h"

namespace leancnn::kernels::int8::avx2 {

namespace {
inline __m256i broadcast_pair(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

// R rows x 16 columns. The 2R accumulators are named variables, not an array: GCC keeps them in
// registers then (12 accumulators + 2 weight vectors + a broadcast + a product = 16 ymm), while
// an array of them spills every iteration (measured: 48 vs 85 GMAC/s for 6 rows).
template <int R>
void tile_rows(int64_t kp, const int16_t* a, int64_t lda, const int16_t* b, int32_t* tile, bool accumulate) {
  auto* t = reinterpret_cast<__m256i*>(tile);
  auto init = [&](int i) { return accumulate && i / 2 < R ? _mm256_loadu_si256(t + i) : _mm256_setzero_si256(); };
  __m256i c00 = init(0), c01 = init(1), c10 = init(2), c11 = init(3), c20 = init(4), c21 = init(5), c30 = init(6),
          c31 = init(7), c40 = init(8), c41 = init(9), c50 = init(10), c51 = init(11);
#define LEANCNN_S16_ROW(r)                                                  \
  if constexpr (R > r) {                                                    \
    const __m256i av = broadcast_pair(a + r * lda + 2 * p);                 \
    c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(av, b0));        \
    c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(av, b1));        \
  }
  for (int64_t p = 0; p < kp / 2; ++p) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p * 2 * kPanel));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p * 2 * kPanel + 16));
    LEANCNN_S16_ROW(0)
    LEANCNN_S16_ROW(1)
    LEANCNN_S16_ROW(2)
    LEANCNN_S16_ROW(3)
    LEANCNN_S16_ROW(4)
    LEANCNN_S16_ROW(5)
  }
#undef LEANCNN_S16_ROW
#define LEANCNN_S16_STORE(r)                 \
  if constexpr (R > r) {                     \
    _mm256_storeu_si256(t + 2 * r, c##r##0);     \
    _mm256_storeu_si256(t + 2 * r + 1, c##r##1); \
  }
  LEANCNN_S16_STORE(0)
  LEANCNN_S16_STORE(1)
  LEANCNN_S16_STORE(2)
  LEANCNN_S16_STORE(3)
  LEANCNN_S16_STORE(4)
  LEANCNN_S16_STORE(5)
#undef LEANCNN_S16_STORE
}

// 16 int32 (already within the output type's range) -> 16 bytes, saturating (u8 or s8).
inline __m128i pack16(__m256i lo, __m256i hi, bool u8) {
  const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
  const __m128i w0 = _mm256_castsi256_si128(w), w1 = _mm256_extracti128_si256(w, 1);
  return u8 ? _mm_packus_epi16(w0, w1) : _mm_packs_epi16(w0, w1);
}
}  // namespace

void gemm_tile(int rows, int64_t kp, const int16_t* a, int64_t lda, const int16_t* panel, int32_t* tile, bool accumulate) {
  switch (rows) {
    case 1: return tile_rows<1>(kp, a, lda, panel, tile, accumulate);
    case 2: return tile_rows<2>(kp, a, lda, panel, tile, accumulate);
    case 3: return tile_rows<3>(kp, a, lda, panel, tile, accumulate);
    case 4: return tile_rows<4>(kp, a, lda, panel, tile, accumulate);
    case 5: return tile_rows<5>(kp, a, lda, panel, tile, accumulate);
    default: return tile_rows<6>(kp, a, lda, panel, tile, accumulate);
  }
}

void store_tile(const int32_t* tile, int rows, int cols, const Requant& q, int64_t col0, void* dst,
                int64_t row_stride, int64_t col_stride) {
  const __m256 bias0 = _mm256_loadu_ps(q.bias.data() + col0), bias1 = _mm256_loadu_ps(q.bias.data() + col0 + 8);
  const __m256 mult0 = _mm256_loadu_ps(q.mult.data() + col0), mult1 = _mm256_loadu_ps(q.mult.data() + col0 + 8);
  const bool f32 = q.y == DType::f32, u8 = q.y == DType::u8;
  const bool dense = col_stride == 1 && cols == kPanel;
  for (int r = 0; r < rows; ++r) {
    __m256 v0 = _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile + r * kPanel)));
    __m256 v1 = _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile + r * kPanel + 8)));
    v0 = _mm256_mul_ps(_mm256_add_ps(v0, bias0), mult0);
    v1 = _mm256_mul_ps(_mm256_add_ps(v1, bias1), mult1);
    if (f32) {
      if (q.relu) {
        // std::max(v, 0.f) is (v < 0) ? 0 : v, which keeps a -0 (maxps would return +0).
        const __m256 zero = _mm256_setzero_ps();
        v0 = _mm256_blendv_ps(v0, zero, _mm256_cmp_ps(v0, zero, _CMP_LT_OQ));
        v1 = _mm256_blendv_ps(v1, zero, _mm256_cmp_ps(v1, zero, _CMP_LT_OQ));
      }
      float* out = static_cast<float*>(dst) + r * row_stride;
      if (dense) {
        _mm256_storeu_ps(out, v0);
        _mm256_storeu_ps(out + 8, v1);
      } else {
        alignas(32) float tmp[kPanel];
        _mm256_store_ps(tmp, v0);
        _mm256_store_ps(tmp + 8, v1);
        for (int c = 0; c < cols; ++c) out[c * col_stride] = tmp[c];
      }
      continue;
    }
    const __m256 zp = _mm256_set1_ps(q.y_zp), lo = _mm256_set1_ps(q.lo), hi = _mm256_set1_ps(q.hi);
    // Max first, then min (Clip's order), then round half to even (MXCSR's default mode).
    v0 = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v0, zp), lo), hi);
    v1 = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v1, zp), lo), hi);
    const __m128i bytes = pack16(_mm256_cvtps_epi32(v0), _mm256_cvtps_epi32(v1), u8);
    auto* out = static_cast<uint8_t*>(dst) + r * row_stride;
    if (dense) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
    } else {
      alignas(16) uint8_t tmp[kPanel];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
      for (int c = 0; c < cols; ++c) out[c * col_stride] = tmp[c];
    }
  }
}

void widen_u8(const uint8_t* src, int64_t n, int32_t zp, int16_t* dst) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  auto sixteen = [&](int64_t i) {
    const __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_sub_epi16(v, z));
  };
  if (n < 16) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<int16_t>(src[i] - zp);
    return;
  }
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) sixteen(i);
  if (i < n) sixteen(n - 16);  // the tail as one overlapping vector (same values written twice)
}

void widen_s8(const int8_t* src, int64_t n, int32_t zp, int16_t* dst) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  auto sixteen = [&](int64_t i) {
    const __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_sub_epi16(v, z));
  };
  if (n < 16) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<int16_t>(src[i] - zp);
    return;
  }
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) sixteen(i);
  if (i < n) sixteen(n - 16);  // the tail as one overlapping vector (same values written twice)
}

}  // namespace leancnn::kernels::int8::avx2
