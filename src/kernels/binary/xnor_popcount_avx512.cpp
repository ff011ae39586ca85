// XOR-popcount rows with AVX-512 VPOPCNTDQ: eight words per VPOPCNTQ, the tail by a masked load.
// A patch of up to 64 words stays in registers while four filter rows stream past it; the four
// rows' lane sums (each below 2^16) are packed into 16-bit fields of one vector, so one horizontal
// sum serves four rows.
#include <immintrin.h>

#include "xnor_kernels.h"

namespace leancnn::kernels::binary {

namespace {
// Sum of the eight 64-bit lanes, through memory: g++ 12's reduce and extract intrinsics trip
// -Wmaybe-uninitialized (their _mm256_undefined_* operand).
inline uint64_t lane_sum(__m512i v) {
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, v);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

inline __mmask8 vector_mask(int64_t words, int64_t v) {
  const int64_t left = words - 8 * v;
  return left >= 8 ? static_cast<__mmask8>(0xff) : static_cast<__mmask8>((1u << left) - 1u);
}

void rows_general(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out) {
  const int64_t nv = (words + 7) / 8;
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t* wp = w + r * words;
    __m512i acc = _mm512_setzero_si512();
    for (int64_t v = 0; v < nv; ++v) {
      const __mmask8 m = vector_mask(words, v);
      acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_maskz_loadu_epi64(m, a + 8 * v),
                                                                       _mm512_maskz_loadu_epi64(m, wp + 8 * v))));
    }
    out[r] = static_cast<int32_t>(lane_sum(acc));
  }
}

template <int NV>
void rows_in_registers(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out) {
  __m512i p[NV];
  __mmask8 m[NV];
  for (int v = 0; v < NV; ++v) {
    m[v] = vector_mask(words, v);
    p[v] = _mm512_maskz_loadu_epi64(m[v], a + 8 * v);
  }
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int v = 0; v < NV; ++v)
      for (int j = 0; j < 4; ++j)
        acc[j] = _mm512_add_epi64(
            acc[j], _mm512_popcnt_epi64(_mm512_xor_si512(p[v], _mm512_maskz_loadu_epi64(m[v], w + (r + j) * words + 8 * v))));
    // Each row's total is at most 64 * 8 * NV <= 4096 < 2^16: four rows share one lane sum.
    // The zero-masked shift: g++ 12's plain _mm512_slli_epi64 passes an _mm512_undefined_epi32()
    // operand that trips -Wmaybe-uninitialized once inlined.
    const __mmask8 all = 0xff;
    const __m512i packed = _mm512_or_si512(_mm512_or_si512(acc[0], _mm512_maskz_slli_epi64(all, acc[1], 16)),
                                           _mm512_or_si512(_mm512_maskz_slli_epi64(all, acc[2], 32),
                                                           _mm512_maskz_slli_epi64(all, acc[3], 48)));
    const uint64_t s = lane_sum(packed);
    for (int j = 0; j < 4; ++j) out[r + j] = static_cast<int32_t>((s >> (16 * j)) & 0xffffu);
  }
  if (r < rows) rows_general(a, w + r * words, words, rows - r, out + r);
}
}  // namespace

void xor_popcount_rows_avx512(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out) {
  switch ((words + 7) / 8) {
    case 1: return rows_in_registers<1>(a, w, words, rows, out);
    case 2: return rows_in_registers<2>(a, w, words, rows, out);
    case 3: return rows_in_registers<3>(a, w, words, rows, out);
    case 4: return rows_in_registers<4>(a, w, words, rows, out);
    case 5: return rows_in_registers<5>(a, w, words, rows, out);
    case 6: return rows_in_registers<6>(a, w, words, rows, out);
    case 7: return rows_in_registers<7>(a, w, words, rows, out);
    case 8: return rows_in_registers<8>(a, w, words, rows, out);
    default: return rows_general(a, w, words, rows, out);
  }
}

}  // namespace leancnn::kernels::binary
