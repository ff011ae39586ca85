// kernels::fp32_peak_gflops_per_thread(): measured once, the same figure on every call, within what
// one thread of any CPU leancnn runs on can do (at least one 4-lane multiply-add per ns, at most two
// 16-lane FMA units at 6 GHz).
#include <gtest/gtest.h>

#include <cstdio>

#include "leancnn/core/cpu.h"
#include "leancnn/kernels/fp32_peak.h"

namespace leancnn {
namespace {

TEST(Fp32Peak, MeasuredOnceAndPlausible) {
  const double peak = kernels::fp32_peak_gflops_per_thread();
  std::printf("[ peak     ] %.1f GFLOP/s per thread (%s)\n", peak, cpu_features().summary().c_str());
  EXPECT_GE(peak, 1.0);
  EXPECT_LE(peak, 2 * 2 * 16 * 6.0);
  EXPECT_EQ(kernels::fp32_peak_gflops_per_thread(), peak);
}

}  // namespace
}  // namespace leancnn
