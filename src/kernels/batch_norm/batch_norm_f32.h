// BatchNormalization on contiguous fp32 (any rank >= 2, viewed as [N, C, spatial]), inference
// and training forward and the training backward, with our own channel-at-a-time loops; the
// reference in ops/batch_norm.cpp is its oracle and its saved {mean, invstd} contract is shared.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel batch_norm_f32();  // "batch_norm_f32"

}  // namespace leancnn::kernels
