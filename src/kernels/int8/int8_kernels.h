// The int8 family's kernels (no oneDNN types here: the impl lists include this): QLinearConv /
// ai.leancnn QLinearFusedConv, QLinearMatMul / ai.leancnn QGemm, ai.leancnn QAdd and the integer
// pools, every one bit-exact with its reference (docs/int8_runtime.md §4). Each returned Kernel
// names its reason when it declines a call.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

// oneDNN's u8 x s8 int8 convolution and matmul, requantization in the primitive; they decline
// where 16-bit pair sums could saturate (no VNNI and weights over 7 bits).
Kernel dnnl_qconv_u8s8();  // qconv_dnnl.cpp
Kernel dnnl_qgemm_u8s8();  // qgemm_dnnl.cpp

// The same ops through the exact s16 GEMM (s16_gemm.h) on AVX2: u8 or s8 activations, s8 or u8
// weights with any zero points, bit-exact with the references on every CPU that has AVX2 (VNNI
// or not).
Kernel cpu_qconv_s16_avx2();  // qconv_s16.cpp
Kernel cpu_qgemm_s16_avx2();  // qgemm_s16.cpp

// QAdd (qadd_cpu.cpp), both declared layout-agnostic for plans: sixteen values a step on AVX2,
// threaded (qadd_avx2.cpp); and the op's one-pass loop for other CPUs.
Kernel cpu_qadd_x8_avx2();  // "cpu_qadd_x8_avx2"
Kernel cpu_qadd_x8();       // "cpu_qadd_x8"

// Integer pooling (qpool_cpu.cpp): own loops written to vectorize, bit-exact with the references
// in ops/qlinear_*pool.cpp, on NCHW or channels-last activations.
// QLinearMaxPool: the window maximum in the integer domain, then a 256-entry table of the op's
// requantization R (skipped when R is the identity). Input and output each NCHW or channels-last
// (not tied: a pool between an integer conv and a Flatten reads NHWC and writes NCHW).
Kernel cpu_qmax_pool_x8();  // "cpu_qmax_pool_x8"
// QLinearGlobalAveragePool: exact integer sums per channel (s32 partial sums into s64), then the
// op's f32 mean and quantization per channel. Input NCHW or channels-last; the [N, C, 1, 1] output
// is the same bytes either way.
Kernel cpu_qglobal_average_pool_x8();  // "cpu_qglobal_average_pool_x8"

}  // namespace leancnn::kernels
