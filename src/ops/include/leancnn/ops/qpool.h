// Integer pooling (ai.leancnn QLinearMaxPool and QLinearGlobalAveragePool; docs/ops.md, the ops
// runtime::lower_qdq makes of DQ -> MaxPool | GlobalAveragePool -> Q): the operand slots, the
// run-time parameters, the scalar arithmetic that defines each op (the fast kernels compute the
// same f32 operations, vectorized with quantize_row, so they are bit-exact), and the reference
// forwards (NCHW; the oracles).
#pragma once
#include <cstdint>
#include <vector>

#include "leancnn/ir/op_schema.h"

namespace leancnn::ops {

// Operand slots of both ops: x, x_scale, x_zero_point, y_scale, y_zero_point (all required;
// scales f32 and zero points of their tensor's type, one value each: per tensor).
enum QPoolSlot : int { kQPoolX = 0, kQPoolXScale, kQPoolXZp, kQPoolYScale, kQPoolYZp };

struct QPoolParams {
  float x_scale = 1.f, y_scale = 1.f;
  int32_t x_zp = 0, y_zp = 0;
  DType x_dtype = DType::u8, y_dtype = DType::u8;
  int32_t y_min = 0, y_max = 255;  // the output type's range
};

// Reads a node's parameters from its input tensors; Error(bad_input) naming the operand on a
// missing one, a wrong dtype, more than one value, or a scale that is not positive and finite.
QPoolParams qpool_params(const ir::Node& node, const std::vector<Tensor>& inputs);

// QLinearMaxPool's requantization of one input value v (x's type):
//   R(v) = quantize_value((float)(v - x_zp) * x_scale, y_scale, y_zp, y_min, y_max)
// i.e. QuantizeLinear(DequantizeLinear(v)). Monotone (non-decreasing) in v.
int32_t qmax_pool_requantize(int32_t v, const QPoolParams& p);

// QLinearGlobalAveragePool's output for acc = sum over the count = H * W pixels of (x - x_zp),
// exact in int64:  mean = ((float)acc * x_scale) / (float)count  (f32, multiply then divide),
//                  y = quantize_value(mean, y_scale, y_zp, y_min, y_max).
int32_t qglobal_average_pool_output(int64_t acc, int64_t count, const QPoolParams& p);

// The reference forwards (NCHW; the bit-exact oracles of kernels/int8/qpool_cpu).
void qlinear_max_pool_forward_ref(ir::ForwardCtx& ctx);             // qlinear_max_pool.cpp
void qlinear_global_average_pool_forward_ref(ir::ForwardCtx& ctx);  // qlinear_global_average_pool.cpp

}  // namespace leancnn::ops
