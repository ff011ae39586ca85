// UnpackInt4 (ai.leancnn): packed 4-bit weights (u8, two signed nibbles per byte, low nibble =
// even element) -> s8 tensor of attribute `shape`. Constant folding runs it once per plan.
#include <algorithm>
#include <vector>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/quant_math.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
Shape unpacked_shape(const ir::Node& node) {
  if (!node.attrs.has("shape"))
    fail(ErrorKind::bad_input, "UnpackInt4 ", node.label(), " needs the attribute 'shape' (the unpacked dims)");
  const Shape s = node.attrs.get_ints("shape", {});
  for (int64_t d : s)
    if (d < 0) fail(ErrorKind::bad_input, "UnpackInt4 ", node.label(), ": attribute 'shape' has a negative dim ", d);
  return s;
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& packed = require_input(in, 0, "packed");
  require_dtype(packed, DType::u8, "UnpackInt4 packed input");
  const Shape s = unpacked_shape(node);
  const int64_t want = (shape_numel(s) + 1) / 2;
  if (shape_numel(packed.shape) != want)
    fail(ErrorKind::bad_input, "UnpackInt4 ", node.label(), ": packed input '", packed.name, "' has ",
         shape_numel(packed.shape), " bytes but shape ", shape_str(s), " needs (numel + 1) / 2 = ", want);
  return {{s, DType::s8}};
}

void forward(ir::ForwardCtx& ctx) {
  const Tensor p = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  Tensor& y = ctx.outputs[0];
  unpack_int4(p.data<uint8_t>(), y.numel(), y.data<int8_t>());
}
// The packed bytes are the stored weights: 4 bits per element of the `shape` attribute.
int64_t nonzero_codes(const Tensor& packed, int64_t count) {
  const Tensor p = packed.is_contiguous() ? packed : packed.clone();
  std::vector<int8_t> codes(static_cast<size_t>(count));
  unpack_int4(p.data<uint8_t>(), count, codes.data());
  return std::count_if(codes.begin(), codes.end(), [](int8_t c) { return c != 0; });
}

ir::StorageView storage(const ir::Graph&, const ir::Node& n) {
  int64_t count = 1;
  for (int64_t d : n.attrs.get_ints("shape", {})) count *= d;
  return {n.inputs.at(0), 4, count, nonzero_codes};
}
}  // namespace

ir::OpSchema unpack_int4_schema() {
  ir::OpSchema s;
  s.op_type = "UnpackInt4";
  s.domain = ir::kLeancnnDomain;
  s.attributes = {"shape"};
  s.non_differentiable_inputs = {0};
  s.infer = infer;
  s.forward = forward;
  s.storage = storage;
  return s;
}

}  // namespace leancnn::ops
