// The shared parts of the QLinear ops (qlinear.h): parameters, the fused activation, and the
// shape-inference checks of the quantization operands.
#include <cmath>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/qlinear.h"
#include "qlinear_infer.h"

namespace leancnn::ops {

namespace {
int32_t int_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::u8: return t.data<uint8_t>()[i];
    case DType::s8: return t.data<int8_t>()[i];
    case DType::s32: return t.data<int32_t>()[i];
    default: fail(ErrorKind::bad_input, "a zero point must be u8, s8 or s32, got ", dtype_name(t.dtype()));
  }
}

float checked_scale(const Tensor& t, int64_t i, const char* what) {
  const float s = t.data<float>()[i];
  if (!(s > 0.f) || !std::isfinite(s))
    fail(ErrorKind::bad_input, what, " must be positive and finite, got ", s, " (element ", i, ")");
  return s;
}
}  // namespace

QActivation qlinear_activation(const ir::Node& node, float* clip_min, float* clip_max) {
  const std::string act = node.attrs.get_string("activation", "");
  const std::vector<float> params = node.attrs.get_floats("activation_params", {});
  if (act == "Clip") {
    if (params.size() != 2 || std::isnan(params[0]) || std::isnan(params[1]))
      fail(ErrorKind::bad_input, node.label(), ": attribute 'activation_params' must be [min, max] (not NaN) for Clip");
    *clip_min = params[0];
    *clip_max = params[1];
    return QActivation::clip;
  }
  if (!params.empty())
    fail(ErrorKind::bad_input, node.label(), ": attribute 'activation_params' must be empty for activation '", act, "'");
  if (act.empty()) return QActivation::none;
  if (act == "Relu") return QActivation::relu;
  fail(ErrorKind::bad_input, node.label(), ": attribute 'activation' '", act, "' is not one of \"\", Relu, Clip");
}

QLinearParams qlinear_params(const ir::Node& node, const std::vector<Tensor>& in, int64_t oc) {
  QLinearParams p;
  auto get = [&](int slot) { return slot < static_cast<int>(in.size()) ? in[slot] : Tensor(); };
  const Tensor xs = get(kQXScale), xz = get(kQXZp), ws = get(kQWScale), wz = get(kQWZp), ys = get(kQYScale),
               yz = get(kQYZp);
  if (!xs.defined() || !ws.defined()) fail(ErrorKind::bad_input, node.label(), ": x_scale and w_scale are required");
  p.x_scale = checked_scale(xs, 0, "x_scale");
  p.x_zp = xz.defined() ? int_at(xz, 0) : 0;
  if (ws.numel() != 1 && ws.numel() != oc)
    fail(ErrorKind::bad_input, node.label(), ": w_scale has ", ws.numel(), " values; it needs 1 or ", oc,
         " (one per output channel)");
  for (int64_t c = 0; c < oc; ++c) {
    const int64_t i = ws.numel() == 1 ? 0 : c;
    p.w_scale.push_back(checked_scale(ws, i, "w_scale"));
    p.w_zp.push_back(wz.defined() ? int_at(wz, wz.numel() == 1 ? 0 : i) : 0);
    p.w_zp_all_zero = p.w_zp_all_zero && p.w_zp.back() == 0;
  }
  float cmin = 0.f, cmax = 0.f;
  const QActivation act = qlinear_activation(node, &cmin, &cmax);
  p.float_output = !ys.defined();
  if (p.float_output) {
    if (act == QActivation::clip)
      fail(ErrorKind::bad_input, node.label(), ": a fused Clip needs a quantized output (y_scale)");
    p.float_relu = act == QActivation::relu;
    p.y_dtype = DType::f32;
    for (int64_t c = 0; c < oc; ++c) p.multiplier.push_back(p.x_scale * p.w_scale[c]);
    return p;
  }
  p.y_scale = checked_scale(ys, 0, "y_scale");
  p.y_dtype = yz.defined() ? yz.dtype() : DType::u8;
  p.y_zp = yz.defined() ? int_at(yz, 0) : 0;
  const int32_t qmin = p.y_dtype == DType::u8 ? 0 : -128, qmax = p.y_dtype == DType::u8 ? 255 : 127;
  p.bounds = act == QActivation::relu   ? relu_bounds(p.y_zp, qmin, qmax)
             : act == QActivation::clip ? clip_bounds(cmin, cmax, p.y_scale, p.y_zp, qmin, qmax)
                                        : QuantBounds{qmin, qmax};
  for (int64_t c = 0; c < oc; ++c) p.multiplier.push_back(requant_multiplier(p.x_scale, p.w_scale[c], p.y_scale));
  return p;
}

