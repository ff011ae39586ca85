// Binarize (ai.leancnn): activations to signs, y = sign(x) * beta (x >= 0 -> +1), with
// beta = 1 (scale "none": BNN) or the sample's mean |x| (scale "mean_abs": XNOR-Net's activation
// scale, one per sample, binary_net.h). Backward: the hard-tanh straight-through estimator
// (Hubara et al. 2016), dx = dy * beta * 1{|x| <= 1}, plus beta's own gradient
// sign(x_k) / m * sum_i dy_i sign(x_i) under mean_abs. Its storage view says the value carries
// 1 bit, so the size figures and the accelerator read a following layer's inputs as binary.
#include <cmath>

#include "leancnn/ops/binary_net.h"
#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "X");
  require_dtype(x, DType::f32, "Binarize input");
  if (x.shape.empty()) fail(ErrorKind::bad_input, "Binarize ", node.label(), ": input '", x.name, "' must have a batch dim");
  parse_act_scale(node, "scale");
  return {{x.shape, DType::f32}};
}

void forward(ir::ForwardCtx& ctx) {
  const Tensor x = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  Tensor& y = ctx.outputs[0];
  const bool scaled = parse_act_scale(ctx.node, "scale") == ActScale::mean_abs;
  const int64_t n = x.shape()[0], m = n == 0 ? 0 : x.numel() / n;
  const float* src = x.data<float>();
  float* dst = y.data<float>();
  for (int64_t b = 0; b < n; ++b) {
    const float beta = scaled ? mean_abs_scale(src + b * m, m) : 1.f;
    for (int64_t i = 0; i < m; ++i) dst[b * m + i] = sign_bit(src[b * m + i]) ? beta : -beta;
  }
}

void backward(ir::BackwardCtx& ctx) {
  if (!ctx.d_inputs[0].defined()) return;
  const Tensor x = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const Tensor dy = ctx.d_outputs[0].is_contiguous() ? ctx.d_outputs[0] : ctx.d_outputs[0].clone();
  const bool scaled = parse_act_scale(ctx.node, "scale") == ActScale::mean_abs;
  const int64_t n = x.shape()[0], m = n == 0 ? 0 : x.numel() / n;
  const float* src = x.data<float>();
  const float* g = dy.data<float>();
  float* dx = ctx.d_inputs[0].data<float>();
  for (int64_t b = 0; b < n; ++b) {
    const float* xs = src + b * m;
    const float* gs = g + b * m;
    const float beta = scaled ? mean_abs_scale(xs, m) : 1.f;
    double dbeta = 0;  // d loss / d beta = sum_i dy_i sign(x_i)
    if (scaled)
      for (int64_t i = 0; i < m; ++i) dbeta += sign_bit(xs[i]) ? gs[i] : -gs[i];
    for (int64_t i = 0; i < m; ++i) {
      double d = std::fabs(xs[i]) <= 1.f ? static_cast<double>(gs[i]) * beta : 0.0;
      // d mean|x| / d x_i = sign(x_i) / m (0 at x_i = 0)
      if (scaled && xs[i] != 0.f) d += dbeta * (xs[i] > 0.f ? 1.0 : -1.0) / static_cast<double>(m);
      dx[b * m + i] = static_cast<float>(d);
    }
  }
}

ir::StorageView storage(const ir::Graph&, const ir::Node& n) { return {n.inputs.at(0), 1, -1, nullptr}; }
}  // namespace

ir::OpSchema binarize_schema() {
  ir::OpSchema s;
  s.op_type = "Binarize";
  s.domain = ir::kLeancnnDomain;
  s.attributes = {"scale"};
  s.infer = infer;
  s.forward = forward;
  s.backward = backward;
  s.storage = storage;
  return s;
}

}  // namespace leancnn::ops
