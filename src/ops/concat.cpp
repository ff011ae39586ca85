// Concat (ONNX): joins any number of tensors along one axis. Reference forward (any dtype with
// whole-byte elements) and backward (f32: the gradient is sliced back to each input).
// Saves nothing for backward: the input shapes come from BackwardCtx::inputs.
#include <cstring>
#include <vector>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
constexpr int kMaxConcatInputs = 1024;

int64_t concat_axis(const ir::Node& node, int64_t rank) {
  if (!node.attrs.has("axis")) fail(ErrorKind::bad_input, "Concat needs the attribute 'axis'");
  return normalize_axis(node.attrs.get_int("axis", 0), rank, "Concat axis");
}

// Product of dims [begin, end).
int64_t dims_product(const Shape& s, int64_t begin, int64_t end) {
  int64_t p = 1;
  for (int64_t i = begin; i < end; ++i) p *= s[i];
  return p;
}

std::vector<ir::TensorType> concat_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  if (in.empty()) fail(ErrorKind::bad_input, "Concat needs at least one input");
  const ir::Value& first = require_input(in, 0, "inputs[0]");
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  if (rank == 0) fail(ErrorKind::bad_input, "Concat input '", first.name, "' is a scalar; inputs need rank >= 1");
  if (dtype_size(first.dtype) == 0) fail(ErrorKind::bad_input, "Concat does not support ", dtype_name(first.dtype));
  const int64_t axis = concat_axis(node, rank);
  Shape out = first.shape;
  out[axis] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const ir::Value& v = require_input(in, i, "Concat input");
    if (v.dtype != first.dtype)
      fail(ErrorKind::bad_input, "Concat input ", i, " '", v.name, "' is ", dtype_name(v.dtype), ", input 0 is ",
           dtype_name(first.dtype));
    bool ok = static_cast<int64_t>(v.shape.size()) == rank;
    for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || v.shape[d] == first.shape[d];
    if (!ok)
      fail(ErrorKind::bad_input, "Concat input ", i, " '", v.name, "' has shape ", shape_str(v.shape),
           "; it must match input 0's shape ", shape_str(first.shape), " except on axis ", axis);
    out[axis] += v.shape[axis];
  }
  return {{out, first.dtype}};
}

// dst = the inputs joined along `axis`: for each index of the outer dims, the inputs' blocks
// (their axis extent times the inner dims) follow one another.
void concat_forward(ir::ForwardCtx& ctx) {
  const Tensor& dst = ctx.outputs[0];
  const int64_t rank = dst.rank();
  const int64_t axis = concat_axis(ctx.node, rank);
  const int64_t outer = dims_product(dst.shape(), 0, axis);
  const size_t esize = dtype_size(dst.dtype());
  auto* out = static_cast<uint8_t*>(dst.raw());
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor& src : ctx.inputs) {
      const size_t block = static_cast<size_t>(dims_product(src.shape(), axis, rank)) * esize;
      std::memcpy(out, static_cast<const uint8_t*>(src.raw()) + o * block, block);
      out += block;
    }
}

// d_src_k = the slice of d_dst that input k filled.
void concat_backward(ir::BackwardCtx& ctx) {
  const Tensor& d_dst = ctx.d_outputs[0];
  const int64_t rank = d_dst.rank();
  const int64_t axis = concat_axis(ctx.node, rank);
  const int64_t outer = dims_product(d_dst.shape(), 0, axis);
  const float* dy = d_dst.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < ctx.inputs.size(); ++k) {
      const int64_t block = dims_product(ctx.inputs[k].shape(), axis, rank);
      if (k < ctx.d_inputs.size() && ctx.d_inputs[k].defined()) {
        float* dx = ctx.d_inputs[k].data<float>() + o * block;
        for (int64_t e = 0; e < block; ++e) dx[e] = dy[e];
      }
      dy += block;
    }
}
}  // namespace

ir::OpSchema concat_schema() {
  ir::OpSchema s;
  s.op_type = "Concat";
  s.min_inputs = 1;
  s.max_inputs = kMaxConcatInputs;
  s.attributes = {"axis"};
  s.infer = concat_infer;
  s.forward = concat_forward;
  s.backward = concat_backward;
  return s;
}

}  // namespace leancnn::ops
