// The Winograd family's kernels (leancnn/kernels/winograd_rule.h decides which layers they take):
// fp32 3x3 stride-1 Conv and FusedConv in F(2x2,3x3) / F(4x4,3x3), one kernel per ISA of the
// transformed-domain GEMM. Each names its reason when it declines.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel cpu_conv_f32_winograd_avx512();        // conv_winograd.cpp: Conv, AVX-512F GEMMs
Kernel cpu_conv_f32_winograd_avx2();          // conv_winograd.cpp: Conv, AVX2 + FMA GEMMs
Kernel cpu_fused_conv_f32_winograd_avx512();  // conv_winograd.cpp: ai.leancnn FusedConv, AVX-512F
Kernel cpu_fused_conv_f32_winograd_avx2();    // conv_winograd.cpp: ai.leancnn FusedConv, AVX2 + FMA

}  // namespace leancnn::kernels