namespace detail {
namespace {
bool is_q8(DType t) { return t == DType::u8 || t == DType::s8; }

void require_single(const std::vector<const ir::Value*>& in, int slot, const char* what, bool f32) {
  const ir::Value& v = require_input(in, slot, what);
  if (shape_numel(v.shape) != 1)
    fail(ErrorKind::bad_input, what, " '", v.name, "' must hold one value (per-tensor), got shape ", shape_str(v.shape));
  if (f32) require_dtype(v, DType::f32, what);
}
}  // namespace

DType check_qlinear_operands(const std::vector<const ir::Value*>& in, int64_t oc, bool y_optional) {
  const ir::Value& x = require_input(in, kQX, "x");
  const ir::Value& w = require_input(in, kQW, "w");
  if (!is_q8(x.dtype)) fail(ErrorKind::bad_input, "x '", x.name, "' must be u8 or s8, got ", dtype_name(x.dtype));
  if (!is_q8(w.dtype)) fail(ErrorKind::bad_input, "w '", w.name, "' must be s8 or u8, got ", dtype_name(w.dtype));
  require_single(in, kQXScale, "x_scale", true);
  if (in.size() > kQXZp && in[kQXZp]) {
    require_single(in, kQXZp, "x_zero_point", false);
    require_dtype(*in[kQXZp], x.dtype, "x_zero_point");
  }
  const ir::Value& ws = require_input(in, kQWScale, "w_scale");
  require_dtype(ws, DType::f32, "w_scale");
  const int64_t nws = shape_numel(ws.shape);
  if (nws != 1 && nws != oc)
    fail(ErrorKind::bad_input, "w_scale '", ws.name, "' has ", nws, " values; it needs 1 or ", oc, " (per output channel)");
  if (in.size() > kQWZp && in[kQWZp]) {
    require_dtype(*in[kQWZp], w.dtype, "w_zero_point");
    if (shape_numel(in[kQWZp]->shape) != nws)
      fail(ErrorKind::bad_input, "w_zero_point '", in[kQWZp]->name, "' must have as many values as w_scale (", nws, ")");
  }
  if (in.size() > kQBias && in[kQBias]) {
    const ir::Value& b = *in[kQBias];
    require_dtype(b, DType::s32, "bias");
    if (b.shape != Shape{oc}) fail(ErrorKind::bad_input, "bias '", b.name, "' must have shape ", oc, ", got ", shape_str(b.shape));
  }
  const bool has_y = in.size() > kQYScale && in[kQYScale];
  if (!has_y) {
    if (!y_optional) require_input(in, kQYScale, "y_scale");
    return DType::f32;
  }
  require_single(in, kQYScale, "y_scale", true);
  if (in.size() <= kQYZp || !in[kQYZp]) return DType::u8;
  require_single(in, kQYZp, "y_zero_point", false);
  const DType y = in[kQYZp]->dtype;
  if (!is_q8(y)) fail(ErrorKind::bad_input, "y_zero_point '", in[kQYZp]->name, "' must be u8 or s8, got ", dtype_name(y));
  return y;
}
}  // namespace detail

}  // namespace leancnn::ops
