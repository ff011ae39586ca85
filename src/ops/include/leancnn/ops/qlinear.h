// Integer (QLinear) convolution and matrix multiplication: ONNX QLinearConv and QLinearMatMul,
// and leancnn's ai.leancnn QLinearFusedConv and QGemm (the ops runtime::lower_qdq produces; see
// docs/ops.md and docs/int8_runtime.md). All four take their operands in QLinearConv's slot order:
//   0 x, 1 x_scale, 2 x_zero_point, 3 w, 4 w_scale, 5 w_zero_point, 6 y_scale, 7 y_zero_point, 8 bias
// and compute acc = sum (x - x_zp) * (w - w_zp) exactly in s32, then requantize (quant_math.h)
// with multiplier[c] = requant_multiplier(x_scale, w_scale[c], y_scale).
#pragma once
#include <cstdint>
#include <vector>

#include "leancnn/ir/op_schema.h"
#include "leancnn/ops/quant_math.h"

namespace leancnn::ops {

// Slots of the QLinear operand list.
enum QSlot : int { kQX = 0, kQXScale, kQXZp, kQW, kQWScale, kQWZp, kQYScale, kQYZp, kQBias };

// The run-time quantization parameters of a QLinear node, read from its input tensors and
// attributes, expanded per output channel (oc = output channels of a conv, N of a gemm).
struct QLinearParams {
  float x_scale = 1.f;
  int32_t x_zp = 0;
  std::vector<float> w_scale;   // oc values (a per-tensor scale repeated)
  std::vector<int32_t> w_zp;    // oc values
  bool w_zp_all_zero = true;
  bool float_output = false;    // QGemm without y_scale: y = ((float)acc + (float)bias) * x_scale * w_scale[c]
  float y_scale = 1.f;
  int32_t y_zp = 0;
  DType y_dtype = DType::u8;
  std::vector<float> multiplier;  // oc values; x_scale * w_scale[c] (in f32) when float_output
  QuantBounds bounds{0, 255};     // the output range, narrowed by a fused Relu/Clip
  bool float_relu = false;        // float_output with a fused Relu
};

// Reads and checks the parameters (Error(bad_input) naming the operand on a bad dtype, count,
// a non-positive or non-finite scale). w_scale/w_zero_point hold 1 or oc values (per output
// channel: dim 0 of conv weights and QGemm's [N, K], dim 1 of QLinearMatMul's [K, N]).
QLinearParams qlinear_params(const ir::Node& node, const std::vector<Tensor>& inputs, int64_t oc);

// The fused activation of QLinearFusedConv / QGemm: the `activation` ("" | "Relu" | "Clip") and
// `activation_params` ([min, max] for Clip) attributes. QLinearConv/QLinearMatMul have none.
enum class QActivation { none, relu, clip };
QActivation qlinear_activation(const ir::Node& node, float* clip_min, float* clip_max);

// The reference forwards (the bit-exact oracles of the integer kernels).
void qlinear_conv_forward_ref(ir::ForwardCtx& ctx);  // QLinearConv and QLinearFusedConv
void qgemm_forward_ref(ir::ForwardCtx& ctx);         // QGemm (w is [N, K]) and QLinearMatMul (w is [K, N])

// QAdd (qadd.cpp): y = Q(act(DQ(a) + DQ(b))) with the float ops' own formulas (bit-exact with them).
void qadd_forward_ref(ir::ForwardCtx& ctx);

}  // namespace leancnn::ops
