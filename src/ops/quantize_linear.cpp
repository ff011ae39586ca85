// QuantizeLinear and DequantizeLinear (ONNX opset 13): per-tensor (scalar scale) or per-axis
// (1-D scale along `axis`, default 1) affine quantization to u8/s8 and back. Rounding half to
// even, saturating (quant_math.h). Reference forward only: not differentiable (QAT uses the
// ai.leancnn FakeQuantize op instead).
#include <string>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/quant_math.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
// The quantization axis of a node for an input of shape x, and the count of scales it expects:
// 1 for per-tensor (scale is a scalar or a 1-element 1-D tensor), x[axis] for per-axis.
struct QuantAxis {
  int64_t axis = 0;
  int64_t channels = 1;  // 1: per-tensor
  int64_t inner = 1;     // elements per step of the axis (product of the dims after it)
};

QuantAxis quant_axis(const ir::Node& node, const Shape& x, const Shape& scale, const char* op) {
  QuantAxis q;
  if (scale.empty() || (scale.size() == 1 && scale[0] == 1)) return q;
  if (scale.size() != 1)
    fail(ErrorKind::bad_input, op, " ", node.label(), ": scale must be a scalar (per-tensor) or 1-D (per-axis), got shape ",
         shape_str(scale));
  const int64_t rank = static_cast<int64_t>(x.size());
  q.axis = normalize_axis(node.attrs.get_int("axis", 1), rank, (std::string(op) + " attribute 'axis'").c_str());
  q.channels = x[q.axis];
  if (scale[0] != q.channels)
    fail(ErrorKind::bad_input, op, " ", node.label(), ": per-axis scale has ", scale[0], " values but input dim ", q.axis,
         " (attribute 'axis') has ", q.channels);
  for (int64_t d = q.axis + 1; d < rank; ++d) q.inner *= x[d];
  return q;
}

bool is_quant_dtype(DType t) { return t == DType::u8 || t == DType::s8; }

// Checks the scale (f32) and optional zero point (same shape as the scale) of a (De)QuantizeLinear
// node; returns the zero point's dtype (u8 when omitted).
DType check_scale_zp(const ir::Node& node, const std::vector<const ir::Value*>& in, const Shape& x, const char* op) {
  const ir::Value& scale = require_input(in, 1, "scale");
  require_dtype(scale, DType::f32, "scale");
  quant_axis(node, x, scale.shape, op);
  if (in.size() < 3 || !in[2]) return DType::u8;
  const ir::Value& zp = *in[2];
  if (shape_numel(zp.shape) != shape_numel(scale.shape))
    fail(ErrorKind::bad_input, op, " ", node.label(), ": zero point '", zp.name, "' has shape ", shape_str(zp.shape),
         " but the scale has shape ", shape_str(scale.shape), "; they must match");
  return zp.dtype;
}

// Zero point of channel c as an int (0 when the input is omitted).
int32_t zero_point_at(const Tensor& zp, int64_t c) {
  if (!zp.defined()) return 0;
  switch (zp.dtype()) {
    case DType::u8: return zp.data<uint8_t>()[c];
    case DType::s8: return zp.data<int8_t>()[c];
    case DType::s32: return zp.data<int32_t>()[c];
    default: fail(ErrorKind::bad_input, "zero point must be u8, s8 or s32, got ", dtype_name(zp.dtype()));
  }
}

std::vector<ir::TensorType> quantize_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "x");
  require_dtype(x, DType::f32, "QuantizeLinear input");
  const DType out = check_scale_zp(node, in, x.shape, "QuantizeLinear");
  if (!is_quant_dtype(out))
    fail(ErrorKind::bad_input, "QuantizeLinear ", node.label(), ": zero point must be u8 or s8 (it sets the output type), got ",
         dtype_name(out));
  return {{x.shape, out}};
}

