// FusedConv's (ai.leancnn) ordered fast kernels (the reference is appended last by dispatch.cpp).
#include "conv_kernels.h"
#include "impl_list.h"

namespace leancnn::kernels {

std::vector<Kernel> fused_conv_impl_list() {
  return {
      dnnl_fused_conv_f32(),  // fp32 conv + bias, sum (Z) and relu/clip/hardswish post-ops; packs when prepared
  };
}

}  // namespace leancnn::kernels
