// Pad (ONNX opset 11/13): pads (or, with negative amounts, crops) every dim of a tensor, with
// a constant (mode "constant", the optional constant_value input, default 0), the mirror image
// without the edge ("reflect") or copies of the edge ("edge"). The pads input is a constant
// 1-D s64 tensor [x1_begin, x2_begin, ..., x1_end, x2_end, ...]. Reference forward (any dtype
// with whole-byte elements) and backward (f32: every output element that came from an input
// element adds its gradient there). Saves nothing for backward: pads and shapes come from the
// node and BackwardCtx::inputs.
#include <cstring>
#include <string>
#include <vector>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
enum class PadMode { constant, reflect, edge };

PadMode pad_mode(const ir::Node& node) {
  const std::string mode = node.attrs.get_string("mode", "constant");
  if (mode == "constant") return PadMode::constant;
  if (mode == "reflect") return PadMode::reflect;
  if (mode == "edge") return PadMode::edge;
  fail(ErrorKind::bad_input, "Pad attribute 'mode' is '", mode, "'; it must be constant, reflect or edge");
}

// The 2 * rank pad amounts, checked against the input shape: no output dim below 0; reflect
// needs each padded dim's pads < its size, edge needs a non-empty dim to copy.
std::vector<int64_t> pad_amounts(const ir::Node& node, const Tensor& pads, const Shape& x) {
  const int64_t rank = static_cast<int64_t>(x.size());
  if (pads.dtype() != DType::s64 || pads.rank() != 1 || pads.numel() != 2 * rank)
    fail(ErrorKind::bad_input, "Pad pads must be a 1-D s64 tensor of 2 * rank = ", 2 * rank, " values, got ",
         dtype_name(pads.dtype()), " ", shape_str(pads.shape()));
  const Tensor c = pads.is_contiguous() ? pads : pads.clone();
  std::vector<int64_t> p(c.data<int64_t>(), c.data<int64_t>() + 2 * rank);
  const PadMode mode = pad_mode(node);
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t b = p[d], e = p[d + rank];
    if (b < -x[d] || e < -x[d] || x[d] + b + e < 0)
      fail(ErrorKind::bad_input, "Pad pads ", b, " and ", e, " of dim ", d, " (size ", x[d], ") remove more than it has");
    const bool pads_dim = b > 0 || e > 0;
    if (mode == PadMode::reflect && pads_dim && (b >= x[d] || e >= x[d]))
      fail(ErrorKind::bad_input, "Pad mode reflect needs pads below the dim's size: dim ", d, " has size ", x[d],
           " and pads ", b, ", ", e);
    if (mode == PadMode::edge && pads_dim && x[d] == 0)
      fail(ErrorKind::bad_input, "Pad mode edge cannot pad the empty dim ", d);
  }
  return p;
}

std::vector<ir::TensorType> pad_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "data");
  const ir::Value& pads = require_input(in, 1, "pads");
  if (dtype_size(x.dtype) == 0) fail(ErrorKind::bad_input, "Pad does not support ", dtype_name(x.dtype), " input '", x.name, "'");
  if (!pads.is_initializer()) fail(ErrorKind::bad_input, "Pad pads '", pads.name, "' must be a constant (an initializer)");
  const std::vector<int64_t> p = pad_amounts(node, pads.data, x.shape);
  if (in.size() > 2 && in[2]) {
    const ir::Value& v = *in[2];
    if (!v.is_initializer() || v.dtype != x.dtype || shape_numel(v.shape) != 1)
      fail(ErrorKind::bad_input, "Pad constant_value '", v.name, "' must be a constant single ", dtype_name(x.dtype),
           " value (the data's type)");
  }
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  Shape out = x.shape;
  for (int64_t d = 0; d < rank; ++d) out[d] += p[d] + p[d + rank];
  return {{out, x.dtype}};
}

