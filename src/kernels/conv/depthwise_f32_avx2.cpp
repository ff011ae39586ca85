// depthwise_f32_loops.h compiled with AVX2 + FMA (8 columns per instruction; the baseline build
// has SSE2's 4), reached through cpu_depthwise_conv_f32's run-time dispatch.
#include "depthwise_f32_loops.h"

namespace leancnn::kernels {

void depthwise_backward_data_avx2(const ops::ConvGeometry& g, const float* w, const float* dy, float* dx) {
  backward_data(g, w, dy, dx);
}

void depthwise_backward_weights_avx2(const ops::ConvGeometry& g, const float* x, const float* dy, float* dw, float* db) {
  backward_weights(g, x, dy, dw, db);
}

}  // namespace leancnn::kernels
