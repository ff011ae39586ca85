// XOR-popcount tiles with AVX2 (xnor_kernels.h): four ymm hold the low and high nibbles of eight
// output channels' filter words (split at prepare); each patch word's nibbles are broadcast
// against them for up to four patches at once. Without VPOPCNTQ the counts come from the vpshufb
// nibble lookup (Mula, Kurz, Lemire 2018) added in bytes (at most 8 per word, so 31 words fit a
// byte) and widened by vpsadbw into 64-bit lanes.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "leancnn/ops/binary_net.h"
#include "xnor_kernels.h"
#include "xnor_store.h"

namespace leancnn::kernels::binary {

namespace {

// Counts of eight output channels (two vectors of four) for patch p -> their outputs.
inline __m256 value(const TileArgs& t, int p, int64_t oc, __m256i d0, __m256i d1) {
  if (t.outside[p]) {
    d0 = _mm256_sub_epi64(d0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.outside[p] + oc)));
    d1 = _mm256_sub_epi64(d1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.outside[p] + oc + 4)));
  }
  const __m256i v = _mm256_set1_epi64x(t.valid[p]);
  const __m256i dot0 = _mm256_sub_epi64(v, _mm256_add_epi64(d0, d0)), dot1 = _mm256_sub_epi64(v, _mm256_add_epi64(d1, d1));
  // The low 32 bits of each 64-bit lane (|dot| < 2^24), in channel order.
  const __m256 lo = _mm256_shuffle_ps(_mm256_castsi256_ps(dot0), _mm256_castsi256_ps(dot1), _MM_SHUFFLE(2, 0, 2, 0));
  const __m256i dot = _mm256_permute4x64_epi64(_mm256_castps_si256(lo), _MM_SHUFFLE(3, 1, 2, 0));
  __m256 f = _mm256_cvtepi32_ps(dot);
  f = _mm256_mul_ps(f, _mm256_loadu_ps(t.alpha + oc));
  f = _mm256_mul_ps(f, _mm256_set1_ps(t.beta));
  return _mm256_add_ps(f, _mm256_loadu_ps(t.bias + oc));
}

// popcount(a ^ f) = lut[(a ^ f) & 15] + lut[(a ^ f) >> 4 & 15] per byte, and the nibbles of
// a ^ f are those of a xor those of f: split once (the patch words per tile, the filters at
// prepare), each byte count is then two xors, two lookups and two adds.
template <int P>
void tile(const TileArgs& t) {
  const uint64_t* filters = t.filter_nibbles;
  const int64_t words = t.words, ocp = t.ocp;
  const __m256i zero = _mm256_setzero_si256();
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3,
                                       2, 3, 3, 4);
  // The patch words' nibbles: lo[p * words + w], hi[...].
  thread_local std::vector<uint64_t> nib;
  nib.resize(static_cast<size_t>(2 * P * words));
  uint64_t* lo = nib.data();
  uint64_t* hi = lo + P * words;
  for (int64_t i = 0; i < P * words; ++i) {
    const uint64_t a = t.patches[i];
    lo[i] = a & 0x0f0f0f0f0f0f0f0full;
    hi[i] = (a >> 4) & 0x0f0f0f0f0f0f0f0full;
  }
  const auto count = [&](__m256i a_lo, __m256i a_hi, __m256i f_lo, __m256i f_hi) {
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_xor_si256(a_lo, f_lo)),
                           _mm256_shuffle_epi8(lut, _mm256_xor_si256(a_hi, f_hi)));
  };
  for (int64_t oc = 0; oc < ocp; oc += kOcBlock) {
    __m256i acc[P][2];
    for (int p = 0; p < P; ++p) acc[p][0] = acc[p][1] = zero;
    for (int64_t w0 = 0; w0 < words; w0 += 31) {  // at most 8 per byte per word: 31 words fit
      __m256i bytes[P][2];
      for (int p = 0; p < P; ++p) bytes[p][0] = bytes[p][1] = zero;
      for (int64_t w = w0; w < std::min(words, w0 + 31); ++w) {
        const uint64_t* fl = filters + 2 * w * ocp + oc;  // low nibbles; the high ones ocp on
        const __m256i f0l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(fl));
        const __m256i f1l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(fl + 4));
        const __m256i f0h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(fl + ocp));
        const __m256i f1h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(fl + ocp + 4));
        for (int p = 0; p < P; ++p) {
          const __m256i al = _mm256_set1_epi64x(static_cast<long long>(lo[p * words + w]));
          const __m256i ah = _mm256_set1_epi64x(static_cast<long long>(hi[p * words + w]));
          bytes[p][0] = _mm256_add_epi8(bytes[p][0], count(al, ah, f0l, f0h));
          bytes[p][1] = _mm256_add_epi8(bytes[p][1], count(al, ah, f1l, f1h));
        }
      }
      for (int p = 0; p < P; ++p)
        for (int h = 0; h < 2; ++h) acc[p][h] = _mm256_add_epi64(acc[p][h], _mm256_sad_epu8(bytes[p][h], zero));
    }
    __m256 f[P];
    for (int p = 0; p < P; ++p) f[p] = value(t, p, oc, acc[p][0], acc[p][1]);
    store_channels<P>(t.out + oc * t.out_stride, t.out_stride, t.oc_out - oc, f);
  }
}

}  // namespace

