// cpuid_cap_check: what this process believes its CPU is, for the cpuid_cap tests
// (tests/CMakeLists.txt): leancnn's detected features, the ISA oneDNN's own dispatch reports,
// and whether a real SIGSEGV still reaches a handler the program installs after the preloaded
// library (tools/cpuid_cap.cpp records it and chains). One line, "name=value" pairs.
#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <cstdio>

#include <oneapi/dnnl/dnnl.hpp>

#include "leancnn/core/cpu.h"

namespace {

sigjmp_buf g_jump;

void on_segv(int /*sig*/) { siglongjmp(g_jump, 1); }

// The ISA oneDNN's kernels use here, from the strongest it accepts.
const char* dnnl_isa() {
  using dnnl::cpu_isa;
  const auto has = [](cpu_isa isa) {
    return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & static_cast<unsigned>(isa)) ==
           static_cast<unsigned>(isa);
  };
  if (has(cpu_isa::avx512_core_vnni)) return "avx512_core_vnni";
  if (has(cpu_isa::avx512_core)) return "avx512_core";
  if (has(cpu_isa::avx2_vnni)) return "avx2_vnni";
  if (has(cpu_isa::avx2)) return "avx2";
  return "older";
}

int chained() {
  struct sigaction act {};
  act.sa_handler = on_segv;
  sigemptyset(&act.sa_mask);
  if (sigaction(SIGSEGV, &act, nullptr) != 0) return 0;
  if (sigsetjmp(g_jump, 1) == 0) {
    volatile std::uintptr_t address = 16;  // volatile: the compiler cannot see the address
    *reinterpret_cast<volatile int*>(address) = 1;  // a real fault, not a CPUID
    return 0;
  }
  return 1;
}

}  // namespace

int main() {
  const leancnn::CpuFeatures& f = leancnn::detected_cpu_features();
  std::printf("avx2=%d fma=%d avx512f=%d avx512bw=%d avx512vnni=%d avx512vpopcntdq=%d avx_vnni=%d dnnl=%s ",
              f.avx2, f.fma, f.avx512f, f.avx512bw, f.avx512vnni, f.avx512vpopcntdq, f.avx_vnni, dnnl_isa());
  std::fflush(stdout);
  std::printf("chained=%d\n", chained());
  return 0;
}
