// The sparse family's kernels (sparse_rule.h decides which layers they take): fp32 Conv /
// FusedConv and Gemm whose constant weights are mostly zeros (pruned models), as products of
// sparse rows with dense activations (csr.h, spmm_impl.h; Gemm: lut_rows.h). Each names its
// reason when it declines.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel cpu_conv_f32_sparse_avx2();        // conv_sparse.cpp: Conv
Kernel cpu_fused_conv_f32_sparse_avx2();  // conv_sparse.cpp: ai.leancnn FusedConv
Kernel cpu_gemm_f32_sparse_avx2();        // gemm_sparse.cpp: Gemm (transB, alpha = beta = 1)

}  // namespace leancnn::kernels
