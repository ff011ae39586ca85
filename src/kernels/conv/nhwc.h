// fp32 activations between NCHW and NHWC, for the kernels that compute channels-last and are
// handed NCHW tensors outside a plan (Winograd and the direct convolution through nhwc_conv.h, the
// fused inverted residual).
#pragma once
#include <cstdint>

namespace leancnn::kernels {

// NCHW [n][c][hw] -> NHWC [n][hw][c], OpenMP over pixels for large tensors.
void to_nhwc(const float* src, float* dst, int64_t n, int64_t c, int64_t hw);
// NHWC [n][hw][c] -> NCHW [n][c][hw].
void to_nchw(const float* src, float* dst, int64_t n, int64_t c, int64_t hw);

}  // namespace leancnn::kernels
