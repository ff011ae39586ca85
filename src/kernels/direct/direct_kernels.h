// The direct convolution family's kernels (leancnn/kernels/direct_conv_rule.h decides which
// layers they take): fp32 Conv and FusedConv of any kernel size, stride and pads (groups 1,
// dilation 1) over channels-last activations, one kernel per ISA. Each names its reason when it
// declines.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel cpu_conv_f32_direct_avx512();        // conv_direct.cpp: Conv, AVX-512F
Kernel cpu_conv_f32_direct_avx2();          // conv_direct.cpp: Conv, AVX2 + FMA
Kernel cpu_fused_conv_f32_direct_avx512();  // conv_direct.cpp: ai.leancnn FusedConv, AVX-512F
Kernel cpu_fused_conv_f32_direct_avx2();    // conv_direct.cpp: ai.leancnn FusedConv, AVX2 + FMA

}  // namespace leancnn::kernels
