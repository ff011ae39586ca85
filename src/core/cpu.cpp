// CPU features via the compiler's cpuid builtins, capped by LEANCNN_MAX_CPU_ISA /
// ONEDNN_MAX_CPU_ISA; threads via OpenMP.
#include "leancnn/core/cpu.h"

#include <omp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

#include "leancnn/core/error.h"

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
  add(avx512vpopcntdq, "avx512vpopcntdq");
  add(avx_vnni, "avx_vnni");
  return s.empty() ? "baseline" : s;
}

const CpuFeatures& detected_cpu_features() {
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
    c.avx512vpopcntdq = __builtin_cpu_supports("avx512vpopcntdq");
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

bool parse_cpu_isa(const std::string& name, CpuIsa* isa) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (s == "sse42" || s == "sse41" || s == "sse4.2" || s == "sse4.1") *isa = CpuIsa::sse42;
  else if (s == "avx2") *isa = CpuIsa::avx2;
  else if (s == "avx2_vnni") *isa = CpuIsa::avx2_vnni;
  else if (s == "avx512" || s == "avx512_core") *isa = CpuIsa::avx512;
  else if (s == "avx512_vnni" || s == "avx512_core_vnni") *isa = CpuIsa::avx512_vnni;
  else if (s == "all" || s == "avx512_core_bf16" || s == "avx512_core_amx" || s == "default") *isa = CpuIsa::all;
  else return false;
  return true;
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::sse42: return "sse42";
    case CpuIsa::avx2: return "avx2";
    case CpuIsa::avx2_vnni: return "avx2_vnni";
    case CpuIsa::avx512: return "avx512";
    case CpuIsa::avx512_vnni: return "avx512_vnni";
    case CpuIsa::all: return "all";
  }
  return "all";
}

CpuIsa max_cpu_isa() {
  static const CpuIsa cap = [] {
    for (const char* var : {"LEANCNN_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA"}) {
      const char* v = std::getenv(var);
      if (!v || !*v) continue;
      CpuIsa isa = CpuIsa::all;
      if (!parse_cpu_isa(v, &isa))
        fail(ErrorKind::usage, var, "='", v,
             "' is not an instruction-set cap; use sse42, avx2, avx2_vnni, avx512, avx512_vnni or all");
      return isa;
    }
    return CpuIsa::all;
  }();
  return cap;
}

CpuFeatures cap_cpu_features(const CpuFeatures& f, CpuIsa isa) {
  CpuFeatures c = f;
  if (isa < CpuIsa::avx512_vnni) c.avx512vnni = false;
  if (isa < CpuIsa::avx512) c.avx512f = c.avx512bw = c.avx512vpopcntdq = false;
  if (isa < CpuIsa::avx2_vnni) c.avx_vnni = false;
  if (isa < CpuIsa::avx2) c.avx2 = c.fma = c.f16c = false;
  return c;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = cap_cpu_features(detected_cpu_features(), max_cpu_isa());
  return f;
}

void set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : num_cores()); }

int num_threads() { return omp_get_max_threads(); }

ThreadScope::ThreadScope(int n) : before_(n > 0 ? omp_get_max_threads() : 0) {
  if (n > 0) omp_set_num_threads(n);
}

ThreadScope::~ThreadScope() {
  if (before_ > 0) omp_set_num_threads(before_);
}

int num_cores() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

}  // namespace leancnn
