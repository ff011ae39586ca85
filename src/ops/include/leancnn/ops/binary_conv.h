// ai.leancnn BinaryConv: the inference op a plan fuses Binarize -> Conv / Gemm (binary weights)
// into (runtime/fuse_binary_layers.cpp), run by XNOR-popcount kernels (kernels/binary).
//   y[n, oc, p] = f32(dot) * alpha[oc] * beta[n] + b[oc]
// dot = sum over the taps inside the input of sign(x) * sign(w) (an integer; padded taps add 0,
// as the zero padding of the Conv it replaces does), alpha[oc] = |W[oc, ...]| (every row of W must
// be ±alpha: binary_row_scales), beta[n] = 1 or the sample's mean |x| (attribute input_scale),
// evaluated in exactly this order so that every kernel matches the reference bit for bit. X is
// NCHW with W OIHW (Conv attributes; group 1), or 2-D [N, K] with W [OC, K] (Gemm, transB).
#pragma once
#include "leancnn/ir/op_schema.h"
#include "leancnn/ops/conv.h"

namespace leancnn::ops {

// The geometry of a BinaryConv call (a 2-D call is a 1x1 convolution over a 1x1 image).
ConvGeometry binary_conv_geometry(const ir::Node& node, const Shape& src, const Shape& weights);

// One output value from its integer dot product (the formula above).
inline float binary_conv_output(int64_t dot, float alpha, float beta, float bias) {
  return static_cast<float>(dot) * alpha * beta + bias;
}

void binary_conv_forward_ref(ir::ForwardCtx& ctx);

}  // namespace leancnn::ops
