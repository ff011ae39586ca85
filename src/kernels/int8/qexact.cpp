// The exactness rule of the u8 x s8 int8 kernels (int8_exactness.h).
#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "leancnn/core/error.h"
#include "leancnn/kernels/int8_exactness.h"

namespace leancnn::kernels {

namespace {
std::atomic<const CpuFeatures*> injected{nullptr};
}  // namespace

int max_abs_s8(const Tensor& w) {
  const Tensor c = w.is_contiguous() ? w : w.clone();
  const int8_t* p = c.data<int8_t>();
  int m = 0;
  for (int64_t i = 0, n = c.numel(); i < n; ++i) m = std::max(m, std::abs(static_cast<int>(p[i])));
  return m;
}

std::string int8_pair_sum_refusal(const CpuFeatures& cpu, int max_abs_weight) {
  if (cpu.avx512vnni || cpu.avx_vnni) return "";  // vpdpbusd: 32-bit accumulation, exact
  constexpr int kMax7Bit = 64;                     // 2 * 255 * 64 = 32640 <= 32767
  if (max_abs_weight <= kMax7Bit) return "";
  return str_cat("no VNNI on this CPU and weights up to |", max_abs_weight,
                 "| exceed 7 bits (|w| <= 64): oneDNN's vpmaddubsw pair sums could saturate 16 bits");
}

const CpuFeatures& int8_cpu_features() {
  const CpuFeatures* c = injected.load();
  return c ? *c : cpu_features();
}

void inject_int8_cpu_features(const CpuFeatures* cpu) { injected.store(cpu); }

}  // namespace leancnn::kernels
