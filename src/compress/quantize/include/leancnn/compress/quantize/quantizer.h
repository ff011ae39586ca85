// Quantizers: f32 tensors to integers and back on a QuantParams grid, with round-to-nearest-even
// (ops::quantize_value, the same rounding as ONNX QuantizeLinear) or seeded stochastic rounding,
// and logarithmic (power-of-two) weight quantization (docs/quantization.md).
#pragma once
#include <cstdint>
#include <string>

#include "leancnn/compress/quantize/observer.h"
#include "leancnn/core/rng.h"
#include "leancnn/core/tensor.h"

namespace leancnn::compress::quantize {

enum class Rounding { nearest, stochastic };
// "nearest" | "stochastic"; Error(usage) otherwise.
Rounding rounding_from_name(const std::string& name);

// q = clamp(round(x / scale) + zp, qmin, qmax) per tensor or per channel (p.axis). Nearest rounds
// half to even; stochastic rounds x / scale up with probability equal to its fractional part
// (unbiased: E[q] = x / scale + zp inside the grid), drawing from `rng` (required then).
// The result is s8 for a signed grid, u8 otherwise (bits <= 8).
Tensor quantize_tensor(const Tensor& x, const QuantParams& p, Rounding rounding = Rounding::nearest, Rng* rng = nullptr);

// (q - zp) * scale as f32, per tensor or per channel.
Tensor dequantize_tensor(const Tensor& q, const QuantParams& p);

// Logarithmic (power-of-two) quantization of weights, per channel on `axis` (or per tensor when
// axis < 0): with alpha = max|w| of the channel, every weight becomes 0 or ±alpha * 2^-k,
// k = 0..levels-1, with k = round(-log2(|w| / alpha)) (rounding in the log domain) and 0 for
// |w| < alpha * 2^-(levels-1) / 2. With levels <= 7 these are exactly the s8 integers
// ±64 * 2^-k = ±{64, 32, ..., 1} times scale alpha / 64, so the result is an ordinary symmetric
// s8 tensor with its QuantParams: it deploys on the int8 kernels unchanged.
struct LogQuantized {
  Tensor q;  // s8
  QuantParams params;
};
LogQuantized log2_quantize(const Tensor& w, int64_t axis, int levels = 7);

// Signal-to-quantization-noise ratio in dB: 10 log10(sum x^2 / sum (x - x_hat)^2) (inf if exact).
double sqnr_db(const Tensor& x, const Tensor& x_hat);

}  // namespace leancnn::compress::quantize
