// fp32_peak.h's loop for AVX2: 12 independent chains of 8-lane FMAs (enough to cover the FMA
// latency times two FMA units), compiled for its ISA and reached only through run-time dispatch.
#include <immintrin.h>

#include "simd/fp32_peak.h"

namespace leancnn::kernels::simd {

double fma_loop_avx2(int64_t iterations) {
  __m256 acc[12];
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (int64_t k = 0; k < iterations; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 sum = acc[0];
#pragma GCC unroll 12
  for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
  volatile float sink = _mm256_cvtss_f32(sum);  // keeps the loop
  (void)sink;
  return 2.0 * 12 * 8 * static_cast<double>(iterations);
}

}  // namespace leancnn::kernels::simd
