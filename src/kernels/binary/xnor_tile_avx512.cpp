// XOR-popcount tiles with AVX-512 VPOPCNTDQ (xnor_kernels.h): a zmm holds the words of eight
// output channels' filters; each patch word is broadcast against two such vectors (16 output
// channels) for up to eight patches at once, sixteen accumulators of per-channel counts. The sign
// packing needs AVX-512 BW (vpmovwb, vpmovb2m) as well.
#include <immintrin.h>

#include <algorithm>

#include "leancnn/ops/binary_net.h"
#include "xnor_kernels.h"
#include "xnor_store.h"

namespace leancnn::kernels::binary {

namespace {

// Counts of eight output channels for patch p -> their outputs (xnor_kernels.h).
inline __m256 value(const TileArgs& t, int p, int64_t oc, __m512i d) {
  if (t.outside[p]) d = _mm512_sub_epi64(d, _mm512_loadu_si512(t.outside[p] + oc));
  const __m512i dot = _mm512_sub_epi64(_mm512_set1_epi64(t.valid[p]), _mm512_add_epi64(d, d));
  __m256 f = _mm256_cvtepi32_ps(_mm512_maskz_cvtepi64_epi32(0xff, dot));  // |dot| < 2^24: exact; maskz: g++ 12 warns on the plain one
  f = _mm256_mul_ps(f, _mm256_loadu_ps(t.alpha + oc));
  f = _mm256_mul_ps(f, _mm256_set1_ps(t.beta));
  return _mm256_add_ps(f, _mm256_loadu_ps(t.bias + oc));
}

template <int P>
inline void finish(const TileArgs& t, int64_t oc, const __m512i (&d)[P]) {
  __m256 f[P];
  for (int p = 0; p < P; ++p) f[p] = value(t, p, oc, d[p]);
  store_channels<P>(t.out + oc * t.out_stride, t.out_stride, t.oc_out - oc, f);
}

// B blocks of eight output channels from oc on, for P patches: P x B accumulators.
template <int P, int B>
inline void blocks(const TileArgs& t, int64_t oc) {
  const uint64_t* patches = t.patches;
  const uint64_t* filters = t.filters + oc;
  const int64_t words = t.words, ocp = t.ocp;
  __m512i acc[B][P];
  for (int b = 0; b < B; ++b)
    for (int p = 0; p < P; ++p) acc[b][p] = _mm512_setzero_si512();
  for (int64_t w = 0; w < words; ++w) {
    __m512i f[B];
    for (int b = 0; b < B; ++b) f[b] = _mm512_loadu_si512(filters + w * ocp + b * kOcBlock);
    for (int p = 0; p < P; ++p) {
      const __m512i a = _mm512_set1_epi64(static_cast<long long>(patches[p * words + w]));
      for (int b = 0; b < B; ++b) acc[b][p] = _mm512_add_epi64(acc[b][p], _mm512_popcnt_epi64(_mm512_xor_si512(a, f[b])));
    }
  }
  for (int b = 0; b < B; ++b) finish<P>(t, oc + b * kOcBlock, acc[b]);
}

template <int P>
void tile(const TileArgs& t) {
  constexpr int B = 2;  // 16 accumulators with P = 8 (three blocks measured no faster)
  int64_t oc = 0;
  for (; oc + B * kOcBlock <= t.ocp; oc += B * kOcBlock) blocks<P, B>(t, oc);
  for (; oc < t.ocp; oc += kOcBlock) blocks<P, 1>(t, oc);
}

}  // namespace

void pack_signs_avx512(const float* src, int64_t ic, int64_t plane, int64_t cw, uint64_t* out) {
  const __m512 zero = _mm512_setzero_ps();
  if (plane == 1) {  // one pixel (fully connected): its channels are contiguous
    for (int64_t c = 0; c < ic; c += 16) {
      const __mmask16 m = ic - c >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (ic - c)) - 1u);
      const __mmask16 ge = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, src + c), zero, _CMP_GE_OQ);
      out[c / 64] |= static_cast<uint64_t>(static_cast<uint16_t>(ge)) << (c % 64);
    }
    return;
  }
  alignas(64) uint16_t m[64];
  for (int64_t c0 = 0; c0 < ic; c0 += 64) {
    const int64_t nc = std::min<int64_t>(64, ic - c0);
    for (int64_t i0 = 0; i0 < plane; i0 += 16) {
      const int64_t np = std::min<int64_t>(16, plane - i0);
      const __mmask16 pm = static_cast<__mmask16>((1u << np) - 1u);
      for (int64_t c = 0; c < 64; ++c) {  // m[c]: bit k = sign of pixel i0 + k, channel c0 + c
        if (c >= nc) {
          m[c] = 0;
          continue;
        }
        const __m512 v = _mm512_maskz_loadu_ps(pm, src + (c0 + c) * plane + i0);
        m[c] = static_cast<uint16_t>(_mm512_mask_cmp_ps_mask(pm, v, zero, _CMP_GE_OQ));
      }
      // Byte c of lo (hi): the signs of pixels i0 .. i0 + 7 (i0 + 8 ..) of channel c0 + c.
      // (The maskz forms with all-ones masks: g++ 12 warns on the plain ones' undefined sources.)
      const __m512i w0 = _mm512_load_si512(m), w1 = _mm512_load_si512(m + 32);
      const auto bytes = [](__m512i a, __m512i b) {  // the low bytes of a's then b's 16-bit lanes
        const __m512i low = _mm512_maskz_inserti64x4(0xff, _mm512_setzero_si512(), _mm512_maskz_cvtepi16_epi8(~0u, a), 0);
        return _mm512_maskz_inserti64x4(0xff, low, _mm512_maskz_cvtepi16_epi8(~0u, b), 1);
      };
      const __m512i lo = bytes(w0, w1), hi = bytes(_mm512_srli_epi16(w0, 8), _mm512_srli_epi16(w1, 8));
      // Bit k of every byte to its top (a shift within the byte for k <= 7), then the tops.
      uint64_t* word = out + i0 * cw + c0 / 64;
      for (int64_t k = 0; k < np; ++k) {
        const __m512i b = k < 8 ? _mm512_maskz_slli_epi64(0xff, lo, static_cast<unsigned>(7 - k))
                                : _mm512_maskz_slli_epi64(0xff, hi, static_cast<unsigned>(15 - k));
        word[k * cw] = _cvtmask64_u64(_mm512_movepi8_mask(b));
      }
    }
  }
}

