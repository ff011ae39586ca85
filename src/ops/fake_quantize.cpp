// ai.leancnn::FakeQuantize: y = dequantize(quantize(x)) exactly as ONNX QuantizeLinear ->
// DequantizeLinear (quant_math.h), with the gradients of quantization-aware training:
// straight-through (STE), LSQ (learned step size, Esser et al. 2020) and DoReFa (Zhou et al. 2016).
#include "leancnn/ops/fake_quantize.h"

#include <cfenv>
#include <cmath>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/quant_math.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

void fake_quant_range(int bits, bool is_signed, bool narrow, int32_t& qmin, int32_t& qmax) {
  if (bits == 32) {
    // Keep one step of headroom so the f32 clamp in quantize_value converts without overflow.
    qmin = -(1 << 30);
    qmax = 1 << 30;
    return;
  }
  if (is_signed) {
    qmax = (1 << (bits - 1)) - 1;
    qmin = narrow ? -qmax : -qmax - 1;
  } else {
    qmin = 0;
    qmax = (1 << bits) - 1;
  }
}

FakeQuantAttrs fake_quant_attrs(const ir::Node& node) {
  FakeQuantAttrs a;
  const int64_t bits = node.attrs.get_int("bits", 8);
  a.is_signed = node.attrs.get_int("signed", 0) != 0;
  a.narrow = node.attrs.get_int("narrow", 0) != 0;
  a.method = node.attrs.get_string("method", "ste");
  a.axis = node.attrs.get_int("axis", 1);
  a.grad_scale = node.attrs.get_float("grad_scale", 0.f);
  if (a.method != "ste" && a.method != "lsq" && a.method != "dorefa")
    fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": attribute 'method' must be ste, lsq or dorefa, got '",
         a.method, "'");
  if (!((bits >= 2 && bits <= 8) || bits == 32))
    fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": attribute 'bits' must be in 2..8 (or 32 for an s32 bias), got ",
         bits);
  a.bits = static_cast<int>(bits);
  if (a.bits == 32 && (!a.is_signed || a.method != "ste"))
    fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": bits 32 (a bias) needs signed = 1 and method ste");
  if (!(a.grad_scale >= 0.f) || !std::isfinite(a.grad_scale))
    fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": attribute 'grad_scale' must be >= 0, got ", a.grad_scale);
  if (a.method == "dorefa" && a.is_signed) {
    // DoReFa's 2^b weight levels are the odd integers -(2^b - 1) .. 2^b - 1 times the scale:
    // they deploy as s8, so b <= 7.
    if (a.bits > 7)
      fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": signed DoReFa (weights) needs bits <= 7 to deploy as s8, got ",
           a.bits);
    a.qmax = (1 << a.bits) - 1;
    a.qmin = -a.qmax;
  } else {
    fake_quant_range(a.bits, a.is_signed, a.narrow, a.qmin, a.qmax);
  }
  return a;
}

namespace {
// Channel geometry: element i belongs to channel (i / inner) % channels.
struct Channels {
  int64_t channels = 1, inner = 1;
  int64_t of(int64_t i) const { return channels == 1 ? 0 : (i / inner) % channels; }
};

Channels channels_of(const ir::Node& node, const Shape& x, const Shape& scale, int64_t axis_attr) {
  Channels c;
  if (scale.empty() || (scale.size() == 1 && scale[0] == 1)) return c;
  if (scale.size() != 1)
    fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": scale must be a scalar (per-tensor) or 1-D (per-channel), got ",
         shape_str(scale));
  const int64_t axis = normalize_axis(axis_attr, static_cast<int64_t>(x.size()), "FakeQuantize axis");
  if (scale[0] != x[axis])
    fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": per-channel scale has ", scale[0], " values but input dim ",
         axis, " of ", shape_str(x), " is ", x[axis]);
  c.channels = x[axis];
  for (size_t k = axis + 1; k < x.size(); ++k) c.inner *= x[k];
  return c;
}

Channels channels_along(const Shape& x, int64_t axis, int64_t channels) {
  Channels c;
  if (channels == 1) return c;
  c.channels = channels;
  for (size_t k = axis + 1; k < x.size(); ++k) c.inner *= x[k];
  return c;
}

DType zero_point_dtype(const FakeQuantAttrs& a) { return a.bits == 32 ? DType::s32 : a.is_signed ? DType::s8 : DType::u8; }

