// The ISA-specific FMA loops behind fp32_peak_gflops_per_thread() (fp32_peak.cpp): each runs
// `iterations` steps of independent FMA chains in registers and returns the flops it did. The loop
// is written once over a vector traits type S (vec_f32_*.h) and instantiated by each ISA's file.
#pragma once
#include <cstdint>

namespace leancnn::kernels::simd {

double fma_loop_avx2(int64_t iterations);    // fp32_peak_avx2.cpp: 12 ymm chains
double fma_loop_avx512(int64_t iterations);  // fp32_peak_avx512.cpp: 24 zmm chains

// N chains (enough to cover the FMA latency times two FMA units), every one summed into the
// result, so the compiler keeps them all.
template <class S, int N>
double fma_loop(int64_t iterations) {
  using V = typename S::V;
  V acc[N];
  const V a = S::set1(0.999f), b = S::set1(1e-3f);
#pragma GCC unroll 32
  for (int i = 0; i < N; ++i) acc[i] = S::set1(static_cast<float>(i));
  for (int64_t k = 0; k < iterations; ++k) {
#pragma GCC unroll 32
    for (int i = 0; i < N; ++i) acc[i] = S::fmadd(acc[i], a, b);
  }
  V sum = acc[0];
#pragma GCC unroll 32
  for (int i = 1; i < N; ++i) sum = S::add(sum, acc[i]);
  float lanes[S::W];
  S::store(lanes, sum);
  volatile float sink = lanes[0];
  (void)sink;
  return 2.0 * N * S::W * static_cast<double>(iterations);
}

}  // namespace leancnn::kernels::simd
