// Shared scalar quantization math (see quant_math.h). Compiled without FMA flags, so
// multiply-then-add stays two roundings (the kernels' SIMD code uses explicit intrinsics for the
// same reason).
#include "leancnn/ops/quant_math.h"

#include <cmath>

#include "leancnn/core/error.h"

namespace leancnn::ops {

float round_half_even(float x) {
  if (!(std::fabs(x) < 8388608.f)) return x;  // |x| >= 2^23 is an integer already (or NaN/inf)
  const float r = std::floor(x);
  const float frac = x - r;  // exact: x and floor(x) share the exponent range below 2^23
  if (frac > 0.5f) return r + 1.f;
  if (frac < 0.5f) return r;
  return std::fmod(r, 2.f) == 0.f ? r : r + 1.f;
}

int32_t quantize_value(float x, float scale, int zp, int qmin, int qmax) {
  float v = round_half_even(x / scale);
  if (std::isnan(v)) v = 0.f;
  // Clamp before converting so huge values cannot overflow the int conversion.
  const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return static_cast<int32_t>(v) + zp;
}

namespace {
template <typename T>
void quantize_row_impl(const float* x, int64_t n, float scale, int zp, int qmin, int qmax, T* y) {
  const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
  // 1.5 * 2^23: adding and subtracting it rounds |v| <= 2^22 to an integer, half to even.
  constexpr float kMagic = 12582912.f;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    v = v == v ? v : 0.f;  // NaN -> the zero point, as quantize_value
    v = v < lo ? lo : v;   // clamping first keeps |v| small; rounding is monotone, so the
    v = v > hi ? hi : v;   // result equals round-then-clamp
    v = (v + kMagic) - kMagic;
    y[i] = static_cast<T>(static_cast<int32_t>(v) + zp);
  }
}
}  // namespace

void quantize_row(const float* x, int64_t n, float scale, int zp, int qmin, int qmax, uint8_t* y) {
  quantize_row_impl(x, n, scale, zp, qmin, qmax, y);
}

void quantize_row(const float* x, int64_t n, float scale, int zp, int qmin, int qmax, int8_t* y) {
  quantize_row_impl(x, n, scale, zp, qmin, qmax, y);
}

float requant_multiplier(float src_scale, float weight_scale, float dst_scale) {
  const float sw = src_scale * weight_scale;
  return sw / dst_scale;
}

int32_t requantize(int32_t acc, int32_t bias, float multiplier, int32_t dst_zp, int32_t lo, int32_t hi) {
  const float sum = static_cast<float>(acc) + static_cast<float>(bias);
  const float scaled = sum * multiplier;
  float v = scaled + static_cast<float>(dst_zp);
  const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
  v = v < flo ? flo : v;  // min first, then max (Clip's order: lo > hi gives hi)
  v = v > fhi ? fhi : v;
  if (std::isnan(v)) v = fhi;  // only reachable with a NaN multiplier
  return static_cast<int32_t>(round_half_even(v));
}

QuantBounds relu_bounds(int32_t zp, int32_t qmin, int32_t qmax) { return {zp > qmin ? zp : qmin, qmax}; }

QuantBounds clip_bounds(float min, float max, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  return {quantize_value(min, scale, zp, qmin, qmax), quantize_value(max, scale, zp, qmin, qmax)};
}

std::vector<uint8_t> pack_int4(const int8_t* values, int64_t count) {
  std::vector<uint8_t> packed(static_cast<size_t>((count + 1) / 2), 0);
  for (int64_t i = 0; i < count; ++i) {
    const int v = values[i];
    if (v < -8 || v > 7)
      fail(ErrorKind::bad_input, "pack_int4: value ", v, " at element ", i, " is outside the 4-bit range [-8, 7]");
    const uint8_t nibble = static_cast<uint8_t>(v & 0xF);
    packed[i / 2] |= static_cast<uint8_t>(i % 2 == 0 ? nibble : nibble << 4);
  }
  return packed;
}

void unpack_int4(const uint8_t* packed, int64_t count, int8_t* values) {
  for (int64_t i = 0; i < count; ++i) {
    const int nibble = (packed[i / 2] >> (i % 2 == 0 ? 0 : 4)) & 0xF;
    values[i] = static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble);
  }
}

}  // namespace leancnn::ops
