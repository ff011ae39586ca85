// Softmax (ONNX opset 13): normalised exponentials over one axis (default -1), computed
// stably (the axis maximum is subtracted first). Reference forward and backward.
// Saves nothing for backward: the backward recomputes the softmax from BackwardCtx::inputs in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
// The tensor seen as [outer, n, inner] with n the softmax axis.
struct SoftmaxGeometry {
  int64_t outer = 1, n = 1, inner = 1;
};

SoftmaxGeometry softmax_geometry(const ir::Node& node, const Shape& shape) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", -1), rank, "Softmax axis");
  SoftmaxGeometry g;
  for (int64_t d = 0; d < rank; ++d) (d < axis ? g.outer : d == axis ? g.n : g.inner) *= shape[d];
  return g;
}

std::vector<ir::TensorType> softmax_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  auto t = same_as_input(node, in);
  require_dtype(*in[0], DType::f32, "input");
  softmax_geometry(node, in[0]->shape);  // validates the axis
  return t;
}

// y[k] = exp(x[k] - max) / sum_j exp(x[j] - max) over the n elements of one softmax slice
// (stride `inner` apart), in double.
void softmax_slice(const float* x, int64_t n, int64_t inner, std::vector<double>& y) {
  y.resize(n);
  double m = -INFINITY;
  for (int64_t k = 0; k < n; ++k) m = std::max(m, static_cast<double>(x[k * inner]));
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) sum += y[k] = std::exp(x[k * inner] - m);
  for (int64_t k = 0; k < n; ++k) y[k] /= sum;
}

void softmax_forward(ir::ForwardCtx& ctx) {
  const Tensor& src = ctx.inputs[0];
  const SoftmaxGeometry g = softmax_geometry(ctx.node, src.shape());
  const float* x = src.data<float>();
  float* dst = ctx.outputs[0].data<float>();
  std::vector<double> y;
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t i = 0; i < g.inner; ++i) {
      const int64_t base = o * g.n * g.inner + i;
      softmax_slice(x + base, g.n, g.inner, y);
      for (int64_t k = 0; k < g.n; ++k) dst[base + k * g.inner] = static_cast<float>(y[k]);
    }
}

// d_src[k] = y[k] * (d_dst[k] - sum_j d_dst[j] * y[j]) over each softmax slice.
void softmax_backward(ir::BackwardCtx& ctx) {
  if (ctx.d_inputs.empty() || !ctx.d_inputs[0].defined()) return;
  const Tensor& src = ctx.inputs[0];
  const SoftmaxGeometry g = softmax_geometry(ctx.node, src.shape());
  const float* x = src.data<float>();
  const float* dy = ctx.d_outputs[0].data<float>();
  float* dx = ctx.d_inputs[0].data<float>();
  std::vector<double> y;
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t i = 0; i < g.inner; ++i) {
      const int64_t base = o * g.n * g.inner + i;
      softmax_slice(x + base, g.n, g.inner, y);
      double dot = 0;
      for (int64_t k = 0; k < g.n; ++k) dot += dy[base + k * g.inner] * y[k];
      for (int64_t k = 0; k < g.n; ++k)
        dx[base + k * g.inner] = static_cast<float>(y[k] * (dy[base + k * g.inner] - dot));
    }
}
}  // namespace

ir::OpSchema softmax_schema() {
  ir::OpSchema s;
  s.op_type = "Softmax";
  s.attributes = {"axis"};
  s.infer = softmax_infer;
  s.forward = softmax_forward;
  s.backward = softmax_backward;
  return s;
}

}  // namespace leancnn::ops