float mean_abs_avx512(const float* x, int64_t n) {
  if (n <= 0) return 0.f;
  // Lane k of acc[j]: partial sum 8 j + k of ops::mean_abs_scale (elements i % 32 == 8 j + k).
  __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
  int64_t i = 0;
  for (; i + ops::kMeanAbsParts <= n; i += ops::kMeanAbsParts)
    for (int j = 0; j < 4; ++j)  // maskz: g++ 12 warns on the plain conversion
      acc[j] = _mm512_add_pd(acc[j], _mm512_abs_pd(_mm512_maskz_cvtps_pd(0xff, _mm256_loadu_ps(x + i + 8 * j))));
  alignas(64) double part[ops::kMeanAbsParts];
  for (int j = 0; j < 4; ++j) _mm512_store_pd(part + 8 * j, acc[j]);
  return ops::mean_abs_finish(part, x + i, n - i, n);
}

void xor_popcount_tile_avx512(const TileArgs& t) {
  switch (t.npatch) {
    case 8: return tile<8>(t);
    case 7: return tile<7>(t);
    case 6: return tile<6>(t);
    case 5: return tile<5>(t);
    case 4: return tile<4>(t);
    case 3: return tile<3>(t);
    case 2: return tile<2>(t);
    default: return tile<1>(t);
  }
}

}  // namespace leancnn::kernels::binary
