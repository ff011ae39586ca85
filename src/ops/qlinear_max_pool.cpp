// QLinearMaxPool (ai.leancnn, inference): MaxPool on quantized values,
//   y = R(max over the window of x),  R(v) = QuantizeLinear(DequantizeLinear(v))
// (qpool.h: qmax_pool_requantize). DequantizeLinear is monotone and a max picks one input
// exactly, so this equals the float chain DQ -> MaxPool -> Q bit for bit (runtime::lower_qdq).
// MaxPool's attributes and geometry (pool.h); padding never wins. Reference forward: NCHW loops.
#include <algorithm>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/pool.h"
#include "leancnn/ops/qpool.h"
#include "leancnn/ops/schemas.h"
#include "qpool_infer.h"

namespace leancnn::ops {

namespace {
std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const DType y = detail::check_qpool_operands(node, in);
  const PoolGeometry g = pool_geometry(node, require_input(in, kQPoolX, "x").shape, PoolKind::max);
  return {{{g.n, g.c, g.oh, g.ow}, y}};
}

int32_t value_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::u8 ? int32_t{t.data<uint8_t>()[i]} : int32_t{t.data<int8_t>()[i]};
}
}  // namespace

void qlinear_max_pool_forward_ref(ir::ForwardCtx& ctx) {
  const Tensor x = ctx.inputs[kQPoolX].is_contiguous() ? ctx.inputs[kQPoolX] : ctx.inputs[kQPoolX].clone();
  const QPoolParams p = qpool_params(ctx.node, ctx.inputs);
  const PoolGeometry g = pool_geometry(ctx.node, x.shape(), PoolKind::max);
  Tensor& y = ctx.outputs[0];
  for (int64_t plane = 0; plane < g.n * g.c; ++plane)
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        int32_t best = 0;
        bool any = false;  // pool_geometry guarantees each window holds an input element
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = g.y0(oy) + ky * g.dil_h;
          if (iy < 0 || iy >= g.ih) continue;  // padding: never the maximum
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = g.x0(ox) + kx * g.dil_w;
            if (ix < 0 || ix >= g.iw) continue;
            const int32_t v = value_at(x, (plane * g.ih + iy) * g.iw + ix);
            best = any ? std::max(best, v) : v;
            any = true;
          }
        }
        const int32_t q = qmax_pool_requantize(best, p);
        const int64_t i = (plane * g.oh + oy) * g.ow + ox;
        if (y.dtype() == DType::u8)
          y.data<uint8_t>()[i] = static_cast<uint8_t>(q);
        else
          y.data<int8_t>()[i] = static_cast<int8_t>(q);
      }
}

ir::OpSchema qlinear_max_pool_schema() {
  ir::OpSchema s;
  s.op_type = "QLinearMaxPool";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 5;
  s.max_inputs = 5;
  s.attributes = {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "strides"};
  s.non_differentiable_inputs = {0, 1, 2, 3, 4};
  s.infer = infer;
  s.forward = qlinear_max_pool_forward_ref;
  return s;
}

}  // namespace leancnn::ops
