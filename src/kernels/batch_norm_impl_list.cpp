// BatchNormalization's ordered fast kernels (the reference is appended last by dispatch.cpp).
#include "dnnl/dnnl_kernels.h"
#include "impl_list.h"

namespace leancnn::kernels {

std::vector<Kernel> batch_norm_impl_list() {
  return {
      dnnl_batch_norm_f32(),  // fp32, inference and training, any rank >= 2
  };
}

}  // namespace leancnn::kernels
