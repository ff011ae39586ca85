// Integer pooling kernels (ai.leancnn QLinearMaxPool, QLinearGlobalAveragePool): own loops written
// to vectorize, bit-exact with the references in ops/qlinear_*pool.cpp, on NCHW or channels-last
// activations.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

// QLinearMaxPool: the window maximum in the integer domain, then a 256-entry table of the op's
// requantization R (skipped when R is the identity). Input and output each NCHW or channels-last
// (not tied: a pool between an integer conv and a Flatten reads NHWC and writes NCHW).
Kernel cpu_qmax_pool();  // "cpu_qmax_pool"

// QLinearGlobalAveragePool: exact integer sums per channel (s32 partial sums into s64), then the
// op's f32 mean and quantization per channel. Input NCHW or channels-last; the [N, C, 1, 1] output
// is the same bytes either way.
Kernel cpu_qglobal_average_pool();  // "cpu_qglobal_average_pool"

}  // namespace leancnn::kernels
