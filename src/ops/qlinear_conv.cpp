// QLinearConv (ONNX) and QLinearFusedConv (ai.leancnn: QLinearConv with per-channel weight
// scales, s32 bias and a fused Relu/Clip clamped in the integer domain). Reference forward:
// direct loops, exact s32 accumulation of (x - x_zp) * (w - w_zp) (padding contributes 0, i.e.
// pads hold x_zp), then quant_math.h's requantize. The oracle of the integer conv kernels.
#include "leancnn/ops/conv.h"
#include "leancnn/ops/op_util.h"
#include "leancnn/ops/qlinear.h"
#include "leancnn/ops/schemas.h"
#include "qlinear_infer.h"

namespace leancnn::ops {

namespace {
int32_t value_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::u8 ? int32_t{t.data<uint8_t>()[i]} : int32_t{t.data<int8_t>()[i]};
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, kQX, "x");
  const ir::Value& w = require_input(in, kQW, "w");
  const ConvGeometry g = conv_geometry(node, x.shape, w.shape);
  const DType y = detail::check_qlinear_operands(in, g.oc, false);
  float lo = 0.f, hi = 0.f;
  qlinear_activation(node, &lo, &hi);
  return {{{g.n, g.oc, g.oh, g.ow}, y}};
}

int64_t macs(const ir::Node& node, const std::vector<const ir::Value*>& in, const std::vector<const ir::Value*>&) {
  return conv_geometry(node, in[kQX]->shape, in[kQW]->shape).macs();
}
}  // namespace

void qlinear_conv_forward_ref(ir::ForwardCtx& ctx) {
  const Tensor x = ctx.inputs[kQX].is_contiguous() ? ctx.inputs[kQX] : ctx.inputs[kQX].clone();
  const Tensor w = ctx.inputs[kQW].is_contiguous() ? ctx.inputs[kQW] : ctx.inputs[kQW].clone();
  const ConvGeometry g = conv_geometry(ctx.node, x.shape(), w.shape());
  const QLinearParams p = qlinear_params(ctx.node, ctx.inputs, g.oc);
  const Tensor bias = ctx.inputs.size() > kQBias ? ctx.inputs[kQBias] : Tensor();
  Tensor& y = ctx.outputs[0];
  const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oc = 0; oc < g.oc; ++oc) {
      const int64_t grp = oc / ocg;
      const int32_t b = bias.defined() ? bias.data<int32_t>()[oc] : 0;
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int32_t acc = 0;
          for (int64_t icl = 0; icl < icg; ++icl)
            for (int64_t ky = 0; ky < g.kh; ++ky) {
              const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
              if (iy < 0 || iy >= g.ih) continue;
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
                if (ix < 0 || ix >= g.iw) continue;
                const int64_t ic = grp * icg + icl;
                const int32_t xv = value_at(x, ((n * g.ic + ic) * g.ih + iy) * g.iw + ix) - p.x_zp;
                const int32_t wv = value_at(w, ((oc * icg + icl) * g.kh + ky) * g.kw + kx) - p.w_zp[oc];
                acc += xv * wv;
              }
            }
          const int64_t i = ((n * g.oc + oc) * g.oh + oy) * g.ow + ox;
          const int32_t q = requantize(acc, b, p.multiplier[oc], p.y_zp, p.bounds.lo, p.bounds.hi);
          if (y.dtype() == DType::u8)
            y.data<uint8_t>()[i] = static_cast<uint8_t>(q);
          else
            y.data<int8_t>()[i] = static_cast<int8_t>(q);
        }
    }
}

namespace {
ir::OpSchema qconv_schema(const char* op_type, const char* domain, bool fused) {
  ir::OpSchema s;
  s.op_type = op_type;
  s.domain = domain;
  s.min_inputs = 8;
  s.max_inputs = 9;
  s.attributes = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"};
  if (fused) {
    s.attributes.push_back("activation");
    s.attributes.push_back("activation_params");
  }
  // The weight and bias slots: model statistics count them as parameters, and the plan prepares
  // (packs) a node only when they are constants. Never trained (no backward).
  s.trainable_inputs = {kQW, kQBias};
  s.infer = infer;
  s.macs = macs;
  s.forward = qlinear_conv_forward_ref;
  return s;
}
}  // namespace

ir::OpSchema qlinear_conv_schema() { return qconv_schema("QLinearConv", "", false); }
ir::OpSchema qlinear_fused_conv_schema() { return qconv_schema("QLinearFusedConv", ir::kLeancnnDomain, true); }

}  // namespace leancnn::ops
