// Uniform (nearest / stochastic) and logarithmic quantizers.
#include "leancnn/compress/quantize/quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "leancnn/core/error.h"
#include "leancnn/ops/quant_math.h"

namespace leancnn::compress::quantize {

Rounding rounding_from_name(const std::string& name) {
  if (name == "nearest") return Rounding::nearest;
  if (name == "stochastic") return Rounding::stochastic;
  fail(ErrorKind::usage, "unknown rounding '", name, "' (nearest or stochastic)");
}

namespace {
// Channel count and the size of one channel's inner block for per-channel parameters.
struct ChannelLayout {
  int64_t channels = 1, inner = 1;
};

ChannelLayout layout_of(const Tensor& t, const QuantParams& p) {
  ChannelLayout l;
  if (p.axis < 0) {
    l.inner = t.numel();
    if (p.scale.size() != 1 || p.zero_point.size() != 1)
      fail(ErrorKind::internal, "per-tensor quantization needs one scale and zero point, got ", p.scale.size());
    return l;
  }
  if (p.axis >= t.rank()) fail(ErrorKind::bad_input, "quantization axis ", p.axis, " >= rank ", t.rank());
  l.channels = t.dim(static_cast<int>(p.axis));
  for (int d = static_cast<int>(p.axis) + 1; d < t.rank(); ++d) l.inner *= t.dim(d);
  if (static_cast<int64_t>(p.scale.size()) != l.channels || static_cast<int64_t>(p.zero_point.size()) != l.channels)
    fail(ErrorKind::bad_input, "per-channel quantization: ", p.scale.size(), " scales for ", l.channels, " channels");
  return l;
}
}  // namespace

Tensor quantize_tensor(const Tensor& x, const QuantParams& p, Rounding rounding, Rng* rng) {
  if (x.dtype() != DType::f32) fail(ErrorKind::bad_input, "quantize: expected f32, got ", dtype_name(x.dtype()));
  if (rounding == Rounding::stochastic && rng == nullptr) fail(ErrorKind::internal, "stochastic rounding needs an Rng");
  const Tensor src = x.is_contiguous() ? x : x.clone();
  const ChannelLayout l = layout_of(src, p);
  const int qmin = p.grid.qmin(), qmax = p.grid.qmax();
  Tensor dst = Tensor::empty(src.shape(), p.grid.is_signed ? DType::s8 : DType::u8);
  const float* s = src.data<float>();
  const int64_t n = src.numel();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i / l.inner) % l.channels;
    const float scale = p.scale[c];
    const int zp = p.zero_point[c];
    int32_t q;
    if (rounding == Rounding::nearest) {
      q = ops::quantize_value(s[i], scale, zp, qmin, qmax);
    } else {
      const float v = s[i] / scale;
      const float lo = std::floor(v);
      const float up = rng->uniform() < v - lo ? 1.f : 0.f;
      const float r = std::clamp(lo + up + static_cast<float>(zp), static_cast<float>(qmin), static_cast<float>(qmax));
      q = static_cast<int32_t>(r);
    }
    if (p.grid.is_signed) dst.data<int8_t>()[i] = static_cast<int8_t>(q);
    else dst.data<uint8_t>()[i] = static_cast<uint8_t>(q);
  }
  return dst;
}

Tensor dequantize_tensor(const Tensor& q, const QuantParams& p) {
  if (q.dtype() != DType::s8 && q.dtype() != DType::u8 && q.dtype() != DType::s32)
    fail(ErrorKind::bad_input, "dequantize: expected s8, u8 or s32, got ", dtype_name(q.dtype()));
  const Tensor src = q.is_contiguous() ? q : q.clone();
  const ChannelLayout l = layout_of(src, p);
  Tensor dst = Tensor::empty(src.shape());
  float* d = dst.data<float>();
  for (int64_t i = 0, n = src.numel(); i < n; ++i) {
    const int64_t c = (i / l.inner) % l.channels;
    int32_t v = 0;
    if (src.dtype() == DType::s8) v = src.data<int8_t>()[i];
    else if (src.dtype() == DType::u8) v = src.data<uint8_t>()[i];
    else v = src.data<int32_t>()[i];
    // The same expression as the DequantizeLinear reference: (float)(v - zp) * scale.
    d[i] = static_cast<float>(v - p.zero_point[c]) * p.scale[c];
  }
  return dst;
}

LogQuantized log2_quantize(const Tensor& w, int64_t axis, int levels) {
  if (levels < 1 || levels > 7) fail(ErrorKind::usage, "log quantization: levels must be 1..7, got ", levels);
  if (w.dtype() != DType::f32) fail(ErrorKind::bad_input, "log quantization: expected f32 weights");
  const Tensor src = w.is_contiguous() ? w : w.clone();
  LogQuantized out;
  out.params.grid = weight_grid(8);
  out.params.axis = axis;
  const int64_t channels = axis < 0 ? 1 : src.dim(static_cast<int>(axis));
  out.params.scale.assign(channels, 1.f);
  out.params.zero_point.assign(channels, 0);
  out.params.lo.assign(channels, 0.f);
  out.params.hi.assign(channels, 0.f);
  const ChannelLayout l = layout_of(src, out.params);
  const float* s = src.data<float>();
  const int64_t n = src.numel();
  std::vector<float> alpha(channels, 0.f);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i / l.inner) % l.channels;
    alpha[c] = std::max(alpha[c], std::fabs(s[i]));
  }
  for (int64_t c = 0; c < channels; ++c) {
    if (alpha[c] > 0.f) out.params.scale[c] = alpha[c] / 64.f;
    out.params.lo[c] = -alpha[c], out.params.hi[c] = alpha[c];
  }
  out.q = Tensor::empty(src.shape(), DType::s8);
  int8_t* q = out.q.data<int8_t>();
  const double smallest = std::ldexp(1.0, -(levels - 1));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i / l.inner) % l.channels;
    const double r = alpha[c] > 0.f ? std::fabs(static_cast<double>(s[i])) / alpha[c] : 0.0;
    if (r < smallest / 2) {
      q[i] = 0;
      continue;
    }
    const int k = std::clamp(static_cast<int>(std::lround(-std::log2(r))), 0, levels - 1);
    const int mag = 64 >> k;
    q[i] = static_cast<int8_t>(s[i] < 0.f ? -mag : mag);
  }
  return out;
}

double sqnr_db(const Tensor& x, const Tensor& x_hat) {
  LEANCNN_CHECK(x.numel() == x_hat.numel());
  double sig = 0, noise = 0;
  for (int64_t i = 0, n = x.numel(); i < n; ++i) {
    const double a = x.at(i), d = a - x_hat.at(i);
    sig += a * a;
    noise += d * d;
  }
  if (noise == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(sig / noise);
}

}  // namespace leancnn::compress::quantize
