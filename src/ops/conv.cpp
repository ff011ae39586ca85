// Conv: attributes, shape inference, MACs and the reference forward/backward (direct loops,
// double accumulation: the oracle every fast conv kernel is tested against).
#include "leancnn/ops/conv.h"

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
std::vector<int64_t> pair_attr(const ir::Node& node, const char* name, int64_t def) {
  std::vector<int64_t> v = node.attrs.get_ints(name, {def, def});
  if (v.size() != 2) fail(ErrorKind::bad_input, "attribute '", name, "' must have 2 values for a 2-D conv");
  return v;
}

int64_t out_extent(int64_t in, int64_t pad_sum, int64_t k, int64_t dil, int64_t stride) {
  return (in + pad_sum - dil * (k - 1) - 1) / stride + 1;
}
}  // namespace

ConvGeometry conv_geometry(const ir::Node& node, const Shape& src, const Shape& weights) {
  if (src.size() != 4) fail(ErrorKind::bad_input, "Conv input must be 4-D NCHW, got ", shape_str(src));
  if (weights.size() != 4) fail(ErrorKind::bad_input, "Conv weights must be 4-D OIHW, got ", shape_str(weights));
  ConvGeometry g;
  g.n = src[0];
  g.ic = src[1];
  g.ih = src[2];
  g.iw = src[3];
  g.oc = weights[0];
  g.kh = weights[2];
  g.kw = weights[3];
  g.groups = node.attrs.get_int("group", 1);
  if (g.groups < 1 || g.ic % g.groups || g.oc % g.groups)
    fail(ErrorKind::bad_input, "group ", g.groups, " must divide input channels ", g.ic, " and output channels ", g.oc);
  if (weights[1] * g.groups != g.ic)
    fail(ErrorKind::bad_input, "weights ", shape_str(weights), " expect ", weights[1] * g.groups,
         " input channels, input has ", g.ic);
  auto ks = node.attrs.get_ints("kernel_shape", {g.kh, g.kw});
  if (ks != std::vector<int64_t>{g.kh, g.kw})
    fail(ErrorKind::bad_input, "kernel_shape disagrees with weights ", shape_str(weights));
  auto st = pair_attr(node, "strides", 1);
  auto dl = pair_attr(node, "dilations", 1);
  g.stride_h = st[0];
  g.stride_w = st[1];
  g.dil_h = dl[0];
  g.dil_w = dl[1];
  if (g.stride_h < 1 || g.stride_w < 1 || g.dil_h < 1 || g.dil_w < 1)
    fail(ErrorKind::bad_input, "strides and dilations must be >= 1");
  const std::string auto_pad = node.attrs.get_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    auto p = node.attrs.get_ints("pads", {0, 0, 0, 0});
    if (p.size() != 4) fail(ErrorKind::bad_input, "pads must have 4 values [top, left, bottom, right]");
    g.pad_t = p[0];
    g.pad_l = p[1];
    g.pad_b = p[2];
    g.pad_r = p[3];
  } else if (auto_pad == "VALID") {
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // Output = ceil(in / stride); the extra pad goes at the end (UPPER) or the start (LOWER).
    auto split = [&](int64_t in, int64_t k, int64_t d, int64_t s, int64_t& lo, int64_t& hi) {
      int64_t out = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out - 1) * s + d * (k - 1) + 1 - in);
      lo = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      hi = total - lo;
    };
    split(g.ih, g.kh, g.dil_h, g.stride_h, g.pad_t, g.pad_b);
    split(g.iw, g.kw, g.dil_w, g.stride_w, g.pad_l, g.pad_r);
  } else {
    fail(ErrorKind::bad_input, "auto_pad '", auto_pad, "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
  }
  if (g.pad_t < 0 || g.pad_l < 0 || g.pad_b < 0 || g.pad_r < 0) fail(ErrorKind::bad_input, "pads must be >= 0");
  g.oh = out_extent(g.ih, g.pad_t + g.pad_b, g.kh, g.dil_h, g.stride_h);
  g.ow = out_extent(g.iw, g.pad_l + g.pad_r, g.kw, g.dil_w, g.stride_w);
  if (g.oh < 1 || g.ow < 1)
    fail(ErrorKind::bad_input, "output would be empty: input ", g.ih, "x", g.iw, " is smaller than the dilated kernel");
  return g;
}

namespace {
std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "X");
  const ir::Value& w = require_input(in, 1, "W");
  require_dtype(x, DType::f32, "input");
  require_dtype(w, DType::f32, "weights");
  ConvGeometry g = conv_geometry(node, x.shape, w.shape);
  if (in.size() > 2 && in[2]) {
    const ir::Value& b = *in[2];
    if (b.shape != Shape{g.oc})
      fail(ErrorKind::bad_input, "bias '", b.name, "' must have shape ", g.oc, ", got ", shape_str(b.shape));
  }
  return {{{g.n, g.oc, g.oh, g.ow}, DType::f32}};
}

