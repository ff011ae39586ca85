// The fused inverted residual block's kernels (ai.leancnn FusedInvertedResidual).
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel cpu_fused_inverted_residual_f32_avx512();  // AVX-512F row pass
Kernel cpu_fused_inverted_residual_f32_avx2();    // the same with AVX2 + FMA
Kernel dnnl_fused_inverted_residual_f32();        // the three convolutions through oneDNN (what the others decline)

}  // namespace leancnn::kernels
