// FusedInvertedResidual's (ai.leancnn) ordered fast kernels (the reference is appended last by
// dispatch.cpp).
#include "impl_list.h"
#include "inverted_residual/inverted_residual_kernels.h"

namespace leancnn::kernels {

std::vector<Kernel> fused_inverted_residual_impl_list() {
  return {
      cpu_fused_inverted_residual_f32_avx512(),
      cpu_fused_inverted_residual_f32_avx2(),
      dnnl_fused_inverted_residual_f32(),
  };
}

}  // namespace leancnn::kernels
