// The ISA-specific FMA loops behind fp32_peak_gflops_per_thread() (fp32_peak.cpp): each runs
// `iterations` steps of independent FMA chains in registers and returns the flops it did.
#pragma once
#include <cstdint>

namespace leancnn::kernels::simd {

double fma_loop_avx2(int64_t iterations);    // fp32_peak_avx2.cpp: 12 ymm chains
double fma_loop_avx512(int64_t iterations);  // fp32_peak_avx512.cpp: 24 zmm chains

}  // namespace leancnn::kernels::simd
