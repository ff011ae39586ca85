// CPU features via the compiler's cpuid builtins; threads via OpenMP.
#include "leancnn/core/cpu.h"

#include <omp.h>

#include <thread>

namespace leancnn {

std::string CpuFeatures::summary() const {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(sse42, "sse4.2");
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(popcnt, "popcnt");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vnni, "avx512vnni");
  add(avx_vnni, "avx_vnni");
  return s.empty() ? "baseline" : s;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = [] {
    CpuFeatures c;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    c.sse42 = __builtin_cpu_supports("sse4.2");
    c.avx2 = __builtin_cpu_supports("avx2");
    c.fma = __builtin_cpu_supports("fma");
    c.popcnt = __builtin_cpu_supports("popcnt");
    c.avx512f = __builtin_cpu_supports("avx512f");
    c.avx512bw = __builtin_cpu_supports("avx512bw");
    c.avx512vnni = __builtin_cpu_supports("avx512vnni");
    // g++ 12 knows no "avxvnni"/"f16c" names for __builtin_cpu_supports: read cpuid directly.
    unsigned a, b, cc, d;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(cc), "=d"(d) : "a"(1), "c"(0));
    c.f16c = (cc >> 29) & 1u;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(cc), "=d"(d) : "a"(7), "c"(1));
    c.avx_vnni = (a >> 4) & 1u;
#endif
    return c;
  }();
  return f;
}

void set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : num_cores()); }

int num_threads() { return omp_get_max_threads(); }

int num_cores() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

}  // namespace leancnn
