// max_pool_2x2.h's loop compiled with AVX2 (8 channels of an NHWC pixel per instruction; the
// baseline build has SSE2's 4): the small CNN's 32x28x28 NHWC pool, ResNet-18's 3x3/2 NHWC pool.
#include "max_pool_2x2.h"
#include "pool_kernels.h"

namespace leancnn::kernels {

void max_pool_2x2_avx2(const ops::PoolGeometry& g, const float* src, bool src_nhwc, float* dst, bool dst_nhwc) {
  max_pool_2x2_any_layouts(g, src, src_nhwc, dst, dst_nhwc);
}

void max_pool_nhwc_avx2(const ops::PoolGeometry& g, const float* src, float* dst) { max_pool_nhwc_any(g, src, dst); }

}  // namespace leancnn::kernels
