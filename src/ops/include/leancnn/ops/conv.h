// Conv (ONNX, 2-D, NCHW / OIHW): geometry from attributes, and the reference forward/backward.
#pragma once
#include "leancnn/ir/op_schema.h"

namespace leancnn::ops {

struct ConvGeometry {
  int64_t n = 0, ic = 0, ih = 0, iw = 0;  // src
  int64_t oc = 0, oh = 0, ow = 0;         // dst
  int64_t kh = 0, kw = 0;
  int64_t groups = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dil_h = 1, dil_w = 1;
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  bool depthwise() const { return groups == ic && groups == oc; }
  int64_t macs() const { return n * oc * oh * ow * (ic / groups) * kh * kw; }
};

// Resolves attributes (incl. auto_pad) against the src and weights shapes; throws
// Error(bad_input) on invalid combinations.
ConvGeometry conv_geometry(const ir::Node& node, const Shape& src, const Shape& weights);

void conv_forward_ref(ir::ForwardCtx& ctx);
void conv_backward_ref(ir::BackwardCtx& ctx);

}  // namespace leancnn::ops
