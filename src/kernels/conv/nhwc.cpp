// NCHW <-> NHWC copies of fp32 activations (nhwc.h).
#include "conv/nhwc.h"

namespace leancnn::kernels {

void to_nhwc(const float* src, float* dst, int64_t n, int64_t c, int64_t hw) {
#pragma omp parallel for schedule(static) if (n * c * hw >= (1 << 15))
  for (int64_t i = 0; i < n * hw; ++i) {
    const int64_t b = i / hw, px = i % hw;
    for (int64_t ch = 0; ch < c; ++ch) dst[i * c + ch] = src[(b * c + ch) * hw + px];
  }
}

void to_nchw(const float* src, float* dst, int64_t n, int64_t c, int64_t hw) {
#pragma omp parallel for schedule(static) if (n * c * hw >= (1 << 15))
  for (int64_t i = 0; i < n * c; ++i) {
    const int64_t b = i / c, ch = i % c;
    for (int64_t px = 0; px < hw; ++px) dst[i * hw + px] = src[(b * hw + px) * c + ch];
  }
}

}  // namespace leancnn::kernels
