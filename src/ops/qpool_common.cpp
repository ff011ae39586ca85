// The shared parts of the integer pooling ops (qpool.h): parameters, the scalar arithmetic both
// ops are defined by, and the shape-inference checks of their quantization operands.
#include <cmath>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/qpool.h"
#include "leancnn/ops/quant_math.h"
#include "qpool_infer.h"

namespace leancnn::ops {

namespace {
bool is_q8(DType t) { return t == DType::u8 || t == DType::s8; }

const char* slot_name(int slot) {
  static const char* const names[] = {"x", "x_scale", "x_zero_point", "y_scale", "y_zero_point"};
  return names[slot];
}

const Tensor& input_at(const ir::Node& node, const std::vector<Tensor>& in, int slot) {
  if (slot >= static_cast<int>(in.size()) || !in[slot].defined())
    fail(ErrorKind::bad_input, node.label(), ": input ", slot, " (", slot_name(slot), ") is required");
  if (slot != kQPoolX && in[slot].numel() != 1)
    fail(ErrorKind::bad_input, node.label(), ": ", slot_name(slot), " must hold one value (per-tensor), got shape ",
         shape_str(in[slot].shape()));
  return in[slot];
}

float scale_at(const ir::Node& node, const std::vector<Tensor>& in, int slot) {
  const Tensor& t = input_at(node, in, slot);
  if (t.dtype() != DType::f32)
    fail(ErrorKind::bad_input, node.label(), ": ", slot_name(slot), " must be f32, got ", dtype_name(t.dtype()));
  const float s = t.data<float>()[0];
  if (!(s > 0.f) || !std::isfinite(s))
    fail(ErrorKind::bad_input, node.label(), ": ", slot_name(slot), " must be positive and finite, got ", s);
  return s;
}

int32_t zero_point_at(const ir::Node& node, const std::vector<Tensor>& in, int slot, DType want) {
  const Tensor& t = input_at(node, in, slot);
  if (t.dtype() != want)
    fail(ErrorKind::bad_input, node.label(), ": ", slot_name(slot), " must be ", dtype_name(want), ", got ",
         dtype_name(t.dtype()));
  return want == DType::u8 ? int32_t{t.data<uint8_t>()[0]} : int32_t{t.data<int8_t>()[0]};
}
}  // namespace

QPoolParams qpool_params(const ir::Node& node, const std::vector<Tensor>& in) {
  QPoolParams p;
  p.x_dtype = input_at(node, in, kQPoolX).dtype();
  if (!is_q8(p.x_dtype))
    fail(ErrorKind::bad_input, node.label(), ": x must be u8 or s8, got ", dtype_name(p.x_dtype));
  p.x_scale = scale_at(node, in, kQPoolXScale);
  p.x_zp = zero_point_at(node, in, kQPoolXZp, p.x_dtype);
  p.y_scale = scale_at(node, in, kQPoolYScale);
  p.y_dtype = input_at(node, in, kQPoolYZp).dtype();
  if (!is_q8(p.y_dtype))
    fail(ErrorKind::bad_input, node.label(), ": y_zero_point must be u8 or s8, got ", dtype_name(p.y_dtype));
  p.y_zp = zero_point_at(node, in, kQPoolYZp, p.y_dtype);
  p.y_min = p.y_dtype == DType::u8 ? 0 : -128;
  p.y_max = p.y_dtype == DType::u8 ? 255 : 127;
  return p;
}

int32_t qmax_pool_requantize(int32_t v, const QPoolParams& p) {
  const float real = static_cast<float>(v - p.x_zp) * p.x_scale;  // DequantizeLinear
  return quantize_value(real, p.y_scale, p.y_zp, p.y_min, p.y_max);
}

int32_t qglobal_average_pool_output(int64_t acc, int64_t count, const QPoolParams& p) {
  const float sum = static_cast<float>(acc) * p.x_scale;
  const float mean = sum / static_cast<float>(count);
  return quantize_value(mean, p.y_scale, p.y_zp, p.y_min, p.y_max);
}

namespace detail {
namespace {
const ir::Value& require_single(const ir::Node& node, const std::vector<const ir::Value*>& in, int slot) {
  const ir::Value& v = require_input(in, slot, slot_name(slot));
  if (shape_numel(v.shape) != 1)
    fail(ErrorKind::bad_input, node.label(), ": ", slot_name(slot), " '", v.name,
         "' must hold one value (per-tensor), got shape ", shape_str(v.shape));
  return v;
}

void require_scale(const ir::Node& node, const std::vector<const ir::Value*>& in, int slot) {
  const ir::Value& v = require_single(node, in, slot);
  require_dtype(v, DType::f32, slot_name(slot));
  if (!v.is_initializer()) return;
  const float s = v.data.data<float>()[0];
  if (!(s > 0.f) || !std::isfinite(s))
    fail(ErrorKind::bad_input, node.label(), ": ", slot_name(slot), " '", v.name, "' must be positive and finite, got ", s);
}
}  // namespace

DType check_qpool_operands(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, kQPoolX, "x");
  if (!is_q8(x.dtype))
    fail(ErrorKind::bad_input, node.label(), ": x '", x.name, "' must be u8 or s8, got ", dtype_name(x.dtype));
  require_scale(node, in, kQPoolXScale);
  require_dtype(require_single(node, in, kQPoolXZp), x.dtype, "x_zero_point");
  require_scale(node, in, kQPoolYScale);
  const ir::Value& yz = require_single(node, in, kQPoolYZp);
  if (!is_q8(yz.dtype))
    fail(ErrorKind::bad_input, node.label(), ": y_zero_point '", yz.name, "' must be u8 or s8 (it sets the output type), got ",
         dtype_name(yz.dtype));
  return yz.dtype;
}
}  // namespace detail

}  // namespace leancnn::ops
