// The fp32 pooling kernels (no oneDNN types here: the impl list includes this). Each returned
// Kernel names its reason when it declines a call.
#pragma once
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/pool.h"

namespace leancnn::kernels {

Kernel dnnl_max_pool_f32();             // pool_dnnl.cpp
Kernel dnnl_average_pool_f32();
Kernel dnnl_global_average_pool_f32();
// GlobalAveragePool forward, NCHW or channels-last, no backward (global_average_pool.cpp).
Kernel cpu_global_average_pool_f32();

// MaxPool of NCHW f32 planes, inference (max_pool_cpu.cpp): what dnnl_max_pool_f32 runs for
// NCHW calls outside training.
void max_pool_nchw_f32(const ops::PoolGeometry& g, const float* src, float* dst);
// Whether max_pool_2x2_f32 takes the geometry: MaxPool 2x2 at stride 2 without padding.
bool max_pool_is_2x2_stride_2(const ops::PoolGeometry& g);
// The same with source and destination each channels-last or NCHW (a pool before Flatten reads
// its conv's NHWC output and writes NCHW), where max_pool_is_2x2_stride_2 holds; false (nothing
// written) for other geometries.
bool max_pool_2x2_f32(const ops::PoolGeometry& g, const float* src, bool src_nhwc, float* dst, bool dst_nhwc);
// Its AVX2 build (max_pool_2x2_avx2.cpp), for CPUs with AVX2; the geometry already checked.
void max_pool_2x2_avx2(const ops::PoolGeometry& g, const float* src, bool src_nhwc, float* dst, bool dst_nhwc);
// MaxPool of any window with source and destination channels-last, inference (max_pool_cpu.cpp),
// and its AVX2 build (max_pool_2x2_avx2.cpp).
void max_pool_nhwc_f32(const ops::PoolGeometry& g, const float* src, float* dst);
void max_pool_nhwc_avx2(const ops::PoolGeometry& g, const float* src, float* dst);

}  // namespace leancnn::kernels
