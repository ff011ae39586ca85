// Pooling (ONNX MaxPool, AveragePool, GlobalAveragePool; 2-D, NCHW): the geometry shared by
// the references and the fast kernels, and the reference forward/backward.
#pragma once
#include "leancnn/ir/op_schema.h"

namespace leancnn::ops {

enum class PoolKind { max, average, global_average };

struct PoolGeometry {
  PoolKind kind = PoolKind::max;
  int64_t n = 0, c = 0, ih = 0, iw = 0;  // src
  int64_t oh = 0, ow = 0;                // dst (same n, c)
  int64_t kh = 0, kw = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dil_h = 1, dil_w = 1;  // MaxPool only; 1 otherwise
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;  // resolved (auto_pad applied)
  bool ceil_mode = false;
  bool count_include_pad = false;  // AveragePool only

  // First input row / column of output (oy, ox)'s window; negative inside the top/left padding.
  int64_t y0(int64_t oy) const { return oy * stride_h - pad_t; }
  int64_t x0(int64_t ox) const { return ox * stride_w - pad_l; }
  // AveragePool's divisor for output (oy, ox). Without count_include_pad: the number of input
  // elements in the window. With it: the window clipped to the padded input
  // [-pad_t, ih + pad_b) x [-pad_l, iw + pad_r), as PyTorch does; this is kh * kw except
  // where ceil_mode lets a last window run past the end padding.
  int64_t avg_divisor(int64_t oy, int64_t ox) const;
};

// Calls f(iy, ix) for every tap of output (oy, ox)'s window that lies inside the input, in
// row-major order (the references and the fast kernels alike).
template <typename F>
void for_each_tap(const PoolGeometry& g, int64_t oy, int64_t ox, F&& f) {
  for (int64_t ky = 0; ky < g.kh; ++ky) {
    const int64_t iy = g.y0(oy) + ky * g.dil_h;
    if (iy < 0 || iy >= g.ih) continue;
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t ix = g.x0(ox) + kx * g.dil_w;
      if (ix < 0 || ix >= g.iw) continue;
      f(iy, ix);
    }
  }
}

// Resolves node's attributes against src (which must be 4-D NCHW) for node.op_type MaxPool,
// AveragePool or GlobalAveragePool. Output extents follow ONNX (floor, or ceil with ceil_mode,
// where a last window that would start past the input and its begin padding is dropped, as in
// ONNX >= 1.16, ONNX Runtime and PyTorch); auto_pad SAME_UPPER/SAME_LOWER/VALID set the pads.
// Throws Error(bad_input) on invalid attributes, on a non-4-D src, and when some output window
// would cover no input element.
PoolGeometry pool_geometry(const ir::Node& node, const Shape& src);
// The same for an op with another name that takes the attributes of `kind`'s op (the integer
// pools QLinearMaxPool and QLinearGlobalAveragePool, ops/qpool.h).
PoolGeometry pool_geometry(const ir::Node& node, const Shape& src, PoolKind kind);

// MaxPool, AveragePool and GlobalAveragePool references. None saves anything: MaxPool's
// backward recomputes the argmax (the first maximum of each window in row-major window order)
// from the input, so fast kernels are free to append their own workspace.
void max_pool_forward_ref(ir::ForwardCtx& ctx);
void max_pool_backward_ref(ir::BackwardCtx& ctx);
void average_pool_forward_ref(ir::ForwardCtx& ctx);  // also GlobalAveragePool
void average_pool_backward_ref(ir::BackwardCtx& ctx);

}  // namespace leancnn::ops
