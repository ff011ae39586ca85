// FusedInvertedResidual (ai.leancnn): expansion 1x1, depthwise kxk, projection 1x1 (+ residual)
// in one node (fused_inverted_residual.h). The reference runs the three stages by direct loops;
// there is no backward (inference only: a plan fuses it after training).
#include "leancnn/ops/fused_inverted_residual.h"

#include <vector>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {

void require_shape(const Shape& s, const Shape& want, const char* what) {
  if (s != want) fail(ErrorKind::bad_input, what, " must have shape ", shape_str(want), ", got ", shape_str(s));
}

const Tensor* optional(const ir::ForwardCtx& ctx, int slot) {
  return ctx.inputs.size() > static_cast<size_t>(slot) && ctx.inputs[static_cast<size_t>(slot)].defined()
             ? &ctx.inputs[static_cast<size_t>(slot)]
             : nullptr;
}

// Y[n][o][p] = act(sum_i W[o][i] X[n][i][p] + B[o] [+ Z]), a 1x1 conv on planes of `pixels`.
void pointwise(const float* x, const float* w, const float* b, const float* z, const FusedEpilogue& act, int64_t n,
               int64_t in, int64_t out, int64_t pixels, float* y) {
  std::vector<double> acc(static_cast<size_t>(pixels));
  for (int64_t img = 0; img < n; ++img)
    for (int64_t o = 0; o < out; ++o) {
      std::fill(acc.begin(), acc.end(), b ? static_cast<double>(b[o]) : 0.0);
      for (int64_t i = 0; i < in; ++i) {
        const double wv = w[o * in + i];
        const float* xp = x + (img * in + i) * pixels;
        for (int64_t p = 0; p < pixels; ++p) acc[static_cast<size_t>(p)] += wv * xp[p];
      }
      const int64_t base = (img * out + o) * pixels;
      for (int64_t p = 0; p < pixels; ++p) {
        float v = static_cast<float>(acc[static_cast<size_t>(p)]);
        if (z) v += z[base + p];
        y[base + p] = apply_epilogue_activation(act, v);
      }
    }
}

void depthwise(const ConvGeometry& g, const float* x, const float* w, const float* b, const FusedEpilogue& act,
               float* y) {
  for (int64_t img = 0; img < g.n; ++img)
    for (int64_t c = 0; c < g.oc; ++c) {
      const float* xp = x + (img * g.ic + c) * g.ih * g.iw;
      const float* wc = w + c * g.kh * g.kw;
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          double s = b ? static_cast<double>(b[c]) : 0.0;
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
            if (iy < 0 || iy >= g.ih) continue;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
              if (ix < 0 || ix >= g.iw) continue;
              s += static_cast<double>(wc[ky * g.kw + kx]) * xp[iy * g.iw + ix];
            }
          }
          y[((img * g.oc + c) * g.oh + oy) * g.ow + ox] = apply_epilogue_activation(act, static_cast<float>(s));
        }
    }
}

void check_bias(const ir::Value* b, int64_t n, const char* what) {
  if (!b) return;
  require_dtype(*b, DType::f32, what);
  require_shape(b->shape, Shape{n}, what);
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, kIrX, "X");
  const ir::Value& wd = require_input(in, kIrWd, "depthwise weights Wd");
  const ir::Value& wp = require_input(in, kIrWp, "projection weights Wp");
  const ir::Value* we = in.size() > kIrWe ? in[kIrWe] : nullptr;
  for (const ir::Value* v : {&x, &wd, &wp, we})
    if (v) require_dtype(*v, DType::f32, v->name.c_str());
  const InvertedResidualGeometry g = inverted_residual_geometry(node, x.shape, we ? &we->shape : nullptr, wd.shape,
                                                                wp.shape);
  if (!g.expand && in.size() > kIrBe && in[kIrBe])
    fail(ErrorKind::bad_input, "expansion bias Be given without expansion weights We");
  check_bias(in.size() > kIrBe ? in[kIrBe] : nullptr, g.m, "expansion bias Be");
  check_bias(in.size() > kIrBd ? in[kIrBd] : nullptr, g.m, "depthwise bias Bd");
  check_bias(in.size() > kIrBp ? in[kIrBp] : nullptr, g.oc, "projection bias Bp");
  const Shape y{g.dw.n, g.oc, g.dw.oh, g.dw.ow};
  if (in.size() > kIrZ && in[kIrZ]) {
    require_dtype(*in[kIrZ], DType::f32, "residual Z");
    require_shape(in[kIrZ]->shape, y, "residual Z (the output's shape)");
  }
  for (const char* prefix : {"expand_", "dw_", ""}) fused_epilogue(node, prefix);
  return {{y, DType::f32}};
}