int32_t zero_point_at(const Tensor& zp, int64_t c) {
  if (!zp.defined()) return 0;
  const int64_t i = zp.numel() == 1 ? 0 : c;
  switch (zp.dtype()) {
    case DType::u8: return zp.data<uint8_t>()[i];
    case DType::s8: return zp.data<int8_t>()[i];
    default: return zp.data<int32_t>()[i];
  }
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const FakeQuantAttrs a = fake_quant_attrs(node);
  const ir::Value& x = require_input(in, 0, "x");
  require_dtype(x, DType::f32, "input x");
  const ir::Value& scale = require_input(in, 1, "scale");
  require_dtype(scale, DType::f32, "scale");
  channels_of(node, x.shape, scale.shape, a.axis);
  if (in.size() > 2 && in[2]) {
    const ir::Value& zp = *in[2];
    require_dtype(zp, zero_point_dtype(a), "zero_point (u8 when unsigned, s8 when signed, s32 for bits 32)");
    if (shape_numel(zp.shape) != shape_numel(scale.shape))
      fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": zero point '", zp.name, "' has shape ", shape_str(zp.shape),
           " but the scale has shape ", shape_str(scale.shape), "; they must match");
    if (zp.is_initializer())
      for (int64_t c = 0; c < zp.data.numel(); ++c) {
        const int32_t z = zero_point_at(zp.data, c);
        const bool must_be_zero = a.bits == 32 || (a.method == "dorefa" && a.is_signed);
        if ((must_be_zero && z != 0) || z < a.qmin || z > a.qmax)
          fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": zero point ", z, " is outside [", a.qmin, ", ",
               a.qmax, "]", must_be_zero ? " or not 0 (required for a bias and for DoReFa weights)" : "");
      }
  }
  return {{x.shape, DType::f32}};
}

void check_scales(const ir::Node& node, const Tensor& scale) {
  for (int64_t c = 0; c < scale.numel(); ++c) {
    const float s = scale.data<float>()[c];
    if (!(s > 0.f) || !std::isfinite(s))
      fail(ErrorKind::bad_input, "FakeQuantize ", node.label(), ": scale[", c, "] = ", s,
           " must be a finite value > 0 (if it was learned, lower the learning rate)");
  }
}

Tensor zp_input(const std::vector<Tensor>& inputs) { return inputs.size() > 2 ? inputs[2] : Tensor(); }
}  // namespace

Tensor fake_quant_integers(const ir::Node& node, const Tensor& x0, const Tensor& scale, const Tensor& zp) {
  const FakeQuantAttrs a = fake_quant_attrs(node);
  const Tensor x = x0.is_contiguous() ? x0 : x0.clone();
  const Channels ch = channels_of(node, x.shape(), scale.shape(), a.axis);
  check_scales(node, scale);
  const float* s = scale.data<float>();
  Tensor q = Tensor::empty(x.shape(), DType::s32);
  int32_t* dst = q.data<int32_t>();
  if (a.method == "dorefa" && a.is_signed) {
    const int64_t axis = ch.channels == 1 ? 0 : normalize_axis(a.axis, x.rank(), "FakeQuantize axis");
    return dorefa_weight_integers(x, a.bits, axis, ch.channels);
  }
  const float* src = x.data<float>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) {
    const int64_t c = ch.of(i);
    dst[i] = quantize_value(src[i], s[c], zero_point_at(zp, c), a.qmin, a.qmax);
  }
  return q;
}

Tensor dorefa_normalize(const Tensor& w0, int64_t axis, int64_t channels) {
  const Tensor w = w0.is_contiguous() ? w0 : w0.clone();
  const Channels ch = channels_along(w.shape(), axis, channels);
  const float* src = w.data<float>();
  const int64_t n = w.numel();
  std::vector<double> m(ch.channels, 0.0);
  for (int64_t i = 0; i < n; ++i) m[ch.of(i)] = std::max(m[ch.of(i)], std::fabs(std::tanh(static_cast<double>(src[i]))));
  Tensor r = Tensor::empty(w.shape());
  float* dst = r.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const double mc = m[ch.of(i)] > 0 ? m[ch.of(i)] : 1.0;  // all-zero weights: r = 1/2
    dst[i] = static_cast<float>(std::tanh(static_cast<double>(src[i])) / (2 * mc) + 0.5);
  }
  return r;
}

