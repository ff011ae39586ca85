// Private to the gemm kernels: the ISA-specific part of cpu_gemv_f32 (gemv.cpp).
#pragma once
#include <cstdint>

namespace leancnn::kernels::gemv {

// Y[m, n] = A[m, k] * B[n, k]^T, all row-major and contiguous (no C: gemv.cpp adds it).
struct Args {
  const float* a = nullptr;
  const float* b = nullptr;
  float* y = nullptr;
  int64_t m = 0, k = 0, n = 0;
};

// Columns j0 <= j < j1 of Y (AVX2 + FMA: call only where the CPU has them).
void rows_avx2(const Args& x, int64_t j0, int64_t j1);

}  // namespace leancnn::kernels::gemv
