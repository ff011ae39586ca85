// XOR-popcount rows with AVX2: the vpshufb nibble lookup (Mula, Kurz, Lemire 2018), bytes summed
// by vpsadbw into 64-bit lanes; the tail words through a masked load.
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
}  // namespace

void xor_popcount_rows_avx2(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out) {
  const int64_t full = words / 4 * 4;
  const int64_t tail = words - full;
  const __m256i tail_mask = _mm256_setr_epi64x(tail > 0 ? -1 : 0, tail > 1 ? -1 : 0, tail > 2 ? -1 : 0, 0);
  const long long* ap = reinterpret_cast<const long long*>(a);
  for (int64_t r = 0; r < rows; ++r) {
    const long long* wp = reinterpret_cast<const long long*>(w + r * words);
    __m256i acc = _mm256_setzero_si256();
    // Byte counts reach at most 8 per vector, so up to 31 vectors add in bytes before vpsadbw.
    int64_t i = 0;
    while (i < full) {
      __m256i bytes = _mm256_setzero_si256();
      const int64_t stop = std::min<int64_t>(full, i + 4 * 31);
      for (; i < stop; i += 4) {
        const __m256i x = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ap + i)),
                                           _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + i)));
        bytes = _mm256_add_epi8(bytes, popcount_bytes(x));
      }
      acc = _mm256_add_epi64(acc, _mm256_sad_epu8(bytes, _mm256_setzero_si256()));
    }
    if (tail) {
      const __m256i x = _mm256_xor_si256(_mm256_maskload_epi64(ap + full, tail_mask), _mm256_maskload_epi64(wp + full, tail_mask));
      acc = _mm256_add_epi64(acc, _mm256_sad_epu8(popcount_bytes(x), _mm256_setzero_si256()));
    }
    const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    out[r] = static_cast<int32_t>(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
  }
}

}  // namespace leancnn::kernels::binary
