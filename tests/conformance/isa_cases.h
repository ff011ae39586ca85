// The instruction sets an fp32 kernel family is built for (an AVX-512F and an AVX2 + FMA kernel),
// for conformance tests that run each kernel this CPU (and LEANCNN_MAX_CPU_ISA) allows.
#pragma once
#include "leancnn/core/cpu.h"

namespace leancnn::testing {

inline bool avx2_here() { return cpu_features().avx2 && cpu_features().fma; }
inline bool avx512_here() { return avx2_here() && cpu_features().avx512f; }

struct Isa {
  const char* name;  // the kernel name's suffix
  bool (*here)();
};
inline constexpr Isa kFloatIsas[] = {{"avx512", avx512_here}, {"avx2", avx2_here}};

}  // namespace leancnn::testing
