// fp32_peak.h's loop for AVX-512F: 24 chains of 16-lane FMAs; compiled for AVX-512 and reached
// only through run-time dispatch.
#include "simd/fp32_peak.h"
#include "simd/vec_f32_avx512.h"

namespace leancnn::kernels::simd {

double fma_loop_avx512(int64_t iterations) { return fma_loop<Avx512, 24>(iterations); }

}  // namespace leancnn::kernels::simd
