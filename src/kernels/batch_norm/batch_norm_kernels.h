// BatchNormalization's kernels (no oneDNN types here: the impl list includes this). Each returned
// Kernel names its reason when it declines a call.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

// Contiguous fp32 (any rank >= 2, viewed as [N, C, spatial]), inference and training forward and
// the training backward, with our own channel-at-a-time loops; the reference in
// ops/batch_norm.cpp is its oracle and its saved {mean, invstd} contract is shared.
Kernel cpu_batch_norm_f32();  // batch_norm_f32.cpp: "cpu_batch_norm_f32"

Kernel dnnl_batch_norm_f32();  // batch_norm_dnnl.cpp

}  // namespace leancnn::kernels
