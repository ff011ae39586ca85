// QLinearMatMul (ONNX, 2-D: a [M, K] x b [K, N], per-tensor a, per-tensor or per-column b) and
// QGemm (ai.leancnn: x [M, K] times w [N, K] transposed (Gemm transB = 1), per-row w scales,
// s32 bias, optional y_scale/y_zero_point: omitted gives an f32 output, fused Relu/Clip).
// Reference forward: exact s32 accumulation, then quant_math.h's requantize (or the f32
// dequantization). The oracle of the integer GEMM kernels.
#include <algorithm>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/qlinear.h"
#include "leancnn/ops/schemas.h"
#include "qlinear_infer.h"

namespace leancnn::ops {

namespace {
bool is_matmul(const ir::Node& node) { return node.op_type == "QLinearMatMul"; }

int32_t value_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::u8 ? int32_t{t.data<uint8_t>()[i]} : int32_t{t.data<int8_t>()[i]};
}

struct GemmDims {
  int64_t m = 0, n = 0, k = 0;
};

GemmDims gemm_dims(const ir::Node& node, const Shape& x, const Shape& w) {
  if (x.size() != 2 || w.size() != 2)
    fail(ErrorKind::bad_input, node.label(), ": x and w must be 2-D, got ", shape_str(x), " and ", shape_str(w));
  GemmDims d{x[0], is_matmul(node) ? w[1] : w[0], x[1]};
  const int64_t wk = is_matmul(node) ? w[0] : w[1];
  if (wk != d.k)
    fail(ErrorKind::bad_input, node.label(), ": x ", shape_str(x), " and w ", shape_str(w),
         is_matmul(node) ? " (K x N)" : " (N x K)", " disagree on K");
  return d;
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, kQX, "x");
  const ir::Value& w = require_input(in, kQW, "w");
  const GemmDims d = gemm_dims(node, x.shape, w.shape);
  const DType y = detail::check_qlinear_operands(in, d.n, !is_matmul(node));
  float lo = 0.f, hi = 0.f;
  qlinear_activation(node, &lo, &hi);
  return {{{d.m, d.n}, y}};
}

int64_t macs(const ir::Node& node, const std::vector<const ir::Value*>& in, const std::vector<const ir::Value*>&) {
  const GemmDims d = gemm_dims(node, in[kQX]->shape, in[kQW]->shape);
  return d.m * d.n * d.k;
}
}  // namespace

void qgemm_forward_ref(ir::ForwardCtx& ctx) {
  const Tensor x = ctx.inputs[kQX].is_contiguous() ? ctx.inputs[kQX] : ctx.inputs[kQX].clone();
  const Tensor w = ctx.inputs[kQW].is_contiguous() ? ctx.inputs[kQW] : ctx.inputs[kQW].clone();
  const GemmDims d = gemm_dims(ctx.node, x.shape(), w.shape());
  const QLinearParams p = qlinear_params(ctx.node, ctx.inputs, d.n);
  const Tensor bias = ctx.inputs.size() > kQBias ? ctx.inputs[kQBias] : Tensor();
  const bool matmul = is_matmul(ctx.node);
  Tensor& y = ctx.outputs[0];
  for (int64_t i = 0; i < d.m; ++i)
    for (int64_t j = 0; j < d.n; ++j) {
      int32_t acc = 0;
      for (int64_t k = 0; k < d.k; ++k) {
        const int32_t wv = value_at(w, matmul ? k * d.n + j : j * d.k + k) - p.w_zp[j];
        acc += (value_at(x, i * d.k + k) - p.x_zp) * wv;
      }
      const int32_t b = bias.defined() ? bias.data<int32_t>()[j] : 0;
      const int64_t o = i * d.n + j;
      if (p.float_output) {
        // Same two roundings as requantize: add in f32, then scale.
        const float v = (static_cast<float>(acc) + static_cast<float>(b)) * p.multiplier[j];
        y.data<float>()[o] = p.float_relu ? std::max(v, 0.f) : v;
        continue;
      }
      const int32_t q = requantize(acc, b, p.multiplier[j], p.y_zp, p.bounds.lo, p.bounds.hi);
      if (y.dtype() == DType::u8)
        y.data<uint8_t>()[o] = static_cast<uint8_t>(q);
      else
        y.data<int8_t>()[o] = static_cast<int8_t>(q);
    }
}

ir::OpSchema qlinear_matmul_schema() {
  ir::OpSchema s;
  s.op_type = "QLinearMatMul";
  s.min_inputs = 8;
  s.max_inputs = 8;
  s.trainable_inputs = {kQW};  // counted as parameters; prepared only when constant
  s.infer = infer;
  s.macs = macs;
  s.forward = qgemm_forward_ref;
  return s;
}

ir::OpSchema qgemm_schema() {
  ir::OpSchema s;
  s.op_type = "QGemm";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 6;
  s.max_inputs = 9;
  s.attributes = {"activation", "activation_params"};
  s.trainable_inputs = {kQW, kQBias};
  s.infer = infer;
  s.macs = macs;
  s.forward = qgemm_forward_ref;
  return s;
}

}  // namespace leancnn::ops
