// AVX2 QAdd (qadd.h): sixteen values per step through the reference's f32 formulas. Compiled with
// -mavx2 -ffp-contract=off (the dequantizing multiplies and the add must round separately, as
// the reference does them); the division rounds as the reference's, and cvtps2dq under the
// default rounding mode rounds half to even like its quantize_row.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "qadd.h"

namespace leancnn::kernels::int8::avx2 {

namespace {
template <bool U8>
inline __m256i load8(const uint8_t* p) {
  const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return U8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
}

struct Lanes {
  __m256 a_scale, b_scale, y_scale, lo, hi, zero;
  __m256i a_zp, b_zp, y_zp;
};

// Eight outputs as int32 codes (already within the output type's range).
template <bool AU8, bool BU8>
inline __m256i eight(const uint8_t* a, const uint8_t* b, const Lanes& l, bool relu) {
  const __m256 fa = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(load8<AU8>(a), l.a_zp)), l.a_scale);
  const __m256 fb = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(load8<BU8>(b), l.b_zp)), l.b_scale);
  __m256 s = _mm256_add_ps(fa, fb);
  if (relu) s = _mm256_max_ps(s, l.zero);  // (s > 0) ? s : +0, as the reference's relu
  __m256 v = _mm256_div_ps(s, l.y_scale);
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));  // NaN -> 0, then the zero point
  v = _mm256_min_ps(_mm256_max_ps(v, l.lo), l.hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), l.y_zp);
}

template <bool AU8, bool BU8, bool YU8>
void run(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddParams& p) {
  const int qmin = YU8 ? 0 : -128, qmax = YU8 ? 255 : 127;
  const Lanes l{_mm256_set1_ps(p.a_scale),
                _mm256_set1_ps(p.b_scale),
                _mm256_set1_ps(p.y_scale),
                _mm256_set1_ps(static_cast<float>(qmin - p.y_zp)),
                _mm256_set1_ps(static_cast<float>(qmax - p.y_zp)),
                _mm256_setzero_ps(),
                _mm256_set1_epi32(p.a_zp),
                _mm256_set1_epi32(p.b_zp),
                _mm256_set1_epi32(p.y_zp)};
  auto sixteen = [&](const uint8_t* pa, const uint8_t* pb, uint8_t* py) {
    const __m256i lo = eight<AU8, BU8>(pa, pb, l, p.relu), hi = eight<AU8, BU8>(pa + 8, pb + 8, l, p.relu);
    const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
    const __m128i w0 = _mm256_castsi256_si128(w), w1 = _mm256_extracti128_si256(w, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(py), YU8 ? _mm_packus_epi16(w0, w1) : _mm_packs_epi16(w0, w1));
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) sixteen(a + i, b + i, y + i);
  if (i < n) {  // the tail through zero-padded copies
    alignas(16) uint8_t ta[16] = {}, tb[16] = {}, ty[16];
    const size_t rest = static_cast<size_t>(n - i);
    std::memcpy(ta, a + i, rest);
    std::memcpy(tb, b + i, rest);
    sixteen(ta, tb, ty);
    std::memcpy(y + i, ty, rest);
  }
}

template <bool AU8, bool BU8>
void run_y(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddParams& p) {
  if (p.y == DType::u8)
    run<AU8, BU8, true>(a, b, y, n, p);
  else
    run<AU8, BU8, false>(a, b, y, n, p);
}

template <bool AU8>
void run_b(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddParams& p) {
  if (p.b == DType::u8)
    run_y<AU8, true>(a, b, y, n, p);
  else
    run_y<AU8, false>(a, b, y, n, p);
}
}  // namespace

void qadd(const void* a, const void* b, void* y, int64_t n, const QAddParams& p) {
  const auto* pa = static_cast<const uint8_t*>(a);
  const auto* pb = static_cast<const uint8_t*>(b);
  auto* py = static_cast<uint8_t*>(y);
  if (p.a == DType::u8)
    run_b<true>(pa, pb, py, n, p);
  else
    run_b<false>(pa, pb, py, n, p);
}

}  // namespace leancnn::kernels::int8::avx2