int64_t macs(const ir::Node& node, const std::vector<const ir::Value*>& in, const std::vector<const ir::Value*>&) {
  const ir::Value* we = in[kIrWe];
  return inverted_residual_geometry(node, in[kIrX]->shape, we ? &we->shape : nullptr, in[kIrWd]->shape,
                                    in[kIrWp]->shape)
      .macs();
}

}  // namespace

InvertedResidualGeometry inverted_residual_geometry(const ir::Node& node, const Shape& x, const Shape* we,
                                                    const Shape& wd, const Shape& wp) {
  if (x.size() != 4) fail(ErrorKind::bad_input, "X must be 4-D NCHW, got ", shape_str(x));
  InvertedResidualGeometry g;
  g.expand = we != nullptr;
  g.c = x[1];
  g.m = g.c;
  if (we) {
    if (we->size() != 4 || (*we)[1] != g.c || (*we)[2] != 1 || (*we)[3] != 1)
      fail(ErrorKind::bad_input, "expansion weights We must be [M, ", g.c, ", 1, 1], got ", shape_str(*we));
    g.m = (*we)[0];
  }
  if (wd.size() != 4 || wd[0] != g.m || wd[1] != 1)
    fail(ErrorKind::bad_input, "depthwise weights Wd must be [", g.m, ", 1, kh, kw], got ", shape_str(wd));
  g.dw = conv_geometry(node, Shape{x[0], g.m, x[2], x[3]}, wd);
  if (!g.dw.depthwise())
    fail(ErrorKind::bad_input, "attribute 'group' must be the depthwise channels ", g.m, ", got ", g.dw.groups);
  if (wp.size() != 4 || wp[1] != g.m || wp[2] != 1 || wp[3] != 1)
    fail(ErrorKind::bad_input, "projection weights Wp must be [OC, ", g.m, ", 1, 1], got ", shape_str(wp));
  g.oc = wp[0];
  return g;
}

void fused_inverted_residual_forward_ref(ir::ForwardCtx& ctx) {
  const Tensor& x = ctx.inputs[kIrX];
  const Tensor* we = optional(ctx, kIrWe);
  const Shape we_shape = we ? we->shape() : Shape{};
  const InvertedResidualGeometry g = inverted_residual_geometry(ctx.node, x.shape(), we ? &we_shape : nullptr,
                                                                ctx.inputs[kIrWd].shape(), ctx.inputs[kIrWp].shape());
  const auto data = [&](int slot) { const Tensor* t = optional(ctx, slot); return t ? t->data<float>() : nullptr; };
  const ConvGeometry& d = g.dw;
  std::vector<float> e;
  const float* dw_in = x.data<float>();
  if (g.expand) {
    e.resize(static_cast<size_t>(d.n * g.m * d.ih * d.iw));
    pointwise(dw_in, we->data<float>(), data(kIrBe), nullptr, fused_epilogue(ctx.node, "expand_"), d.n, g.c, g.m,
              d.ih * d.iw, e.data());
    dw_in = e.data();
  }
  std::vector<float> dwo(static_cast<size_t>(d.n * g.m * d.oh * d.ow));
  depthwise(d, dw_in, data(kIrWd), data(kIrBd), fused_epilogue(ctx.node, "dw_"), dwo.data());
  const Tensor* z = optional(ctx, kIrZ);
  Tensor& y = ctx.outputs[0];
  if (z && z->shape() != y.shape())
    fail(ErrorKind::bad_input, "residual Z ", shape_str(z->shape()), " must have the output's shape ",
         shape_str(y.shape()));
  pointwise(dwo.data(), data(kIrWp), data(kIrBp), z ? z->data<float>() : nullptr, fused_epilogue(ctx.node, ""), d.n,
            g.m, g.oc, d.oh * d.ow, y.data<float>());
}

ir::OpSchema fused_inverted_residual_schema() {
  ir::OpSchema s;
  s.op_type = "FusedInvertedResidual";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = kIrWp + 1;
  s.max_inputs = kIrSlots;
  s.optional_inputs = {kIrWe, kIrBe, kIrBd};  // before Wp, which every block has
  s.attributes = {"auto_pad",       "dilations",  "group",           "kernel_shape",         "pads",
                  "strides",        "activation", "activation_params", "expand_activation", "expand_activation_params",
                  "dw_activation", "dw_activation_params"};
  s.infer = infer;
  s.macs = macs;
  s.forward = fused_inverted_residual_forward_ref;
  s.backward = nullptr;
  return s;
}

}  // namespace leancnn::ops
