// XOR-popcount rows with AVX2: the vpshufb nibble lookup (Mula, Kurz, Lemire 2018), byte counts
// added in bytes and summed by vpsadbw into 64-bit lanes; the tail words through a masked load.
// A patch of up to 36 words (nine vectors) stays in registers while two filter rows stream past it.
#include <immintrin.h>

#include <algorithm>

#include "xnor_kernels.h"

namespace leancnn::kernels::binary {

namespace {
inline __m256i popcount_bytes(__m256i v) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3,
                                       2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_and_si256(v, low);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

inline __m256i vector_mask(int64_t words, int64_t v) {
  const int64_t left = words - 4 * v;
  return _mm256_setr_epi64x(left > 0 ? -1 : 0, left > 1 ? -1 : 0, left > 2 ? -1 : 0, left > 3 ? -1 : 0);
}

inline __m256i load(const uint64_t* p, __m256i mask, bool full) {
  return full ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))
              : _mm256_maskload_epi64(reinterpret_cast<const long long*>(p), mask);
}

inline uint64_t lane_sum(__m256i v) {
  const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return static_cast<uint64_t>(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
}

void rows_general(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out) {
  const int64_t nv = (words + 3) / 4;
  const __m256i tail = vector_mask(words, nv - 1);
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t* wp = w + r * words;
    __m256i acc = _mm256_setzero_si256();
    // Byte counts reach at most 8 per vector, so up to 31 vectors add in bytes before vpsadbw.
    for (int64_t v0 = 0; v0 < nv; v0 += 31) {
      __m256i bytes = _mm256_setzero_si256();
      for (int64_t v = v0; v < std::min(nv, v0 + 31); ++v) {
        const bool full = 4 * v + 4 <= words;
        bytes = _mm256_add_epi8(bytes, popcount_bytes(_mm256_xor_si256(load(a + 4 * v, tail, full), load(wp + 4 * v, tail, full))));
      }
      acc = _mm256_add_epi64(acc, _mm256_sad_epu8(bytes, _mm256_setzero_si256()));
    }
    out[r] = static_cast<int32_t>(lane_sum(acc));
  }
}

template <int NV>
void rows_in_registers(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out) {
  const __m256i tail = vector_mask(words, NV - 1);
  const bool last_full = 4 * NV == words;
  __m256i p[NV];
  for (int v = 0; v < NV; ++v) p[v] = load(a + 4 * v, tail, v + 1 < NV || last_full);
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    __m256i b0 = _mm256_setzero_si256(), b1 = _mm256_setzero_si256();
    const uint64_t* w0 = w + r * words;
    const uint64_t* w1 = w0 + words;
    for (int v = 0; v < NV; ++v) {
      const bool full = v + 1 < NV || last_full;
      b0 = _mm256_add_epi8(b0, popcount_bytes(_mm256_xor_si256(p[v], load(w0 + 4 * v, tail, full))));
      b1 = _mm256_add_epi8(b1, popcount_bytes(_mm256_xor_si256(p[v], load(w1 + 4 * v, tail, full))));
    }
    // Row totals are below 2^32: the two rows share one horizontal sum.
    const __m256i s0 = _mm256_sad_epu8(b0, _mm256_setzero_si256());
    const __m256i s1 = _mm256_sad_epu8(b1, _mm256_setzero_si256());
    const uint64_t s = lane_sum(_mm256_or_si256(s0, _mm256_slli_epi64(s1, 32)));
    out[r] = static_cast<int32_t>(s & 0xffffffffu);
    out[r + 1] = static_cast<int32_t>(s >> 32);
  }
  if (r < rows) rows_general(a, w + r * words, words, rows - r, out + r);
}
}  // namespace

void xor_popcount_rows_avx2(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out) {
  switch ((words + 3) / 4) {
    case 1: return rows_in_registers<1>(a, w, words, rows, out);
    case 2: return rows_in_registers<2>(a, w, words, rows, out);
    case 3: return rows_in_registers<3>(a, w, words, rows, out);
    case 4: return rows_in_registers<4>(a, w, words, rows, out);
    case 5: return rows_in_registers<5>(a, w, words, rows, out);
    case 6: return rows_in_registers<6>(a, w, words, rows, out);
    case 7: return rows_in_registers<7>(a, w, words, rows, out);
    case 8: return rows_in_registers<8>(a, w, words, rows, out);
    case 9: return rows_in_registers<9>(a, w, words, rows, out);
    default: return rows_general(a, w, words, rows, out);
  }
}

}  // namespace leancnn::kernels::binary
