// The convolution family's kernels (no oneDNN types here: the impl lists include this). Each
// returned Kernel names its reason when it declines a call.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel dnnl_conv_f32();        // conv_dnnl.cpp: Conv
Kernel cpu_depthwise_conv_f32();  // depthwise_f32.cpp: depthwise Conv backward (no forward)
Kernel dnnl_fused_conv_f32();  // fused_conv_dnnl.cpp: ai.leancnn FusedConv

}  // namespace leancnn::kernels
