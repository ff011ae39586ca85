// QLinearGlobalAveragePool (ai.leancnn, inference): GlobalAveragePool on quantized values, an
// exact integer-defined op (qpool.h: qglobal_average_pool_output):
//   acc  = sum over H*W of (x - x_zp)                       exact, int64
//   mean = ((float)acc * x_scale) / (float)(H*W)            f32, multiply then divide
//   y    = quantize_value(mean, y_scale, y_zp, qmin, qmax)
// It may differ by one unit from the float chain DQ -> GlobalAveragePool -> Q, whose float sum
// rounds differently (docs/int8_runtime.md). Reference forward: NCHW loops.
#include "leancnn/ops/op_util.h"
#include "leancnn/ops/pool.h"
#include "leancnn/ops/qpool.h"
#include "leancnn/ops/schemas.h"
#include "qpool_infer.h"

namespace leancnn::ops {

namespace {
std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const DType y = detail::check_qpool_operands(node, in);
  const PoolGeometry g = pool_geometry(node, require_input(in, kQPoolX, "x").shape, PoolKind::global_average);
  return {{{g.n, g.c, 1, 1}, y}};
}

template <typename T>
int64_t plane_sum(const T* x, int64_t count, int32_t zp) {
  int64_t acc = 0;
  for (int64_t i = 0; i < count; ++i) acc += static_cast<int64_t>(x[i]) - zp;
  return acc;
}
}  // namespace

void qlinear_global_average_pool_forward_ref(ir::ForwardCtx& ctx) {
  const Tensor x = ctx.inputs[kQPoolX].is_contiguous() ? ctx.inputs[kQPoolX] : ctx.inputs[kQPoolX].clone();
  const QPoolParams p = qpool_params(ctx.node, ctx.inputs);
  const PoolGeometry g = pool_geometry(ctx.node, x.shape(), PoolKind::global_average);
  const int64_t count = g.ih * g.iw;
  Tensor& y = ctx.outputs[0];
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const int64_t acc = x.dtype() == DType::u8 ? plane_sum(x.data<uint8_t>() + plane * count, count, p.x_zp)
                                               : plane_sum(x.data<int8_t>() + plane * count, count, p.x_zp);
    const int32_t q = qglobal_average_pool_output(acc, count, p);
    if (y.dtype() == DType::u8)
      y.data<uint8_t>()[plane] = static_cast<uint8_t>(q);
    else
      y.data<int8_t>()[plane] = static_cast<int8_t>(q);
  }
}

ir::OpSchema qlinear_global_average_pool_schema() {
  ir::OpSchema s;
  s.op_type = "QLinearGlobalAveragePool";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 5;
  s.max_inputs = 5;
  s.non_differentiable_inputs = {0, 1, 2, 3, 4};
  s.infer = infer;
  s.forward = qlinear_global_average_pool_forward_ref;
  return s;
}

}  // namespace leancnn::ops
