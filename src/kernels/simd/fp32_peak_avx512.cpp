// fp32_peak.h's loop for AVX512: 24 independent chains of 16-lane FMAs (enough to cover the FMA
// latency times two FMA units), compiled for its ISA and reached only through run-time dispatch.
#include <immintrin.h>

#include "simd/fp32_peak.h"

namespace leancnn::kernels::simd {

double fma_loop_avx512(int64_t iterations) {
  __m512 acc[24];
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
#pragma GCC unroll 24
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (int64_t k = 0; k < iterations; ++k) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 sum = acc[0];
#pragma GCC unroll 24
  for (int i = 1; i < 24; ++i) sum = _mm512_add_ps(sum, acc[i]);
  volatile float sink = _mm512_cvtss_f32(sum);  // keeps the loop
  (void)sink;
  return 2.0 * 24 * 16 * static_cast<double>(iterations);
}

}  // namespace leancnn::kernels::simd