Tensor dorefa_normalize_backward(const Tensor& w0, const Tensor& d_r0, int64_t axis, int64_t channels) {
  const Tensor w = w0.is_contiguous() ? w0 : w0.clone();
  const Tensor d_r = d_r0.is_contiguous() ? d_r0 : d_r0.clone();
  const Channels ch = channels_along(w.shape(), axis, channels);
  const float* src = w.data<float>();
  const float* dr = d_r.data<float>();
  const int64_t n = w.numel();
  // r_i = t_i / (2m) + 1/2 with t = tanh(w), m = max|t| (attained at element am of the channel):
  // d_w_j = (1 - t_j^2) d_r_j / (2m) - [j = am] sign(t_j) (1 - t_j^2) / (2 m^2) sum_i d_r_i t_i.
  std::vector<double> m(ch.channels, 0.0), dot(ch.channels, 0.0);
  std::vector<int64_t> am(ch.channels, -1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = ch.of(i);
    const double t = std::tanh(static_cast<double>(src[i]));
    if (am[c] < 0 || std::fabs(t) > m[c]) {
      m[c] = std::fabs(t);
      am[c] = i;
    }
    dot[c] += dr[i] * t;
  }
  Tensor d_w = Tensor::empty(w.shape());
  float* dst = d_w.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = ch.of(i);
    const double t = std::tanh(static_cast<double>(src[i]));
    if (!(m[c] > 0)) {  // r is constant 1/2 there
      dst[i] = 0.f;
      continue;
    }
    double g = (1 - t * t) * dr[i] / (2 * m[c]);
    if (i == am[c]) g -= (t > 0 ? 1.0 : -1.0) * (1 - t * t) / (2 * m[c] * m[c]) * dot[c];
    dst[i] = static_cast<float>(g);
  }
  return d_w;
}

Tensor dorefa_weight_integers(const Tensor& w, int bits, int64_t axis, int64_t channels) {
  const Tensor r = dorefa_normalize(w, axis, channels);
  const int32_t levels = (1 << bits) - 1;
  Tensor q = Tensor::empty(w.shape(), DType::s32);
  const float* src = r.data<float>();
  int32_t* dst = q.data<int32_t>();
  for (int64_t i = 0, n = w.numel(); i < n; ++i) {
    // quantize_k(r) = round(r (2^k - 1)) / (2^k - 1); w_q = 2 quantize_k(r) - 1 = v / (2^k - 1).
    const int32_t k = quantize_value(src[i], 1.f / static_cast<float>(levels), 0, 0, levels);
    dst[i] = 2 * k - levels;
  }
  return q;
}

namespace {
// round_half_even for |v| < 2^22 by the f32 magic-number trick: adding 1.5 * 2^23 leaves no
// fraction bits, so the FPU rounds half to even (the default mode: the forward checks it). IEEE
// semantics (no -ffast-math) keep (v + m) - m from being simplified to v.
inline float round_small(float v) {
  constexpr float m = 12582912.f;
  return (v + m) - m;
}

// y = (clamp(round(x / s), lo, hi)) * s with lo = qmin - zp, hi = qmax - zp: quantize_value's
// result minus the zero point, then DequantizeLinear's product, for bits <= 8 (|lo|, |hi| <= 255).
// Clamping v to [lo - 1, hi + 1] before rounding changes no result and keeps |v| small.
void fake_quant_fast(const float* src, float* dst, int64_t n, float s, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    float v = src[i] / s;
    v = v < lo - 1.f ? lo - 1.f : v;
    v = v > hi + 1.f ? hi + 1.f : v;
    float r = round_small(v);
    r = r < lo ? lo : r;
    r = r > hi ? hi : r;
    dst[i] = r == r ? r * s : 0.f * s;  // NaN -> q = zp, as quantize_value
  }
}

void forward(ir::ForwardCtx& ctx) {
  const Tensor& scale = ctx.inputs[1];
  const Tensor zp = zp_input(ctx.inputs);
  const FakeQuantAttrs a = fake_quant_attrs(ctx.node);
  const Tensor x = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const Channels ch = channels_of(ctx.node, x.shape(), scale.shape(), a.axis);
  const float* s = scale.data<float>();
  float* dst = ctx.outputs[0].data<float>();
  const bool dorefa_w = a.method == "dorefa" && a.is_signed;
  if (!dorefa_w && a.bits <= 8 && std::fegetround() == FE_TONEAREST) {
    check_scales(ctx.node, scale);
    const float* src = x.data<float>();
    const int64_t n = x.numel(), block = ch.channels == 1 ? n : ch.inner;
    for (int64_t b = 0; b < n; b += block) {
      const int64_t c = ch.of(b);
      const int32_t z = zero_point_at(zp, c);
      fake_quant_fast(src + b, dst + b, block, s[c], static_cast<float>(a.qmin - z), static_cast<float>(a.qmax - z));
    }
    return;
  }
  const Tensor q = fake_quant_integers(ctx.node, x, scale, zp);
  const int32_t* src = q.data<int32_t>();
  for (int64_t i = 0, n = q.numel(); i < n; ++i) {
    const int64_t c = ch.of(i);
    // DequantizeLinear's formula: the difference exact in int32, one f32 rounding.
    dst[i] = static_cast<float>(src[i] - zero_point_at(zp, c)) * s[c];
  }
}

