// leancnn's own int8 kernels (no oneDNN types here: the impl lists include this). Each returned
// Kernel names its reason when it declines a call.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

// QLinearConv / ai.leancnn QLinearFusedConv and QLinearMatMul / ai.leancnn QGemm through the
// exact s16 GEMM (s16_gemm.h) on AVX2: u8 or s8 activations, s8 or u8 weights with any zero
// points, bit-exact with the references on every CPU that has AVX2 (VNNI or not).
Kernel cpu_qconv_s16_avx2();  // qconv_s16.cpp
Kernel cpu_qgemm_s16_avx2();  // qgemm_s16.cpp

}  // namespace leancnn::kernels
