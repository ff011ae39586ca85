// The Gemm family's kernels (no oneDNN types here: the impl list includes this). Each returned
// Kernel names its reason when it declines a call.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel dnnl_gemm_f32();       // gemm_dnnl.cpp
Kernel cpu_gemm_f32_small();  // gemm_small.cpp: batch-1 classifiers, inference
Kernel cpu_gemv_f32_avx2();   // gemm_small.cpp: few rows, larger [N, K] weights, threads, inference

}  // namespace leancnn::kernels