int64_t macs(const ir::Node& node, const std::vector<const ir::Value*>& in, const std::vector<const ir::Value*>&) {
  return conv_geometry(node, in[0]->shape, in[1]->shape).macs();
}

// Calls f(n, oc, oy, ox, ic, ky, kx, iy, ix) for every valid (in-bounds) tap.
template <typename F>
void for_each_tap(const ConvGeometry& g, F&& f) {
  const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oc = 0; oc < g.oc; ++oc) {
      const int64_t grp = oc / ocg;
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox)
          for (int64_t icl = 0; icl < icg; ++icl)
            for (int64_t ky = 0; ky < g.kh; ++ky) {
              const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
              if (iy < 0 || iy >= g.ih) continue;
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
                if (ix < 0 || ix >= g.iw) continue;
                f(n, oc, oy, ox, grp * icg + icl, icl, ky, kx, iy, ix);
              }
            }
    }
}
}  // namespace

void conv_forward_ref(ir::ForwardCtx& ctx) {
  const Tensor& x = ctx.inputs[0];
  const Tensor& w = ctx.inputs[1];
  const bool has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].defined();
  const ConvGeometry g = conv_geometry(ctx.node, x.shape(), w.shape());
  const float* src = x.data<float>();
  const float* wt = w.data<float>();
  float* dst = ctx.outputs[0].data<float>();
  std::vector<double> acc(static_cast<size_t>(g.n * g.oc * g.oh * g.ow), 0.0);
  const int64_t icg = g.ic / g.groups;
  for_each_tap(g, [&](int64_t n, int64_t oc, int64_t oy, int64_t ox, int64_t ic, int64_t icl, int64_t ky,
                      int64_t kx, int64_t iy, int64_t ix) {
    acc[((n * g.oc + oc) * g.oh + oy) * g.ow + ox] +=
        static_cast<double>(src[((n * g.ic + ic) * g.ih + iy) * g.iw + ix]) *
        wt[((oc * icg + icl) * g.kh + ky) * g.kw + kx];
  });
  const float* bias = has_bias ? ctx.inputs[2].data<float>() : nullptr;
  for (size_t i = 0; i < acc.size(); ++i) {
    const int64_t oc = static_cast<int64_t>(i) / (g.oh * g.ow) % g.oc;
    dst[i] = static_cast<float>(acc[i] + (bias ? bias[oc] : 0.0));
  }
}

void conv_backward_ref(ir::BackwardCtx& ctx) {
  const Tensor& x = ctx.inputs[0];
  const Tensor& w = ctx.inputs[1];
  const ConvGeometry g = conv_geometry(ctx.node, x.shape(), w.shape());
  const Tensor& dy = ctx.d_outputs[0];
  const int64_t icg = g.ic / g.groups;
  const float* src = x.data<float>();
  const float* wt = w.data<float>();
  const float* d_dst = dy.data<float>();
  const bool want_dx = ctx.d_inputs[0].defined(), want_dw = ctx.d_inputs[1].defined();
  std::vector<double> dx(want_dx ? x.numel() : 0, 0.0), dw(want_dw ? w.numel() : 0, 0.0);
  for_each_tap(g, [&](int64_t n, int64_t oc, int64_t oy, int64_t ox, int64_t ic, int64_t icl, int64_t ky,
                      int64_t kx, int64_t iy, int64_t ix) {
    const double go = d_dst[((n * g.oc + oc) * g.oh + oy) * g.ow + ox];
    const int64_t xi = ((n * g.ic + ic) * g.ih + iy) * g.iw + ix;
    const int64_t wi = ((oc * icg + icl) * g.kh + ky) * g.kw + kx;
    if (want_dx) dx[xi] += go * wt[wi];
    if (want_dw) dw[wi] += go * src[xi];
  });
  if (want_dx)
    for (size_t i = 0; i < dx.size(); ++i) ctx.d_inputs[0].data<float>()[i] = static_cast<float>(dx[i]);
  if (want_dw)
    for (size_t i = 0; i < dw.size(); ++i) ctx.d_inputs[1].data<float>()[i] = static_cast<float>(dw[i]);
  if (ctx.d_inputs.size() > 2 && ctx.d_inputs[2].defined()) {
    float* db = ctx.d_inputs[2].data<float>();
    for (int64_t oc = 0; oc < g.oc; ++oc) {
      double s = 0;
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t p = 0; p < g.oh * g.ow; ++p) s += d_dst[(n * g.oc + oc) * g.oh * g.ow + p];
      db[oc] = static_cast<float>(s);
    }
  }
}

ir::OpSchema conv_schema() {
  ir::OpSchema s;
  s.op_type = "Conv";
  s.min_inputs = 2;
  s.max_inputs = 3;
  s.attributes = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"};
  s.trainable_inputs = {1, 2};
  s.infer = infer;
  s.macs = macs;
  s.forward = conv_forward_ref;
  s.backward = conv_backward_ref;
  return s;
}

}  // namespace leancnn::ops
