// BinaryWeights (ai.leancnn): packed 1-bit (or 2-bit ternary) weights and a per-output-channel
// scale alpha -> f32 weights code * alpha[row] of attribute `shape` (format: binary_net.h). The
// file stores the bits; constant folding decodes them once per plan, and the storage view lets
// the size figures and the accelerator see 1 (or 2) bits per weight.
#include <algorithm>

#include "leancnn/ops/binary_net.h"
#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
int bits_of(const ir::Node& node) {
  const int64_t bits = node.attrs.get_int("bits", 1);
  if (bits != 1 && bits != 2)
    fail(ErrorKind::bad_input, "BinaryWeights ", node.label(), ": attribute 'bits' must be 1 (binary) or 2 (ternary), got ", bits);
  return static_cast<int>(bits);
}

Shape shape_of(const ir::Node& node) {
  if (!node.attrs.has("shape"))
    fail(ErrorKind::bad_input, "BinaryWeights ", node.label(), " needs the attribute 'shape' (the weight dims)");
  const Shape s = node.attrs.get_ints("shape", {});
  if (s.empty()) fail(ErrorKind::bad_input, "BinaryWeights ", node.label(), ": attribute 'shape' is empty");
  for (int64_t d : s)
    if (d < 0) fail(ErrorKind::bad_input, "BinaryWeights ", node.label(), ": attribute 'shape' has a negative dim ", d);
  return s;
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& packed = require_input(in, 0, "packed");
  require_dtype(packed, DType::u8, "BinaryWeights packed input");
  const Shape s = shape_of(node);
  const int bits = bits_of(node);
  const int64_t want = packed_bytes(shape_numel(s), bits);
  if (shape_numel(packed.shape) != want)
    fail(ErrorKind::bad_input, "BinaryWeights ", node.label(), ": packed input '", packed.name, "' has ",
         shape_numel(packed.shape), " bytes but shape ", shape_str(s), " at ", bits, " bit(s) needs ", want);
  if (in.size() > 1 && in[1]) {
    require_dtype(*in[1], DType::f32, "BinaryWeights alpha");
    if (in[1]->shape != Shape{s[0]})
      fail(ErrorKind::bad_input, "BinaryWeights ", node.label(), ": alpha '", in[1]->name, "' must have shape [", s[0],
           "] (one scale per output channel), got ", shape_str(in[1]->shape));
  }
  return {{s, DType::f32}};
}

void forward(ir::ForwardCtx& ctx) {
  const Tensor p = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const bool has_alpha = ctx.inputs.size() > 1 && ctx.inputs[1].defined();
  const Tensor a = has_alpha ? ctx.inputs[1].clone() : Tensor();
  Tensor& y = ctx.outputs[0];
  const int bits = bits_of(ctx.node);
  const int64_t rows = y.shape()[0], n = y.numel();
  const int64_t inner = rows == 0 ? 0 : n / rows;
  float* dst = y.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float alpha = has_alpha ? a.data<float>()[i / inner] : 1.f;
    dst[i] = static_cast<float>(packed_code(p.data<uint8_t>(), i, bits)) * alpha;
  }
}

int64_t nonzero_binary(const Tensor&, int64_t count) { return count; }  // ±1: never zero

int64_t nonzero_ternary(const Tensor& packed, int64_t count) {
  const Tensor p = packed.is_contiguous() ? packed : packed.clone();
  int64_t nz = 0;
  for (int64_t i = 0; i < count; ++i) nz += ((p.data<uint8_t>()[i / 4] >> (2 * (i % 4))) & 3u) != 0;
  return nz;
}

ir::StorageView storage(const ir::Graph&, const ir::Node& n) {
  int64_t count = 1;
  for (int64_t d : n.attrs.get_ints("shape", {})) count *= d;
  const int bits = static_cast<int>(n.attrs.get_int("bits", 1));
  return {n.inputs.at(0), bits, count, bits == 2 ? nonzero_ternary : nonzero_binary};
}
}  // namespace

ir::OpSchema binary_weights_schema() {
  ir::OpSchema s;
  s.op_type = "BinaryWeights";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 1;
  s.max_inputs = 2;
  s.attributes = {"shape", "bits"};
  s.non_differentiable_inputs = {0, 1};
  s.infer = infer;
  s.forward = forward;
  s.storage = storage;
  return s;
}

}  // namespace leancnn::ops
