// fp32_peak_gflops_per_thread() (leancnn/kernels/fp32_peak.h): the widest FMA loop this CPU runs
// under the cap, timed three times for ~10 ms each, the best kept.
#include "leancnn/kernels/fp32_peak.h"

#include <algorithm>
#include <chrono>

#include "leancnn/core/cpu.h"
#include "simd/fp32_peak.h"

namespace leancnn::kernels {
namespace {
// Without AVX2 + FMA: separate multiplies and adds the compiler vectorizes with the baseline ISA.
double mul_add_loop(int64_t iterations) {
  float acc[32];
  for (int i = 0; i < 32; ++i) acc[i] = static_cast<float>(i);
  for (int64_t k = 0; k < iterations; ++k)
    for (int i = 0; i < 32; ++i) acc[i] = acc[i] * 0.999f + 1e-3f;
  float sum = 0.f;
  for (float v : acc) sum += v;
  volatile float sink = sum;
  (void)sink;
  return 2.0 * 32 * static_cast<double>(iterations);
}

double measure() {
  const CpuFeatures& f = cpu_features();
  double (*loop)(int64_t) = f.avx512f && f.avx2 && f.fma ? simd::fma_loop_avx512
                            : f.avx2 && f.fma            ? simd::fma_loop_avx2
                                                         : mul_add_loop;
  double best = 0.0;
  int64_t iterations = 1 << 16;
  for (int round = 0; round < 8 && best == 0.0; ++round, iterations *= 4) {
    // Grow the loop until one run takes at least 10 ms, then time it three times.
    const auto t0 = std::chrono::steady_clock::now();
    const double flops = loop(iterations);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s < 0.01) continue;
    best = flops / s;
    for (int rep = 0; rep < 2; ++rep) {
      const auto t1 = std::chrono::steady_clock::now();
      const double f2 = loop(iterations);
      best = std::max(best, f2 / std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
    }
  }
  return best * 1e-9;
}
}  // namespace

double fp32_peak_gflops_per_thread() {
  static const double peak = measure();
  return peak;
}

}  // namespace leancnn::kernels
