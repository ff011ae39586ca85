// ai.leancnn::FakeQuantize (docs/ops.md, docs/qat.md): the quantize-dequantize op of
// quantization-aware training, with straight-through (STE), LSQ and DoReFa gradients. Its
// forward equals ONNX QuantizeLinear -> DequantizeLinear bit for bit, so a QAT graph converts
// to a QDQ graph that computes the same values. The helpers here are shared with the QAT pass
// (src/compress/quantize/qat.cpp) and the tests.
#pragma once
#include <cstdint>
#include <string>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"

namespace leancnn::ops {

// The validated attributes of a FakeQuantize node.
struct FakeQuantAttrs {
  int bits = 8;            // 2..8, or 32 (a signed s32 bias, method "ste" only)
  bool is_signed = false;  // s8-style range when true, u8-style when false
  bool narrow = false;     // signed only: [-(2^(b-1) - 1), 2^(b-1) - 1] (symmetric) instead of [-2^(b-1), ...]
  std::string method = "ste";  // "ste" | "lsq" | "dorefa"
  int64_t axis = 1;            // the channel axis when the scale is 1-D (per-channel)
  float grad_scale = 0.f;      // LSQ's g; 0: 1 / sqrt(N * Qp) with N = numel(x) / numel(scale)
  int32_t qmin = 0, qmax = 255;  // the integer range of q (DoReFa weights: [-(2^b - 1), 2^b - 1])
};

// Reads and checks the attributes; throws Error(bad_input) naming the node on a bad value.
FakeQuantAttrs fake_quant_attrs(const ir::Node& node);

// The integer range [qmin, qmax] of `bits` (2..8 or 32) signed / unsigned values.
void fake_quant_range(int bits, bool is_signed, bool narrow, int32_t& qmin, int32_t& qmax);

// DoReFa's weight normalisation r = tanh(w) / (2 max|tanh(w)|) + 1/2, in [0, 1], the max taken
// over the whole tensor (channels = 1) or per slice of dim `axis` (channels = w.dim(axis)).
// Returns an f32 tensor of w's shape.
Tensor dorefa_normalize(const Tensor& w, int64_t axis, int64_t channels);
// Its exact gradient (through tanh and the max): d_w from d_r.
Tensor dorefa_normalize_backward(const Tensor& w, const Tensor& d_r, int64_t axis, int64_t channels);

// The integers a signed DoReFa FakeQuantize produces for weights w: v = 2 round(r (2^b - 1)) - (2^b - 1),
// so that the op's output is v * scale. s32 tensor of w's shape (|v| <= 2^b - 1).
Tensor dorefa_weight_integers(const Tensor& w, int bits, int64_t axis, int64_t channels);

// The integers q of a FakeQuantize forward (before dequantization): s32 tensor of x's shape.
// `zero_point` may be undefined (0). The op's output is (q - zp) * scale.
Tensor fake_quant_integers(const ir::Node& node, const Tensor& x, const Tensor& scale, const Tensor& zero_point);

}  // namespace leancnn::ops