void quantize_forward(ir::ForwardCtx& ctx) {
  const Tensor x = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const Tensor& scale = ctx.inputs[1];
  const Tensor zp = ctx.inputs.size() > 2 ? ctx.inputs[2] : Tensor();
  Tensor& y = ctx.outputs[0];
  const QuantAxis q = quant_axis(ctx.node, x.shape(), scale.shape(), "QuantizeLinear");
  const bool u8 = y.dtype() == DType::u8;
  const int qmin = u8 ? 0 : -128, qmax = u8 ? 255 : 127;
  const float* src = x.data<float>();
  const float* s = scale.data<float>();
  // One run of `inner` elements per step of the axis (the whole tensor when per-tensor).
  const int64_t run = q.channels == 1 ? x.numel() : q.inner;
  for (int64_t start = 0, n = x.numel(); start < n; start += run) {
    const int64_t c = q.channels == 1 ? 0 : (start / q.inner) % q.channels;
    const float sc = s[c];
    const int32_t z = zero_point_at(zp, c);
    if (u8)
      quantize_row(src + start, run, sc, z, qmin, qmax, y.data<uint8_t>() + start);
    else
      quantize_row(src + start, run, sc, z, qmin, qmax, y.data<int8_t>() + start);
  }
}

std::vector<ir::TensorType> dequantize_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "x");
  if (!is_quant_dtype(x.dtype) && x.dtype != DType::s32)
    fail(ErrorKind::bad_input, "DequantizeLinear ", node.label(), ": input '", x.name, "' must be u8, s8 or s32, got ",
         dtype_name(x.dtype));
  const bool has_zp = in.size() > 2 && in[2];
  const DType zp = check_scale_zp(node, in, x.shape, "DequantizeLinear");
  if (has_zp && zp != x.dtype)
    fail(ErrorKind::bad_input, "DequantizeLinear ", node.label(), ": zero point '", in[2]->name, "' is ", dtype_name(zp),
         " but the input is ", dtype_name(x.dtype), "; they must match");
  if (has_zp && x.dtype == DType::s32 && in[2]->is_initializer()) {
    const Tensor& z = in[2]->data;
    for (int64_t i = 0; i < z.numel(); ++i)
      if (z.data<int32_t>()[i] != 0)
        fail(ErrorKind::bad_input, "DequantizeLinear ", node.label(), ": an s32 input needs zero point 0 (ONNX)");
  }
  return {{x.shape, DType::f32}};
}

void dequantize_forward(ir::ForwardCtx& ctx) {
  const Tensor x = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const Tensor& scale = ctx.inputs[1];
  const Tensor zp = ctx.inputs.size() > 2 ? ctx.inputs[2] : Tensor();
  const QuantAxis q = quant_axis(ctx.node, x.shape(), scale.shape(), "DequantizeLinear");
  const float* s = scale.data<float>();
  float* dst = ctx.outputs[0].data<float>();
  const int64_t run = q.channels == 1 ? x.numel() : q.inner;
  for (int64_t start = 0, n = x.numel(); start < n; start += run) {
    const int64_t c = q.channels == 1 ? 0 : (start / q.inner) % q.channels;
    const float sc = s[c];
    const int32_t z = zero_point_at(zp, c);
    // ONNX: (x - zero_point) * scale; the difference is exact in int32, one f32 rounding follows.
    auto dequantize = [&](const auto* src) {
      for (int64_t i = 0; i < run; ++i) dst[start + i] = static_cast<float>(static_cast<int32_t>(src[start + i]) - z) * sc;
    };
    switch (x.dtype()) {
      case DType::u8: dequantize(x.data<uint8_t>()); break;
      case DType::s8: dequantize(x.data<int8_t>()); break;
      default: dequantize(x.data<int32_t>()); break;
    }
  }
}
}  // namespace

ir::OpSchema quantize_linear_schema() {
  ir::OpSchema s;
  s.op_type = "QuantizeLinear";
  s.min_inputs = 2;
  s.max_inputs = 3;
  s.attributes = {"axis"};
  s.non_differentiable_inputs = {0, 1, 2};
  s.infer = quantize_infer;
  s.forward = quantize_forward;
  return s;
}

namespace {
// DequantizeLinear of stored integers decodes them element for element.
ir::StorageView dequantize_storage(const ir::Graph&, const ir::Node& n) { return {n.inputs.at(0), 0, -1, nullptr}; }
}  // namespace

ir::OpSchema dequantize_linear_schema() {
  ir::OpSchema s;
  s.op_type = "DequantizeLinear";
  s.min_inputs = 2;
  s.max_inputs = 3;
  s.attributes = {"axis"};
  s.non_differentiable_inputs = {0, 1, 2};
  s.infer = dequantize_infer;
  s.forward = dequantize_forward;
  s.storage = dequantize_storage;
  return s;
}

}  // namespace leancnn::ops
