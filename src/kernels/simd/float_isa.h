// The instruction sets the fp32 kernel families (Winograd, direct convolution, inverted residual)
// are built for, and whether this CPU (under LEANCNN_MAX_CPU_ISA) runs one: ISA-independent, so
// any translation unit may include it.
#pragma once
#include <string>

#include "leancnn/core/cpu.h"

namespace leancnn::kernels::simd {

enum class FloatIsa { avx2, avx512 };

// "" when this CPU runs the ISA's kernels (AVX-512F with AVX2 + FMA, or AVX2 + FMA); else why not.
inline std::string float_isa_missing(FloatIsa isa) {
  const CpuFeatures& f = cpu_features();
  if (isa == FloatIsa::avx512)
    return f.avx512f && f.avx2 && f.fma ? "" : "no AVX-512F here (CPU or LEANCNN_MAX_CPU_ISA)";
  return f.avx2 && f.fma ? "" : "no AVX2 + FMA here";
}

}  // namespace leancnn::kernels::simd
