// XOR-popcount tiles with AVX-512 VPOPCNTDQ (xnor_kernels.h): a zmm holds the words of eight
// output channels' filters; each patch word is broadcast against two such vectors (16 output
// channels) for up to four patches at once, eight accumulators of per-channel counts.
#include <immintrin.h>

#include "xnor_kernels.h"

namespace leancnn::kernels::binary {

namespace {

// Counts of eight output channels for patch p -> their outputs (xnor_kernels.h).
inline void finish(const TileArgs& t, int p, int64_t oc, __m512i d) {
  if (t.outside) d = _mm512_sub_epi64(d, _mm512_loadu_si512(t.outside + p * t.ocp + oc));
  const __m512i dot = _mm512_sub_epi64(_mm512_set1_epi64(t.valid[p]), _mm512_add_epi64(d, d));
  __m256 f = _mm256_cvtepi32_ps(_mm512_maskz_cvtepi64_epi32(0xff, dot));  // |dot| < 2^24: exact; maskz: g++ 12 warns on the plain one
  f = _mm256_mul_ps(f, _mm256_loadu_ps(t.alpha + oc));
  f = _mm256_mul_ps(f, _mm256_set1_ps(t.beta));
  f = _mm256_add_ps(f, _mm256_loadu_ps(t.bias + oc));
  _mm256_storeu_ps(t.out + p * t.ocp + oc, f);
}

template <int P>
void tile(const TileArgs& t) {
  const uint64_t* patches = t.patches;
  const uint64_t* filters = t.filters;
  const int64_t words = t.words, ocp = t.ocp;
  int64_t oc = 0;
  for (; oc + 2 * kOcBlock <= ocp; oc += 2 * kOcBlock) {
    __m512i acc[P][2];
    for (int p = 0; p < P; ++p) acc[p][0] = acc[p][1] = _mm512_setzero_si512();
    for (int64_t w = 0; w < words; ++w) {
      const __m512i f0 = _mm512_loadu_si512(filters + w * ocp + oc);
      const __m512i f1 = _mm512_loadu_si512(filters + w * ocp + oc + kOcBlock);
      for (int p = 0; p < P; ++p) {
        const __m512i a = _mm512_set1_epi64(static_cast<long long>(patches[p * words + w]));
        acc[p][0] = _mm512_add_epi64(acc[p][0], _mm512_popcnt_epi64(_mm512_xor_si512(a, f0)));
        acc[p][1] = _mm512_add_epi64(acc[p][1], _mm512_popcnt_epi64(_mm512_xor_si512(a, f1)));
      }
    }
    for (int p = 0; p < P; ++p) {
      finish(t, p, oc, acc[p][0]);
      finish(t, p, oc + kOcBlock, acc[p][1]);
    }
  }
  if (oc < ocp) {  // one block of eight left
    __m512i acc[P];
    for (int p = 0; p < P; ++p) acc[p] = _mm512_setzero_si512();
    for (int64_t w = 0; w < words; ++w) {
      const __m512i f = _mm512_loadu_si512(filters + w * ocp + oc);
      for (int p = 0; p < P; ++p)
        acc[p] = _mm512_add_epi64(acc[p], _mm512_popcnt_epi64(_mm512_xor_si512(
                                              _mm512_set1_epi64(static_cast<long long>(patches[p * words + w])), f)));
    }
    for (int p = 0; p < P; ++p) finish(t, p, oc, acc[p]);
  }
}

}  // namespace

void pack_signs_avx512(const float* src, int64_t ic, int64_t plane, int64_t cw, uint64_t* out) {
  const __m512i lanes = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(static_cast<int>(plane)));
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t c0 = 0; c0 < ic; c0 += 16) {
    const int64_t left = ic - c0;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
    const float* base = src + c0 * plane;
    uint64_t* word = out + c0 / 64;
    const int shift = static_cast<int>(c0 % 64);
    for (int64_t i = 0; i < plane; ++i) {
      const __m512 v = _mm512_mask_i32gather_ps(zero, m, lanes, base + i, 4);
      const __mmask16 ge = _mm512_mask_cmp_ps_mask(m, v, zero, _CMP_GE_OQ);
      word[i * cw] |= static_cast<uint64_t>(static_cast<uint16_t>(ge)) << shift;
    }
  }
}

void xor_popcount_tile_avx512(const TileArgs& t) {
  switch (t.npatch) {
    case 4: return tile<4>(t);
    case 3: return tile<3>(t);
    case 2: return tile<2>(t);
    default: return tile<1>(t);
  }
}

}  // namespace leancnn::kernels::binary