void pack_signs_avx2(const float* src, int64_t ic, int64_t plane, int64_t cw, uint64_t* out) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  if (plane == 1) {  // one pixel (fully connected): its channels are contiguous
    for (int64_t c = 0; c < ic; c += 8) {
      const int64_t n = std::min<int64_t>(8, ic - c);
      const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane);
      const int bits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_maskload_ps(src + c, m), zero, _CMP_GE_OQ)) & ((1 << n) - 1);
      out[c / 64] |= static_cast<uint64_t>(static_cast<uint32_t>(bits)) << (c % 64);
    }
    return;
  }
  alignas(32) uint8_t m[32];
  for (int64_t c0 = 0; c0 < ic; c0 += 32) {
    const int64_t nc = std::min<int64_t>(32, ic - c0);
    for (int64_t i0 = 0; i0 < plane; i0 += 8) {
      const int64_t np = std::min<int64_t>(8, plane - i0);
      const __m256i pm = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(np)), lane);
      const int bits = (1 << np) - 1;  // masked-off lanes load 0.0f, whose sign bit would be 1
      for (int64_t c = 0; c < 32; ++c)  // m[c]: bit k = sign of pixel i0 + k, channel c0 + c
        m[c] = c < nc ? static_cast<uint8_t>(
                            _mm256_movemask_ps(_mm256_cmp_ps(_mm256_maskload_ps(src + (c0 + c) * plane + i0, pm), zero, _CMP_GE_OQ)) & bits)
                      : 0;
      // Bit k of every byte to its top (a shift within the byte), then the tops: 32 channels.
      const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
      uint64_t* word = out + i0 * cw + c0 / 64;
      const int shift = static_cast<int>(c0 % 64);
      for (int64_t k = 0; k < np; ++k)
        word[k * cw] |= static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_slli_epi64(v, static_cast<int>(7 - k)))))
                        << shift;
    }
  }
}

float mean_abs_avx2(const float* x, int64_t n) {
  if (n <= 0) return 0.f;
  // Lane k of acc[j]: partial sum 4 j + k of ops::mean_abs_scale (elements i % 32 == 4 j + k).
  const __m256d sign = _mm256_set1_pd(-0.0);
  __m256d acc[8];
  for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + ops::kMeanAbsParts <= n; i += ops::kMeanAbsParts)
    for (int j = 0; j < 8; ++j)
      acc[j] = _mm256_add_pd(acc[j], _mm256_andnot_pd(sign, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * j))));
  alignas(32) double part[ops::kMeanAbsParts];
  for (int j = 0; j < 8; ++j) _mm256_store_pd(part + 4 * j, acc[j]);
  return ops::mean_abs_finish(part, x + i, n - i, n);
}

void xor_popcount_tile_avx2(const TileArgs& t) {
  if (t.npatch > 4) {  // two calls: sixteen ymm registers hold four patches' counts, not eight
    TileArgs rest = t;
    rest.patches += 4 * t.words;
    rest.npatch -= 4;
    for (int p = 0; p < 4; ++p) rest.outside[p] = t.outside[p + 4];
    rest.valid += 4;
    rest.out += 4;
    tile<4>(t);
    xor_popcount_tile_avx2(rest);
    return;
  }
  switch (t.npatch) {
    case 4: return tile<4>(t);
    case 3: return tile<3>(t);
    case 2: return tile<2>(t);
    default: return tile<1>(t);
  }
}

}  // namespace leancnn::kernels::binary
