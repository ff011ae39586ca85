// AVX2 depthwise int8 convolution rows (depthwise.h). Compiled with -mavx2; reached only through
// run-time dispatch on CPUs with AVX2.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "depthwise.h"

namespace leancnn::kernels::int8::avx2 {

namespace {
// 16 activations (u8 or s8) minus the zero point, as s16; zero for a tap in the padding.
inline __m256i load16(const uint8_t* p, bool u8, __m256i zp) {
  if (!p) return _mm256_setzero_si256();
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_sub_epi16(u8 ? _mm256_cvtepu8_epi16(v) : _mm256_cvtepi8_epi16(v), zp);
}
}  // namespace

void depthwise_row(const DepthwiseGeometry& g, const PackedDepthwise& w, const Requant& q, const uint8_t* src,
                   bool src_u8, int32_t x_zp, int64_t oy, void* dst, int64_t pixel_stride, int64_t channel_stride) {
  const __m256i zp = _mm256_set1_epi16(static_cast<int16_t>(x_zp));
  const int64_t taps = g.kh * g.kw, pairs = (taps + 1) / 2;
  std::vector<const uint8_t*> tap(static_cast<size_t>(2 * pairs), nullptr);  // an odd tap's partner stays null
  std::vector<int64_t> offset(static_cast<size_t>(taps));
  for (int64_t ky = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx) offset[ky * g.kw + kx] = (ky * g.dil_h * g.iw + kx * g.dil_w) * g.c;
  const int64_t iy0 = oy * g.stride_h - g.pad_t;
  const bool rows_inside = iy0 >= 0 && iy0 + (g.kh - 1) * g.dil_h < g.ih;
  const size_t es = q.y == DType::f32 ? 4 : 1;
  alignas(32) int32_t tile[kPanel];
  alignas(16) uint8_t tail[2][kPanel] = {};
  for (int64_t ox = 0; ox < g.ow; ++ox) {
    const int64_t ix0 = ox * g.stride_w - g.pad_l;
    if (rows_inside && ix0 >= 0 && ix0 + (g.kw - 1) * g.dil_w < g.iw) {
      const uint8_t* base = src + (iy0 * g.iw + ix0) * g.c;
      for (int64_t t = 0; t < taps; ++t) tap[t] = base + offset[t];
    } else {
      for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t iy = iy0 + ky * g.dil_h, ix = ix0 + kx * g.dil_w;
          tap[ky * g.kw + kx] = iy < 0 || iy >= g.ih || ix < 0 || ix >= g.iw ? nullptr : src + (iy * g.iw + ix) * g.c;
        }
    }
    for (int64_t j = 0; j < w.blocks; ++j) {
      const int64_t c0 = j * kPanel;
      const bool partial = c0 + kPanel > g.c;  // fewer than 16 channels left: read them from a copy
      __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
      const int16_t* wp = w.pairs.data() + j * 32;
      for (int64_t p = 0; p < pairs; ++p, wp += w.blocks * 32) {
        const uint8_t* a = tap[2 * p] ? tap[2 * p] + c0 : nullptr;
        const uint8_t* b = tap[2 * p + 1] ? tap[2 * p + 1] + c0 : nullptr;
        if (partial) {
          const size_t n = static_cast<size_t>(g.c - c0);
          if (a) a = static_cast<const uint8_t*>(std::memcpy(tail[0], a, n));
          if (b) b = static_cast<const uint8_t*>(std::memcpy(tail[1], b, n));
        }
        const __m256i xa = load16(a, src_u8, zp), xb = load16(b, src_u8, zp);
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(xa, xb),
                                                     _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp))));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(xa, xb),
                                                     _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 16))));
      }
      // lo holds channels 0-3 | 8-11, hi 4-7 | 12-15: back to 0-7 | 8-15.
      _mm256_store_si256(reinterpret_cast<__m256i*>(tile), _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_store_si256(reinterpret_cast<__m256i*>(tile + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
      const int cols = static_cast<int>(partial ? g.c - c0 : kPanel);
      store_tile(tile, 1, cols, q, c0, static_cast<uint8_t*>(dst) + es * (ox * pixel_stride + c0 * channel_stride), 0,
                 channel_stride);
    }
  }
}

}  // namespace leancnn::kernels::int8::avx2
