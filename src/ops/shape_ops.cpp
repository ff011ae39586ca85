// Shape ops (ONNX): Flatten, Reshape, Transpose. Reference forward (any dtype with whole-byte
// elements) and backward (f32). None saves anything for backward: Flatten and Reshape copy
// d_dst back unchanged, Transpose permutes it by the inverse permutation.
#include <cstring>
#include <vector>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
// Rejects dtypes without whole-byte elements (b1), which these byte-copying references cannot move.
void require_bytes(const ir::Value& v, const char* op) {
  if (dtype_size(v.dtype) == 0) fail(ErrorKind::bad_input, op, " does not support ", dtype_name(v.dtype), " input '", v.name, "'");
}

// dst = src element for element (same numel, any whole-byte dtype): Flatten/Reshape forward.
void copy_forward(ir::ForwardCtx& ctx) {
  const Tensor &src = ctx.inputs[0], &dst = ctx.outputs[0];
  std::memcpy(dst.raw(), src.raw(), static_cast<size_t>(src.numel()) * dtype_size(src.dtype()));
}

// d_src = d_dst reshaped back to the input's shape: Flatten/Reshape backward.
void copy_backward(ir::BackwardCtx& ctx) {
  if (ctx.d_inputs.empty() || !ctx.d_inputs[0].defined()) return;
  const float* dy = ctx.d_outputs[0].data<float>();
  float* dx = ctx.d_inputs[0].data<float>();
  for (int64_t i = 0, n = ctx.d_inputs[0].numel(); i < n; ++i) dx[i] = dy[i];
}

// --- Flatten: [d0..d(a-1), da..d(r-1)] -> [d0*..*d(a-1), da*..*d(r-1)], axis a in [-r, r] ---
std::vector<ir::TensorType> flatten_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "input");
  require_bytes(x, "Flatten");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t attr = node.attrs.get_int("axis", 1);
  const int64_t axis = attr < 0 ? attr + rank : attr;
  if (axis < 0 || axis > rank)
    fail(ErrorKind::bad_input, "Flatten axis ", attr, " is out of range [", -rank, ", ", rank, "] for input shape ",
         shape_str(x.shape));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : inner) *= x.shape[d];
  return {{{outer, inner}, x.dtype}};
}

// --- Reshape: the shape input is a constant 1-D s64 initializer; 0 copies the input's dim
// (unless allowzero=1, ONNX opset 14, where 0 is a zero-sized dim); one -1 is inferred ---
std::vector<ir::TensorType> reshape_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "data");
  const ir::Value& s = require_input(in, 1, "shape");
  require_bytes(x, "Reshape");
  if (!s.is_initializer())
    fail(ErrorKind::bad_input, "Reshape shape '", s.name, "' must be a constant (an initializer)");
  require_dtype(s, DType::s64, "Reshape shape");
  require_rank(s, 1, "Reshape shape");
  const int64_t allowzero = node.attrs.get_int("allowzero", 0);
  if (allowzero != 0 && allowzero != 1) fail(ErrorKind::bad_input, "Reshape allowzero must be 0 or 1, got ", allowzero);
  const int64_t* spec = s.data.data<int64_t>();
  const int64_t rank = s.data.numel();
  Shape out(rank);
  int64_t infer_at = -1, known = 1;
  bool has_zero = false;
  for (int64_t i = 0; i < rank; ++i) {
    const int64_t v = spec[i];
    if (v == -1) {
      if (infer_at >= 0) fail(ErrorKind::bad_input, "Reshape shape ", shape_str(Shape(spec, spec + rank)), " has more than one -1");
      infer_at = i;
      continue;
    }
    if (v < -1) fail(ErrorKind::bad_input, "Reshape shape has invalid dim ", v, " at ", i, " (dims must be >= -1)");
    if (v == 0 && !allowzero) {
      if (i >= static_cast<int64_t>(x.shape.size()))
        fail(ErrorKind::bad_input, "Reshape shape has 0 at index ", i, " but the input ", shape_str(x.shape),
             " has no dim there to copy");
      out[i] = x.shape[i];
    } else {
      has_zero = has_zero || v == 0;
      out[i] = v;
    }
    if (__builtin_mul_overflow(known, out[i], &known))
      fail(ErrorKind::bad_input, "Reshape shape ", shape_str(Shape(spec, spec + rank)), " has more elements than int64 holds");
  }
  const int64_t numel = shape_numel(x.shape);
  if (infer_at >= 0) {
    if (has_zero) fail(ErrorKind::bad_input, "Reshape with allowzero=1 cannot have both 0 and -1 in its shape");
    if (known == 0 || numel % known != 0)
      fail(ErrorKind::bad_input, "Reshape cannot infer the -1 dim: ", numel, " elements of ", shape_str(x.shape),
           " do not divide into dims of product ", known);
    out[infer_at] = numel / known;
  }
  if (shape_numel(out) != numel)
    fail(ErrorKind::bad_input, "Reshape of ", shape_str(x.shape), " (", numel, " elements) to ", shape_str(out), " (",
         shape_numel(out), " elements)");
  return {{out, x.dtype}};
}

