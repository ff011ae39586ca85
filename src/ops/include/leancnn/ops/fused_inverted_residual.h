// FusedInvertedResidual (domain ai.leancnn, inference only): MobileNetV2's inverted residual
// block (Sandler et al. 2018) as one node, which an inference plan fuses so that a kernel can run
// it over bands of rows with the wide intermediate activations in cache:
//
//   E = act_e(Conv1x1(X, We) + Be)          (the expansion; absent when We is omitted: E = X)
//   D = act_d(DepthwiseConv(E, Wd) + Bd)    (kernel_shape, strides, pads, dilations, group = E's channels)
//   Y = act(Conv1x1(D, Wp) + Bp [+ Z])      (the projection, with the block's residual Z)
//
// Inputs: X [N,C,H,W], We [M,C,1,1] (optional), Be [M] (optional), Wd [M,1,kh,kw], Bd [M]
// (optional), Wp [OC,M,1,1], Bp [OC] (optional), Z [N,OC,OH,OW] (optional). Attributes: the
// depthwise conv's (kernel_shape, strides, pads, dilations, group, auto_pad) and one activation
// pair per stage, as FusedConv's: expand_activation / expand_activation_params, dw_activation /
// dw_activation_params, activation / activation_params.
#pragma once
#include "leancnn/ir/op_schema.h"
#include "leancnn/ops/conv.h"
#include "leancnn/ops/fused_conv.h"

namespace leancnn::ops {

// Input slots.
enum InvertedResidualSlot : int { kIrX = 0, kIrWe, kIrBe, kIrWd, kIrBd, kIrWp, kIrBp, kIrZ, kIrSlots };

// The block's shapes, resolved and checked against each other from X's and the weights' shapes;
// throws Error(bad_input) naming the input otherwise.
struct InvertedResidualGeometry {
  bool expand = false;  // We present
  int64_t c = 0;        // X's channels
  int64_t m = 0;        // the depthwise's channels (We's outputs, or C)
  ConvGeometry dw;      // the depthwise conv on [N, M, H, W]
  int64_t oc = 0;       // Y's channels
  int64_t macs() const { return dw.n * ((expand ? c * m * dw.ih * dw.iw : 0) + (dw.kh * dw.kw + oc) * m * dw.oh * dw.ow); }
};
InvertedResidualGeometry inverted_residual_geometry(const ir::Node& node, const Shape& x, const Shape* we,
                                                    const Shape& wd, const Shape& wp);

// The reference: the three stages by direct loops in double, each rounded to float as a separate
// node's output would be. Saves nothing (no backward).
void fused_inverted_residual_forward_ref(ir::ForwardCtx& ctx);

}  // namespace leancnn::ops
