// Shared scalar quantization math (docs/int8_runtime.md): rounding, quantize, the requantization
// of an s32 accumulator exactly as the integer kernels compute it, and 4-bit packing. Every
// quantization component uses these; never a private copy (bit-exactness depends on it).
#pragma once
#include <cstdint>
#include <vector>

namespace leancnn::ops {

// Round half to even (IEEE roundTiesToEven), independent of the current FP rounding mode.
float round_half_even(float x);

// ONNX QuantizeLinear of one value: clamp(round_half_even(x / scale) + zp, qmin, qmax), the
// division in f32 (as ONNX Runtime's MLAS). NaN maps to zp (ORT's cvtps2dq gives INT_MIN, we
// define it as 0 before the zero point).
int32_t quantize_value(float x, float scale, int zp, int qmin, int qmax);

// quantize_value over a row of n values (one scale and zero point), written to vectorize. Equal
// to quantize_value element by element under the default FP rounding mode (round to nearest
// even), which it relies on, as oneDNN does.
void quantize_row(const float* x, int64_t n, float scale, int zp, int qmin, int qmax, uint8_t* y);
void quantize_row(const float* x, int64_t n, float scale, int zp, int qmin, int qmax, int8_t* y);

// The f32 factor that takes an accumulator in units of src_scale * weight_scale to units of
// dst_scale: (src_scale * weight_scale) / dst_scale, in that order, in f32.
float requant_multiplier(float src_scale, float weight_scale, float dst_scale);

// Requantization of an s32 accumulator acc = sum (x - x_zp) * w (exact integer) and an s32 bias,
// exactly as the integer kernels (and oneDNN's int8 convolutions) compute it, in f32:
//   v = ((float)acc + (float)bias) * multiplier      (two roundings: add, then multiply; no FMA)
//   v = clamp(v + (float)dst_zp, lo, hi)              (lo/hi: the dtype range narrowed by a fused
//                                                       Relu/Clip, see quantized_activation_bounds)
//   y = round_half_even(v)
// Relu = clamping at dst_zp, exact because rounding is monotone.
int32_t requantize(int32_t acc, int32_t bias, float multiplier, int32_t dst_zp, int32_t lo, int32_t hi);

// The integer range [lo, hi] a quantized output takes after an activation fused into the
// requantization: qmin/qmax narrowed by Relu (lo = max(qmin, zp)) or by Clip(min, max)
// (lo = quantize(min), hi = quantize(max)).
struct QuantBounds {
  int32_t lo, hi;
};
QuantBounds relu_bounds(int32_t zp, int32_t qmin, int32_t qmax);
QuantBounds clip_bounds(float min, float max, float scale, int32_t zp, int32_t qmin, int32_t qmax);

// 4-bit packing (ai.leancnn::UnpackInt4): two signed 4-bit values per byte, the low nibble holds
// the even element (row-major order), the last byte's high nibble is 0 when the count is odd.
// pack_int4 throws Error(bad_input) on a value outside [-8, 7].
std::vector<uint8_t> pack_int4(const int8_t* values, int64_t count);
// Writes `count` values (each in [-8, 7]) unpacked from `packed` (at least (count + 1) / 2 bytes).
void unpack_int4(const uint8_t* packed, int64_t count, int8_t* values);

}  // namespace leancnn::ops
