// The fp32 pooling kernels (no oneDNN types here: the impl list includes this). Each returned
// Kernel names its reason when it declines a call.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel dnnl_max_pool_f32();             // pool_dnnl.cpp
Kernel dnnl_average_pool_f32();
Kernel dnnl_global_average_pool_f32();

}  // namespace leancnn::kernels
