// The oneDNN-backed fp32 kernels, one factory per op (no oneDNN types here: the impl lists
// include this). Each returned Kernel has check_forward/check_backward that name the reason
// when they decline a call.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel dnnl_conv_f32();                 // conv_dnnl.cpp
Kernel dnnl_fused_conv_f32();           // fused_conv_dnnl.cpp (ai.leancnn FusedConv)
Kernel dnnl_gemm_f32();                 // gemm_dnnl.cpp
Kernel dnnl_batch_norm_f32();           // batch_norm_dnnl.cpp
Kernel dnnl_max_pool_f32();             // pool_dnnl.cpp
Kernel dnnl_average_pool_f32();
Kernel dnnl_global_average_pool_f32();
Kernel dnnl_relu_f32();                 // eltwise_dnnl.cpp
Kernel dnnl_sigmoid_f32();
Kernel dnnl_clip_f32();
Kernel dnnl_hard_swish_f32();
Kernel dnnl_hard_sigmoid_f32();
Kernel dnnl_qconv_u8s8();               // qconv_dnnl.cpp (QLinearConv, ai.leancnn QLinearFusedConv)
Kernel dnnl_qgemm_u8s8();               // qgemm_dnnl.cpp (QLinearMatMul, ai.leancnn QGemm)

}  // namespace leancnn::kernels
