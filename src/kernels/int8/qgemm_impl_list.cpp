// QLinearMatMul's and ai.leancnn QGemm's ordered fast kernels, every one exact
// (docs/int8_runtime.md §4), by the same rule as qconv_impl_list.cpp: oneDNN's where its u8 x s8
// arithmetic cannot saturate, else our s16 kernel on AVX2, else the reference (appended last by
// dispatch.cpp).
#include "impl_list.h"
#include "int8_kernels.h"

namespace leancnn::kernels {

std::vector<Kernel> qgemm_impl_list() {
  return {
      dnnl_qgemm_u8s8(),     // u8 x s8 -> u8/s8/f32 matmul, requantization fused; same exactness rule
      cpu_qgemm_s16_avx2(),  // the s16 GEMM, requantization (or f32 output) fused
  };
}

}  // namespace leancnn::kernels
