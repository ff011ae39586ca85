// Split (ONNX 13): cuts a tensor into parts along one axis, by the sizes of the constant
// `split` input or into equal parts. Backward concatenates the parts' gradients.
#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
// Sizes of the parts along the axis.
std::vector<int64_t> part_sizes(const ir::Node& node, const Shape& shape, int64_t axis, const ir::Value* split) {
  const int64_t n_out = static_cast<int64_t>(node.outputs.size());
  std::vector<int64_t> sizes;
  if (split) {
    if (!split->is_initializer() || (split->dtype != DType::s64 && split->dtype != DType::s32))
      fail(ErrorKind::bad_input, "split '", split->name, "' must be a constant s64 tensor");
    const Tensor& t = split->data;
    for (int64_t i = 0; i < t.numel(); ++i)
      sizes.push_back(t.dtype() == DType::s64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i]);
    if (static_cast<int64_t>(sizes.size()) != n_out)
      fail(ErrorKind::bad_input, "split has ", sizes.size(), " sizes for ", n_out, " outputs");
  } else {
    if (shape[axis] % n_out)
      fail(ErrorKind::bad_input, "axis ", axis, " of size ", shape[axis], " does not split into ", n_out, " equal parts");
    sizes.assign(n_out, shape[axis] / n_out);
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) fail(ErrorKind::bad_input, "split sizes must be >= 0");
    total += s;
  }
  if (total != shape[axis])
    fail(ErrorKind::bad_input, "split sizes sum to ", total, " but axis ", axis, " has size ", shape[axis]);
  return sizes;
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "input");
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", 0), static_cast<int64_t>(x.shape.size()), "axis");
  std::vector<ir::TensorType> out;
  for (int64_t s : part_sizes(node, x.shape, axis, in.size() > 1 ? in[1] : nullptr)) {
    Shape shape = x.shape;
    shape[axis] = s;
    out.push_back({shape, x.dtype});
  }
  return out;
}

// Copies between the whole tensor and its parts: outer × (part extent × inner) blocks.
template <bool kToParts>
void copy_parts(const Tensor& whole, const std::vector<Tensor>& parts, int64_t axis) {
  const Shape& s = whole.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (int64_t i = axis + 1; i < static_cast<int64_t>(s.size()); ++i) inner *= s[i];
  const size_t es = dtype_size(whole.dtype());
  auto* w = static_cast<uint8_t*>(whole.raw());
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    const int64_t block = p.shape()[axis] * inner;
    auto* q = static_cast<uint8_t*>(p.raw());
    for (int64_t o = 0; o < outer; ++o) {
      uint8_t* a = w + (o * s[axis] * inner + offset) * es;
      uint8_t* b = q + o * block * es;
      if (kToParts)
        std::copy(a, a + block * es, b);
      else
        std::copy(b, b + block * es, a);
    }
    offset += block;
  }
}

int64_t axis_of(const ir::Node& node, const Tensor& x) { return normalize_axis(node.attrs.get_int("axis", 0), x.rank(), "axis"); }

void forward(ir::ForwardCtx& ctx) { copy_parts<true>(ctx.inputs[0], ctx.outputs, axis_of(ctx.node, ctx.inputs[0])); }

void backward(ir::BackwardCtx& ctx) {
  if (!ctx.d_inputs[0].defined()) return;
  copy_parts<false>(ctx.d_inputs[0], ctx.d_outputs, axis_of(ctx.node, ctx.inputs[0]));
}
}  // namespace

ir::OpSchema split_schema() {
  ir::OpSchema s;
  s.op_type = "Split";
  s.min_inputs = 1;
  s.max_inputs = 2;
  s.num_outputs = 1024;
  s.min_outputs = 1;
  s.attributes = {"axis"};
  s.non_differentiable_inputs = {1};
  s.infer = infer;
  s.forward = forward;
  s.backward = backward;
  return s;
}

}  // namespace leancnn::ops
