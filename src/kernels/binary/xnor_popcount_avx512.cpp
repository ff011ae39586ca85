// XOR-popcount rows with AVX-512 VPOPCNTDQ: eight words per VPOPCNTQ, the tail by a masked load.
#include <immintrin.h>

#include "xnor_kernels.h"

namespace leancnn::kernels::binary {

void xor_popcount_rows_avx512(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out) {
  const int64_t full = words / 8 * 8;
  const __mmask8 tail = static_cast<__mmask8>((1u << (words - full)) - 1u);
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t* wp = w + r * words;
    __m512i acc = _mm512_setzero_si512();
    for (int64_t i = 0; i < full; i += 8)
      acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + i), _mm512_loadu_si512(wp + i))));
    if (tail)
      acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_maskz_loadu_epi64(tail, a + full),
                                                                       _mm512_maskz_loadu_epi64(tail, wp + full))));
    // Lanes summed through memory: g++ 12's reduce and extract intrinsics trip
    // -Wmaybe-uninitialized (their _mm256_undefined_* operand).
    alignas(64) int64_t lanes[8];
    _mm512_store_si512(lanes, acc);
    out[r] = static_cast<int32_t>(lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7]);
  }
}

}  // namespace leancnn::kernels::binary
