// Element-wise Add / Mul on fp32 for the two shapes CNNs use: equal shapes (residual adds)
// and a per-channel operand [N or 1, C, 1, 1] against [N, C, H, W] (squeeze-excitation).
// Own loops (memory-bound, OpenMP over rows); the reference in ops/binary.cpp is the oracle.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel binary_f32_same_shape(bool mul);  // "add_f32_same" / "mul_f32_same"
Kernel binary_f32_per_channel(bool mul);  // "add_f32_per_channel" / "mul_f32_per_channel"

}  // namespace leancnn::kernels