// STE: d_x = d_y where qmin <= x / s + zp <= qmax (the clipping range), else 0. LSQ adds the
// step-size gradient, per element (q - zp) - x / s inside the range, qmin - zp / qmax - zp below /
// above it, times g, summed per scale. DoReFa weights: d_w = 2 s (2^b - 1) * d_r through the
// normalisation (STE through the rounding). STE and DoReFa treat the scale as a constant (0).
void backward(ir::BackwardCtx& ctx) {
  const FakeQuantAttrs a = fake_quant_attrs(ctx.node);
  const Tensor x = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const Tensor& scale = ctx.inputs[1];
  const Tensor zp = zp_input(ctx.inputs);
  const Channels ch = channels_of(ctx.node, x.shape(), scale.shape(), a.axis);
  const float* s = scale.data<float>();
  const float* src = x.data<float>();
  const float* d_dst = ctx.d_outputs[0].data<float>();
  const int64_t n = x.numel();
  const bool want_x = !ctx.d_inputs.empty() && ctx.d_inputs[0].defined();
  const bool want_s = ctx.d_inputs.size() > 1 && ctx.d_inputs[1].defined();
  if (want_s) ctx.d_inputs[1].zero();
  if (a.method == "dorefa" && a.is_signed) {
    if (!want_x) return;
    const int64_t axis = ch.channels == 1 ? 0 : normalize_axis(a.axis, x.rank(), "FakeQuantize axis");
    Tensor d_r = Tensor::empty(x.shape());
    const float levels = static_cast<float>(a.qmax);
    for (int64_t i = 0; i < n; ++i) d_r.data<float>()[i] = 2.f * s[ch.of(i)] * levels * d_dst[i];
    ctx.d_inputs[0].copy_from(dorefa_normalize_backward(x, d_r, axis, ch.channels));
    return;
  }
  const bool lsq = a.method == "lsq";
  std::vector<double> d_s(ch.channels, 0.0);
  float* d_src = want_x ? ctx.d_inputs[0].data<float>() : nullptr;
  const int64_t block = ch.channels == 1 ? n : ch.inner;
  for (int64_t b = 0; b < n; b += block) {
    const int64_t c = ch.of(b);
    const int32_t z = zero_point_at(zp, c);
    const float sc = s[c], lo = static_cast<float>(a.qmin - z), hi = static_cast<float>(a.qmax - z);
    double acc = 0;
    for (int64_t i = b; i < b + block; ++i) {
      const float v = src[i] / sc;  // f32, as quantize_value divides
      const bool inside = v >= lo && v <= hi;
      if (d_src) d_src[i] = inside ? d_dst[i] : 0.f;
      if (lsq && want_s) acc += static_cast<double>(inside ? round_small(v) - v : (v < lo ? lo : hi)) * d_dst[i];
    }
    d_s[c] += acc;
  }
  if (lsq && want_s) {
    const double per_scale = static_cast<double>(n) / static_cast<double>(ch.channels);
    const double g = a.grad_scale > 0.f ? a.grad_scale : 1.0 / std::sqrt(per_scale * a.qmax);
    for (int64_t c = 0; c < scale.numel(); ++c)
      ctx.d_inputs[1].data<float>()[c] = static_cast<float>(g * d_s[ch.channels == 1 ? 0 : c]);
  }
}
}  // namespace

ir::OpSchema fake_quantize_schema() {
  ir::OpSchema s;
  s.op_type = "FakeQuantize";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 2;
  s.max_inputs = 3;
  s.attributes = {"bits", "signed", "narrow", "method", "axis", "grad_scale"};
  // The scale is a learnable parameter (LSQ). STE and DoReFa give it a zero gradient, and the
  // optimizer exempts it from weight decay (OptimizerOptions::no_decay, filled by the QAT pass).
  s.trainable_inputs = {1};
  s.non_differentiable_inputs = {2};
  s.infer = infer;
  s.forward = forward;
  s.backward = backward;
  return s;
}

}  // namespace leancnn::ops
