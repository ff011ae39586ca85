// Conv's ordered fast kernels (the reference is appended last by dispatch.cpp).
#include "conv_kernels.h"
#include "impl_list.h"
#include "direct/direct_kernels.h"
#include "sparse/sparse_kernels.h"
#include "winograd/winograd_kernels.h"

namespace leancnn::kernels {

std::vector<Kernel> conv_impl_list() {
  return {
      cpu_conv_f32_sparse_avx2(),  // pruned weights at or below the sparse crossover density (sparse_rule.h)
      cpu_conv_f32_winograd_avx512(),  // 3x3 stride 1 where the measured rule picks Winograd (winograd_rule.h)
      cpu_conv_f32_winograd_avx2(),    // the same with AVX2 + FMA GEMMs
      cpu_conv_f32_direct_avx512(),  // where oneDNN measured slower (direct_conv_rule.h)
      cpu_conv_f32_direct_avx2(),    // the same with AVX2 + FMA
      cpu_depthwise_conv_f32(),        // depthwise backward (oneDNN's is an im2col GEMM for 5x5 and dilated)
      dnnl_conv_f32(),  // fp32, any groups/strides/dilations/pads; oneDNN-chosen layouts
  };
}

}  // namespace leancnn::kernels
