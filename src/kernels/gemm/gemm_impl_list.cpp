// Gemm's ordered fast kernels (the reference is appended last by dispatch.cpp).
#include "gemm_kernels.h"
#include "impl_list.h"

namespace leancnn::kernels {

std::vector<Kernel> gemm_impl_list() {
  return {
      dnnl_gemm_f32(),  // fp32 matmul: transA = 0, alpha = 1, beta = 1 (or no C), C broadcast
  };
}

}  // namespace leancnn::kernels
