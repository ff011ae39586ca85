// BinaryConv (ai.leancnn): the reference, one tap at a time (leancnn/ops/binary_conv.h).
#include "leancnn/ops/binary_conv.h"

#include <vector>

#include "leancnn/ops/binary_net.h"
#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

ConvGeometry binary_conv_geometry(const ir::Node& node, const Shape& src, const Shape& weights) {
  if (src.size() == 2) {
    if (weights.size() != 2 || weights[1] != src[1])
      fail(ErrorKind::bad_input, "BinaryConv ", node.label(), ": a 2-D input ", shape_str(src), " needs 2-D weights [OC, ",
           src[1], "], got ", shape_str(weights));
    ConvGeometry g;
    g.n = src[0];
    g.ic = src[1];
    g.oc = weights[0];
    g.ih = g.iw = g.oh = g.ow = g.kh = g.kw = 1;
    return g;
  }
  const ConvGeometry g = conv_geometry(node, src, weights);
  if (g.groups != 1) fail(ErrorKind::bad_input, "BinaryConv ", node.label(), ": group must be 1, got ", g.groups);
  return g;
}

namespace {
std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "X");
  const ir::Value& w = require_input(in, 1, "W");
  require_dtype(x, DType::f32, "input");
  require_dtype(w, DType::f32, "weights");
  const ConvGeometry g = binary_conv_geometry(node, x.shape, w.shape);
  if (in.size() > 2 && in[2]) {
    require_dtype(*in[2], DType::f32, "bias");
    if (in[2]->shape != Shape{g.oc})
      fail(ErrorKind::bad_input, "bias '", in[2]->name, "' must have shape ", g.oc, ", got ", shape_str(in[2]->shape));
  }
  parse_act_scale(node, "input_scale");
  if (x.shape.size() == 2) return {{{g.n, g.oc}, DType::f32}};
  return {{{g.n, g.oc, g.oh, g.ow}, DType::f32}};
}

int64_t macs(const ir::Node& node, const std::vector<const ir::Value*>& in, const std::vector<const ir::Value*>&) {
  return binary_conv_geometry(node, in[0]->shape, in[1]->shape).macs();
}
}  // namespace

void binary_conv_forward_ref(ir::ForwardCtx& ctx) {
  const Tensor x = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const Tensor w = ctx.inputs[1].is_contiguous() ? ctx.inputs[1] : ctx.inputs[1].clone();
  const bool has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].defined();
  const Tensor b = has_bias ? ctx.inputs[2].clone() : Tensor();
  const ConvGeometry g = binary_conv_geometry(ctx.node, x.shape(), w.shape());
  const bool scaled = parse_act_scale(ctx.node, "input_scale") == ActScale::mean_abs;
  std::vector<float> alpha;
  std::string why;
  if (!binary_row_scales(w, alpha, &why))
    fail(ErrorKind::bad_input, "BinaryConv ", ctx.node.label(), ": weights are not binary: ", why);
  const float* src = x.data<float>();
  const float* wt = w.data<float>();
  float* dst = ctx.outputs[0].data<float>();
  const int64_t image = g.ic * g.ih * g.iw;
  for (int64_t n = 0; n < g.n; ++n) {
    const float beta = scaled ? mean_abs_scale(src + n * image, image) : 1.f;
    for (int64_t oc = 0; oc < g.oc; ++oc)
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t dot = 0;
          for (int64_t ic = 0; ic < g.ic; ++ic)
            for (int64_t ky = 0; ky < g.kh; ++ky)
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
                const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
                if (iy < 0 || iy >= g.ih || ix < 0 || ix >= g.iw) continue;  // padding: adds 0
                const bool xs = sign_bit(src[((n * g.ic + ic) * g.ih + iy) * g.iw + ix]);
                const bool ws = sign_bit(wt[((oc * g.ic + ic) * g.kh + ky) * g.kw + kx]);
                dot += xs == ws ? 1 : -1;
              }
          dst[((n * g.oc + oc) * g.oh + oy) * g.ow + ox] =
              binary_conv_output(dot, alpha[static_cast<size_t>(oc)], beta, has_bias ? b.data<float>()[oc] : 0.f);
        }
  }
}

ir::OpSchema binary_conv_schema() {
  ir::OpSchema s;
  s.op_type = "BinaryConv";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 2;
  s.max_inputs = 3;
  s.attributes = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", "input_scale"};
  s.infer = infer;
  s.macs = macs;
  s.forward = binary_conv_forward_ref;
  return s;
}

}  // namespace leancnn::ops
