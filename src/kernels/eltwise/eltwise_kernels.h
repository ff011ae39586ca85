// The element-wise family's kernels: the activations (unary, through oneDNN) and Add / Mul
// (binary, our own). No oneDNN types here: the impl lists include this. Each returned Kernel
// names its reason when it declines a call.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel dnnl_relu_f32();          // eltwise_dnnl.cpp
Kernel dnnl_sigmoid_f32();
Kernel dnnl_clip_f32();
Kernel dnnl_hard_swish_f32();
Kernel dnnl_hard_sigmoid_f32();  // always declines: oneDNN 2.6 has no hardsigmoid
Kernel cpu_relu_f32();           // relu_f32.cpp: inference forward, any layout

// Add / Mul on fp32 for the two shapes CNNs use (binary_f32.cpp): equal shapes (residual adds)
// and a per-channel operand [N or 1, C, 1, 1] against [N, C, H, W] (squeeze-excitation).
// Own loops (memory-bound, OpenMP over rows); the reference in ops/binary.cpp is the oracle.
Kernel cpu_binary_f32_same(bool mul);         // "cpu_add_f32_same" / "cpu_mul_f32_same"
Kernel cpu_binary_f32_per_channel(bool mul);  // "cpu_add_f32_per_channel" / "cpu_mul_f32_per_channel"
Kernel cpu_binary_f32_scalar(bool mul);       // "cpu_add_f32_scalar" / "cpu_mul_f32_scalar"

}  // namespace leancnn::kernels