// --- Transpose: dst dim i is src dim perm[i]; perm defaults to the reversed dims ---
std::vector<int64_t> transpose_perm(const ir::Node& node, int64_t rank) {
  std::vector<int64_t> reversed(rank);
  for (int64_t i = 0; i < rank; ++i) reversed[i] = rank - 1 - i;
  std::vector<int64_t> perm = node.attrs.get_ints("perm", reversed);
  if (static_cast<int64_t>(perm.size()) != rank)
    fail(ErrorKind::bad_input, "Transpose perm has ", perm.size(), " entries; the input has rank ", rank);
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank) fail(ErrorKind::bad_input, "Transpose perm entry ", p, " is out of range [0, ", rank, ")");
    if (seen[p]) fail(ErrorKind::bad_input, "Transpose perm repeats the dim ", p);
    seen[p] = true;
  }
  return perm;
}

std::vector<ir::TensorType> transpose_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "data");
  require_bytes(x, "Transpose");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const std::vector<int64_t> perm = transpose_perm(node, rank);
  Shape out(rank);
  for (int64_t i = 0; i < rank; ++i) out[i] = x.shape[perm[i]];
  return {{out, x.dtype}};
}

// dst[j] = src[k] where k[perm[i]] = j[i] for every dim i (row-major indices, esize-byte elements).
void permute(const uint8_t* src, const Shape& src_shape, const std::vector<int64_t>& perm, uint8_t* dst, size_t esize) {
  const int64_t rank = static_cast<int64_t>(src_shape.size());
  std::vector<int64_t> src_stride(rank, 1);
  for (int64_t d = rank - 1; d > 0; --d) src_stride[d - 1] = src_stride[d] * src_shape[d];
  Shape dst_shape(rank);
  for (int64_t i = 0; i < rank; ++i) dst_shape[i] = src_shape[perm[i]];
  for (int64_t j = 0, n = shape_numel(src_shape); j < n; ++j) {
    int64_t rest = j, k = 0;
    for (int64_t i = rank - 1; i >= 0; --i) {
      k += (rest % dst_shape[i]) * src_stride[perm[i]];
      rest /= dst_shape[i];
    }
    std::memcpy(dst + j * esize, src + k * esize, esize);
  }
}

void transpose_forward(ir::ForwardCtx& ctx) {
  const Tensor &src = ctx.inputs[0], &dst = ctx.outputs[0];
  permute(static_cast<const uint8_t*>(src.raw()), src.shape(), transpose_perm(ctx.node, src.rank()),
          static_cast<uint8_t*>(dst.raw()), dtype_size(src.dtype()));
}

// d_src = d_dst transposed by the inverse permutation.
void transpose_backward(ir::BackwardCtx& ctx) {
  if (ctx.d_inputs.empty() || !ctx.d_inputs[0].defined()) return;
  const Tensor& d_dst = ctx.d_outputs[0];
  const std::vector<int64_t> perm = transpose_perm(ctx.node, d_dst.rank());
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
  permute(reinterpret_cast<const uint8_t*>(d_dst.data<float>()), d_dst.shape(), inverse,
          reinterpret_cast<uint8_t*>(ctx.d_inputs[0].data<float>()), sizeof(float));
}
}  // namespace

ir::OpSchema flatten_schema() {
  ir::OpSchema s;
  s.op_type = "Flatten";
  s.attributes = {"axis"};
  s.infer = flatten_infer;
  s.forward = copy_forward;
  s.backward = copy_backward;
  return s;
}

ir::OpSchema reshape_schema() {
  ir::OpSchema s;
  s.op_type = "Reshape";
  s.min_inputs = 2;
  s.max_inputs = 2;
  s.attributes = {"allowzero"};
  s.non_differentiable_inputs = {1};
  s.infer = reshape_infer;
  s.forward = copy_forward;
  s.backward = copy_backward;
  return s;
}

ir::OpSchema transpose_schema() {
  ir::OpSchema s;
  s.op_type = "Transpose";
  s.attributes = {"perm"};
  s.infer = transpose_infer;
  s.forward = transpose_forward;
  s.backward = transpose_backward;
  return s;
}

}  // namespace leancnn::ops
