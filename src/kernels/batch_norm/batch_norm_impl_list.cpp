// BatchNormalization's ordered fast kernels (the reference is appended last by dispatch.cpp).
#include "batch_norm_kernels.h"
#include "impl_list.h"

namespace leancnn::kernels {

std::vector<Kernel> batch_norm_impl_list() {
  return {
      cpu_batch_norm_f32(),   // contiguous fp32 (NCHW), channel-at-a-time: 1.5-3x oneDNN 2.6's NCHW kernel
      dnnl_batch_norm_f32(),  // fp32, inference and training, any rank >= 2
  };
}

}  // namespace leancnn::kernels
