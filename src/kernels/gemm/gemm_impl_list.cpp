// Gemm's ordered fast kernels (the reference is appended last by dispatch.cpp).
#include "gemm_kernels.h"
#include "impl_list.h"
#include "sparse/sparse_kernels.h"

namespace leancnn::kernels {

std::vector<Kernel> gemm_impl_list() {
  return {
      cpu_gemm_f32_sparse_avx2(),  // pruned weights at or below the sparse crossover density (sparse_rule.h)
      cpu_gemm_f32_small(),  // a few rows over at most 32 Ki weights, inference: oneDNN's call costs more
      cpu_gemv_f32_avx2(),   // a few rows over at most 4 Mi weights stored [N, K], inference, threads
      dnnl_gemm_f32(),  // fp32 matmul: transA = 0, alpha = 1, beta = 1 (or no C), C broadcast
  };
}

}  // namespace leancnn::kernels
