// Depthwise Conv (group = C = OC, fp32, NCHW) backward: d_src, d_weights, d_bias by direct loops
// over each channel's plane, any kernel size, stride, dilation and padding.
//
// Why: oneDNN 2.6 runs depthwise backward with its jit_dw kernels only for some shapes; 5x5 and
// dilated layers (the DARTS cell space's sep_conv_5x5 and dil_conv_*, the mobile space's 5x5
// and 7x7) fall to its per-group im2col GEMM: 1.5-3 GFLOP/s, 6.9 ms for one 5x5 8-channel
// 28x28 backward-weights pass at batch 64, 60 % of a DARTS supernet's training time
// (ONEDNN_VERBOSE). A plane is small and the taps few: a row loop per tap, contiguous at
// stride 1 (the compiler vectorizes it), does better on every shape.
//
// d_src: per plane, every (output row, tap) scatters w x dy's row into dx's row (planes in
// parallel). d_weights: per channel, each tap's sum over batch and output pixels of dy x x, as
// per-row float sums added in double in a fixed order (channels in parallel; the same result for
// any thread count). d_bias: per channel, the sum of dy likewise. The forward stays with oneDNN
// (its depthwise forward kernels are fast); this kernel has none. The loops
// (depthwise_f32_loops.h) are built twice: baseline and AVX2 (depthwise_f32_avx2.cpp).
#include <algorithm>
#include <vector>

#include "conv_kernels.h"
#include "depthwise_f32_loops.h"

namespace leancnn::kernels {

// depthwise_f32_avx2.cpp: the same loops compiled with AVX2.
void depthwise_backward_data_avx2(const ops::ConvGeometry& g, const float* w, const float* dy, float* dx);
void depthwise_backward_weights_avx2(const ops::ConvGeometry& g, const float* x, const float* dy, float* dw, float* db);

namespace {

bool is_f32(const Tensor& t) { return t.defined() && t.dtype() == DType::f32 && t.is_contiguous(); }

std::string check_backward(const ir::BackwardCtx& ctx) {
  if (ctx.inputs.size() < 2 || !is_f32(ctx.inputs[0]) || !is_f32(ctx.inputs[1])) return "X or W is not contiguous f32";
  if (ctx.inputs[0].rank() != 4) return "not a 2-D (NCHW) convolution";
  if (ctx.inputs.size() > 2 && ctx.inputs[2].defined() && !is_f32(ctx.inputs[2])) return "B is not contiguous f32";
  if (ctx.d_outputs.empty() || !is_f32(ctx.d_outputs[0])) return "dY is not contiguous f32";
  const ConvGeometry g = ops::conv_geometry(ctx.node, ctx.inputs[0].shape(), ctx.inputs[1].shape());
  if (!g.depthwise()) return "not depthwise (group = C = OC)";
  return "";
}

void backward(ir::BackwardCtx& ctx) {
  const ConvGeometry g = ops::conv_geometry(ctx.node, ctx.inputs[0].shape(), ctx.inputs[1].shape());
  const float* dy = ctx.d_outputs[0].data<float>();
  const bool avx2 = cpu_features().avx2 && cpu_features().fma;
  if (ctx.d_inputs[0].defined()) {
    float* dx = ctx.d_inputs[0].data<float>();
    if (avx2) depthwise_backward_data_avx2(g, ctx.inputs[1].data<float>(), dy, dx);
    else backward_data(g, ctx.inputs[1].data<float>(), dy, dx);
  }
  float* dw = ctx.d_inputs[1].defined() ? ctx.d_inputs[1].data<float>() : nullptr;
  float* db = ctx.d_inputs.size() > 2 && ctx.d_inputs[2].defined() ? ctx.d_inputs[2].data<float>() : nullptr;
  if (dw || db) {
    if (avx2) depthwise_backward_weights_avx2(g, ctx.inputs[0].data<float>(), dy, dw, db);
    else backward_weights(g, ctx.inputs[0].data<float>(), dy, dw, db);
  }
}
}  // namespace

Kernel cpu_depthwise_conv_f32() {
  Kernel k;
  k.name = "cpu_depthwise_conv_f32";
  k.check_backward = check_backward;
  k.backward = backward;
  return k;
}

}  // namespace leancnn::kernels
