// QAdd (ai.leancnn, inference): the residual add of a quantized network in one pass,
//   y = Q(act(DQ(a) + DQ(b)))
// with DequantizeLinear, Add, Relu and QuantizeLinear's own f32 formulas in that order, so it is
// bit-exact with the fake-quant chain it replaces (runtime::lower_qdq). Operands in ONNX Runtime's
// QLinearAdd order: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point;
// per-tensor, a and b of one shape (no broadcasting). Elementwise, so any layout works as long as
// a, b and y share it.
#include <algorithm>
#include <type_traits>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/qlinear.h"
#include "leancnn/ops/quant_math.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
bool is_q8(DType t) { return t == DType::u8 || t == DType::s8; }

void require_scalar(const std::vector<const ir::Value*>& in, size_t slot, const char* what, DType t) {
  const ir::Value& v = require_input(in, slot, what);
  require_dtype(v, t, what);
  if (shape_numel(v.shape) != 1)
    fail(ErrorKind::bad_input, what, " '", v.name, "' must hold one value (per-tensor), got shape ", shape_str(v.shape));
}

bool relu_of(const ir::Node& node) {
  const std::string act = node.attrs.get_string("activation", "");
  if (act != "" && act != "Relu")
    fail(ErrorKind::bad_input, node.label(), ": attribute 'activation' '", act, "' is not one of \"\", Relu");
  return act == "Relu";
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& a = require_input(in, 0, "a");
  const ir::Value& b = require_input(in, 3, "b");
  if (!is_q8(a.dtype) || !is_q8(b.dtype))
    fail(ErrorKind::bad_input, node.label(), ": a and b must be u8 or s8, got ", dtype_name(a.dtype), " and ",
         dtype_name(b.dtype));
  if (a.shape != b.shape)
    fail(ErrorKind::bad_input, node.label(), ": a ", shape_str(a.shape), " and b ", shape_str(b.shape),
         " must have one shape (QAdd does not broadcast)");
  require_scalar(in, 1, "a_scale", DType::f32);
  require_scalar(in, 2, "a_zero_point", a.dtype);
  require_scalar(in, 4, "b_scale", DType::f32);
  require_scalar(in, 5, "b_zero_point", b.dtype);
  require_scalar(in, 6, "y_scale", DType::f32);
  const ir::Value& yz = require_input(in, 7, "y_zero_point");
  if (!is_q8(yz.dtype)) fail(ErrorKind::bad_input, node.label(), ": y_zero_point must be u8 or s8");
  require_scalar(in, 7, "y_zero_point", yz.dtype);
  relu_of(node);
  return {{a.shape, yz.dtype}};
}

int32_t int_at(const Tensor& t) { return t.dtype() == DType::u8 ? int32_t{t.data<uint8_t>()[0]} : int32_t{t.data<int8_t>()[0]}; }

template <typename A, typename B, typename Y>
void add_rows(const A* a, const B* b, Y* y, int64_t n, float sa, int32_t za, float sb, int32_t zb, float sy, int32_t zy,
              bool relu) {
  const int qmin = std::is_same_v<Y, uint8_t> ? 0 : -128, qmax = std::is_same_v<Y, uint8_t> ? 255 : 127;
  constexpr int64_t kChunk = 1024;
  float sum[kChunk];
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t m = std::min(kChunk, n - start);
    for (int64_t i = 0; i < m; ++i) {
      // DequantizeLinear twice, Add, Relu: each one f32 operation, as the float ops do them.
      const float fa = static_cast<float>(static_cast<int32_t>(a[start + i]) - za) * sa;
      const float fb = static_cast<float>(static_cast<int32_t>(b[start + i]) - zb) * sb;
      const float s = fa + fb;
      sum[i] = relu ? (s > 0.f ? s : 0.f) : s;
    }
    quantize_row(sum, m, sy, zy, qmin, qmax, y + start);
  }
}

template <typename A, typename B>
void dispatch_y(ir::ForwardCtx& ctx, const A* a, const B* b, float sa, int32_t za, float sb, int32_t zb) {
  const float sy = ctx.inputs[6].data<float>()[0];
  const int32_t zy = int_at(ctx.inputs[7]);
  const bool relu = relu_of(ctx.node);
  Tensor& y = ctx.outputs[0];
  if (y.dtype() == DType::u8)
    add_rows(a, b, y.data<uint8_t>(), y.numel(), sa, za, sb, zb, sy, zy, relu);
  else
    add_rows(a, b, y.data<int8_t>(), y.numel(), sa, za, sb, zb, sy, zy, relu);
}

template <typename A>
void dispatch_b(ir::ForwardCtx& ctx, const A* a, float sa, int32_t za) {
  const Tensor& b = ctx.inputs[3];
  const float sb = ctx.inputs[4].data<float>()[0];
  const int32_t zb = int_at(ctx.inputs[5]);
  if (b.dtype() == DType::u8)
    dispatch_y(ctx, a, b.data<uint8_t>(), sa, za, sb, zb);
  else
    dispatch_y(ctx, a, b.data<int8_t>(), sa, za, sb, zb);
}
}  // namespace

void qadd_forward_ref(ir::ForwardCtx& ctx) {
  for (int slot : {0, 3})
    if (!ctx.inputs[slot].is_contiguous()) ctx.inputs[slot] = ctx.inputs[slot].clone();
  const Tensor& a = ctx.inputs[0];
  const float sa = ctx.inputs[1].data<float>()[0];
  const int32_t za = int_at(ctx.inputs[2]);
  if (a.dtype() == DType::u8)
    dispatch_b(ctx, a.data<uint8_t>(), sa, za);
  else
    dispatch_b(ctx, a.data<int8_t>(), sa, za);
}

ir::OpSchema qadd_schema() {
  ir::OpSchema s;
  s.op_type = "QAdd";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 8;
  s.max_inputs = 8;
  s.attributes = {"activation"};
  s.non_differentiable_inputs = {0, 1, 2, 3, 4, 5, 6, 7};
  s.infer = infer;
  s.forward = qadd_forward_ref;
  return s;
}

}  // namespace leancnn::ops
