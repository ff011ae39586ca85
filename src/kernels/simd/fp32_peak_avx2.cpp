// fp32_peak.h's loop for AVX2 + FMA: 12 chains of 8-lane FMAs; compiled with -mavx2 -mfma and
// reached only through run-time dispatch.
#include "simd/fp32_peak.h"
#include "simd/vec_f32_avx2.h"

namespace leancnn::kernels::simd {

double fma_loop_avx2(int64_t iterations) { return fma_loop<Avx2, 12>(iterations); }

}  // namespace leancnn::kernels::simd
