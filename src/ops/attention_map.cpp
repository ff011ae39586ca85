// AttentionMap (domain ai.leancnn): the spatial attention map of attention transfer (Zagoruyko &
// Komodakis, ICLR 2017): per image, a = mean over channels of |x|^p, flattened to H*W values and
// divided by its L2 norm. Input [N, C, H, W], output [N, H*W]. Reference forward and backward,
// in double; saves nothing (backward recomputes a from the input).
#include <algorithm>
#include <cmath>
#include <vector>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
constexpr double kNormFloor = 1e-12;  // an all-zero map stays zero instead of dividing by zero

double power(const ir::Node& node) {
  const float p = node.attrs.get_float("p", 2.f);
  if (!(p >= 1.f) || !std::isfinite(p)) fail(ErrorKind::bad_input, "attribute 'p' must be >= 1, got ", p);
  return p;
}

std::vector<ir::TensorType> attention_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "input");
  require_dtype(x, DType::f32, "input");
  require_rank(x, 4, "input");
  if (x.shape[1] < 1 || x.shape[2] < 1 || x.shape[3] < 1)
    fail(ErrorKind::bad_input, "AttentionMap input '", x.name, "' must be a non-empty [N, C, H, W], got ", shape_str(x.shape));
  power(node);
  return {{{x.shape[0], x.shape[2] * x.shape[3]}, DType::f32}};
}

// The unnormalised map of image i: a[s] = mean_c |x[c, s]|^p.
void raw_map(const float* x, int64_t c, int64_t hw, double p, std::vector<double>& a) {
  a.assign(static_cast<size_t>(hw), 0.0);
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t s = 0; s < hw; ++s) a[s] += std::pow(std::fabs(static_cast<double>(x[ch * hw + s])), p);
  for (double& v : a) v /= static_cast<double>(c);
}

double l2(const std::vector<double>& a) {
  double sum = 0;
  for (double v : a) sum += v * v;
  return std::max(std::sqrt(sum), kNormFloor);
}

void attention_forward(ir::ForwardCtx& ctx) {
  const Tensor& src = ctx.inputs[0];
  const int64_t n = src.dim(0), c = src.dim(1), hw = src.dim(2) * src.dim(3);
  const double p = power(ctx.node);
  float* dst = ctx.outputs[0].data<float>();
  std::vector<double> a;
  for (int64_t i = 0; i < n; ++i) {
    raw_map(src.data<float>() + i * c * hw, c, hw, p, a);
    const double norm = l2(a);
    for (int64_t s = 0; s < hw; ++s) dst[i * hw + s] = static_cast<float>(a[s] / norm);
  }
}

// q = a / |a|: d a = (d q - q (q . d q)) / |a|; a = mean_c |x|^p: d x = d a * p |x|^(p-1) sign(x) / C.
void attention_backward(ir::BackwardCtx& ctx) {
  if (ctx.d_inputs.empty() || !ctx.d_inputs[0].defined()) return;
  const Tensor& src = ctx.inputs[0];
  const int64_t n = src.dim(0), c = src.dim(1), hw = src.dim(2) * src.dim(3);
  const double p = power(ctx.node);
  const float* dq = ctx.d_outputs[0].data<float>();
  float* dx = ctx.d_inputs[0].data<float>();
  std::vector<double> a, da(static_cast<size_t>(hw));
  for (int64_t i = 0; i < n; ++i) {
    const float* x = src.data<float>() + i * c * hw;
    raw_map(x, c, hw, p, a);
    const double norm = l2(a);
    double dot = 0;
    for (int64_t s = 0; s < hw; ++s) dot += a[s] / norm * dq[i * hw + s];
    for (int64_t s = 0; s < hw; ++s) da[s] = (dq[i * hw + s] - a[s] / norm * dot) / norm;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < hw; ++s) {
        const double v = x[ch * hw + s];
        const double dv = p * std::pow(std::fabs(v), p - 1.0) * (v < 0 ? -1.0 : 1.0) / static_cast<double>(c);
        dx[i * c * hw + ch * hw + s] = static_cast<float>(da[s] * dv);
      }
  }
}
}  // namespace

ir::OpSchema attention_map_schema() {
  ir::OpSchema s;
  s.op_type = "AttentionMap";
  s.domain = ir::kLeancnnDomain;
  s.attributes = {"p"};
  s.infer = attention_infer;
  s.forward = attention_forward;
  s.backward = attention_backward;
  return s;
}

}  // namespace leancnn::ops