// The input coordinate output coordinate o of a dim reads (size n, begin pad b), or -1 for
// the constant.
int64_t source_coord(int64_t o, int64_t n, int64_t b, PadMode mode) {
  int64_t c = o - b;
  if (c >= 0 && c < n) return c;
  switch (mode) {
    case PadMode::constant:
      return -1;
    case PadMode::edge:
      return c < 0 ? 0 : n - 1;
    case PadMode::reflect:
      if (n == 1) return 0;
      while (c < 0 || c >= n) c = c < 0 ? -c : 2 * (n - 1) - c;  // pads < n: at most one fold
      return c;
  }
  return -1;
}

// For each output element, the flat input index it reads (-1: the constant), in output order.
std::vector<int64_t> source_index(const ir::Node& node, const Shape& x, const std::vector<int64_t>& p, const Shape& y) {
  const PadMode mode = pad_mode(node);
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<int64_t> x_stride(rank, 1);
  for (int64_t d = rank - 1; d > 0; --d) x_stride[d - 1] = x_stride[d] * x[d];
  const int64_t count = shape_numel(y);
  std::vector<int64_t> src(count);
  for (int64_t i = 0; i < count; ++i) {
    int64_t rest = i, flat = 0;
    for (int64_t d = rank - 1; d >= 0 && flat >= 0; --d) {
      const int64_t c = source_coord(rest % y[d], x[d], p[d], mode);
      rest /= y[d];
      flat = c < 0 ? -1 : flat + c * x_stride[d];
    }
    src[i] = flat;
  }
  return src;
}

void pad_forward(ir::ForwardCtx& ctx) {
  const Tensor& x = ctx.inputs[0];
  Tensor& y = ctx.outputs[0];
  const std::vector<int64_t> p = pad_amounts(ctx.node, ctx.inputs[1], x.shape());
  const size_t es = dtype_size(x.dtype());
  std::vector<uint8_t> value(es, 0);
  if (ctx.inputs.size() > 2 && ctx.inputs[2].defined()) {
    const Tensor& v = ctx.inputs[2];
    if (v.dtype() != x.dtype() || v.numel() != 1)
      fail(ErrorKind::bad_input, "Pad constant_value must be a single ", dtype_name(x.dtype()), " value");
    const Tensor c = v.is_contiguous() ? v : v.clone();
    std::memcpy(value.data(), c.raw(), es);
  }
  const Tensor src_t = x.is_contiguous() ? x : x.clone();
  const auto* src = static_cast<const uint8_t*>(src_t.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  const std::vector<int64_t> from = source_index(ctx.node, x.shape(), p, y.shape());
  for (size_t i = 0; i < from.size(); ++i)
    std::memcpy(dst + i * es, from[i] < 0 ? value.data() : src + from[i] * es, es);
}

// d_src[k] = sum of d_dst over the output elements that read input element k.
void pad_backward(ir::BackwardCtx& ctx) {
  if (ctx.d_inputs.empty() || !ctx.d_inputs[0].defined()) return;
  const Tensor& x = ctx.inputs[0];
  const Tensor& d_dst = ctx.d_outputs[0];
  Tensor& d_src = ctx.d_inputs[0];
  const std::vector<int64_t> p = pad_amounts(ctx.node, ctx.inputs[1], x.shape());
  const std::vector<int64_t> from = source_index(ctx.node, x.shape(), p, d_dst.shape());
  d_src.zero();
  float* dx = d_src.data<float>();
  const float* dy = d_dst.data<float>();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] >= 0) dx[from[i]] += dy[i];
}
}  // namespace

ir::OpSchema pad_schema() {
  ir::OpSchema s;
  s.op_type = "Pad";
  s.min_inputs = 2;
  s.max_inputs = 3;
  s.attributes = {"mode"};
  s.non_differentiable_inputs = {1, 2};
  s.infer = pad_infer;
  s.forward = pad_forward;
  s.backward = pad_backward;
  return s;
}

}  // namespace leancnn::ops
