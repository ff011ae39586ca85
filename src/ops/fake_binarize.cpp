// FakeBinarize (ai.leancnn): the binary or ternary weights a latent f32 weight tensor stands for
// in training, per output channel (row = dim 0), and the gradient each method's paper uses
// (docs/binarization.md):
//   sign        BinaryConnect deterministic / BNN: y = sign(w); dw = dy * 1{|w| <= 1}
//   stochastic  BinaryConnect stochastic: y = +1 with probability hard_sigmoid(w) =
//               clip((w + 1) / 2, 0, 1), else -1, in training; sign(w) in inference; dw as sign
//   xnor        XNOR-Net: y = alpha * sign(w), alpha = mean |w_row|;
//               dw_i = dy_i * alpha * 1{|w_i| <= 1} + sign(w_i) / n * sum_j dy_j sign(w_j)
//   irnet       IR-Net: w^ = (w - mean_row) / std_row (balanced, standardized), y = s * sign(w^),
//               s = 2^round(log2(mean |w^|)); dw = dy * s * k t (1 - tanh^2(t w^)) / std_row
//               (the error-decay estimator with attributes ede_t, ede_k; mean and std held)
//   ternary     TWN: delta = 0.7 mean |w_row|, alpha = mean of |w| over |w| > delta,
//               y = alpha * sign(w) * 1{|w| > delta}; dw = dy (straight through)
// sign(0) = +1 everywhere (binary_net.h). Every row of y is ±its scale (or 0), which is what
// BinaryWeights stores.
#include <cmath>

#include "leancnn/ops/binary_net.h"
#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
struct Attrs {
  BinarizeMethod method = BinarizeMethod::sign;
  float ede_t = 1.f, ede_k = 1.f;
};

Attrs attrs_of(const ir::Node& node) {
  Attrs a;
  a.method = parse_binarize_method(node.attrs.get_string("method", "sign"));
  a.ede_t = node.attrs.get_float("ede_t", 1.f);
  a.ede_k = node.attrs.get_float("ede_k", 1.f);
  if (!(a.ede_t > 0.f) || !(a.ede_k > 0.f) || !std::isfinite(a.ede_t) || !std::isfinite(a.ede_k))
    fail(ErrorKind::bad_input, "FakeBinarize ", node.label(), ": attributes ede_t and ede_k must be > 0, got ", a.ede_t,
         " and ", a.ede_k);
  return a;
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& w = require_input(in, 0, "W");
  require_dtype(w, DType::f32, "FakeBinarize input");
  if (w.shape.empty()) fail(ErrorKind::bad_input, "FakeBinarize ", node.label(), ": weights '", w.name, "' need a row dim");
  attrs_of(node);
  return {{w.shape, DType::f32}};
}

float sgn(float v) { return sign_bit(v) ? 1.f : -1.f; }

// Per-row statistics of IR-Net's standardization.
struct RowStats {
  double mean = 0, std = 1, scale = 1;
};
RowStats irnet_stats(const float* w, int64_t n) {
  RowStats r;
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < n; ++i) sum += w[i];
  r.mean = sum / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) sq += (w[i] - r.mean) * (w[i] - r.mean);
  r.std = std::sqrt(sq / static_cast<double>(n)) + 1e-8;
  double mabs = 0;
  for (int64_t i = 0; i < n; ++i) mabs += std::fabs((w[i] - r.mean) / r.std);
  mabs /= static_cast<double>(n);
  r.scale = mabs > 0 ? std::exp2(std::round(std::log2(mabs))) : 1.0;
  return r;
}

void forward(ir::ForwardCtx& ctx) {
  const Attrs a = attrs_of(ctx.node);
  const Tensor w = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  Tensor& y = ctx.outputs[0];
  const int64_t rows = w.shape()[0], n = rows == 0 ? 0 : w.numel() / rows;
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = w.data<float>() + r * n;
    float* dst = y.data<float>() + r * n;
    switch (a.method) {
      case BinarizeMethod::sign:
        for (int64_t i = 0; i < n; ++i) dst[i] = sgn(src[i]);
        break;
      case BinarizeMethod::stochastic:
        for (int64_t i = 0; i < n; ++i) {
          if (!ctx.training || !ctx.rng) {
            dst[i] = sgn(src[i]);
            continue;
          }
          const float p = std::fmin(1.f, std::fmax(0.f, (src[i] + 1.f) * 0.5f));
          dst[i] = ctx.rng->uniform() < p ? 1.f : -1.f;
        }
        break;
      case BinarizeMethod::xnor: {
        const float alpha = mean_abs_scale(src, n);
        for (int64_t i = 0; i < n; ++i) dst[i] = sgn(src[i]) * alpha;
        break;
      }
      case BinarizeMethod::irnet: {
        const RowStats s = irnet_stats(src, n);
        for (int64_t i = 0; i < n; ++i)
          dst[i] = static_cast<float>((src[i] - s.mean) >= 0 ? s.scale : -s.scale);
        break;
      }
      case BinarizeMethod::ternary: {
        const double delta = 0.7 * mean_abs_scale(src, n);
        double sum = 0;
        int64_t kept = 0;
        for (int64_t i = 0; i < n; ++i)
          if (std::fabs(src[i]) > delta) {
            sum += std::fabs(src[i]);
            ++kept;
          }
        const float alpha = kept ? static_cast<float>(sum / static_cast<double>(kept)) : 0.f;
        for (int64_t i = 0; i < n; ++i) dst[i] = std::fabs(src[i]) > delta ? sgn(src[i]) * alpha : 0.f;
        break;
      }
    }
  }
}

void backward(ir::BackwardCtx& ctx) {
  if (!ctx.d_inputs[0].defined()) return;
  const Attrs a = attrs_of(ctx.node);
  const Tensor w = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const Tensor dy = ctx.d_outputs[0].is_contiguous() ? ctx.d_outputs[0] : ctx.d_outputs[0].clone();
  const int64_t rows = w.shape()[0], n = rows == 0 ? 0 : w.numel() / rows;
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = w.data<float>() + r * n;
    const float* g = dy.data<float>() + r * n;
    float* dw = ctx.d_inputs[0].data<float>() + r * n;
    switch (a.method) {
      case BinarizeMethod::sign:
      case BinarizeMethod::stochastic:
        for (int64_t i = 0; i < n; ++i) dw[i] = std::fabs(src[i]) <= 1.f ? g[i] : 0.f;
        break;
      case BinarizeMethod::xnor: {
        const float alpha = mean_abs_scale(src, n);
        double dalpha = 0;
        for (int64_t i = 0; i < n; ++i) dalpha += sign_bit(src[i]) ? g[i] : -g[i];
        for (int64_t i = 0; i < n; ++i) {
          double d = std::fabs(src[i]) <= 1.f ? static_cast<double>(g[i]) * alpha : 0.0;
          if (src[i] != 0.f) d += dalpha * (src[i] > 0.f ? 1.0 : -1.0) / static_cast<double>(n);
          dw[i] = static_cast<float>(d);
        }
        break;
      }
      case BinarizeMethod::irnet: {
        const RowStats s = irnet_stats(src, n);
        for (int64_t i = 0; i < n; ++i) {
          const double t = std::tanh(a.ede_t * (src[i] - s.mean) / s.std);
          dw[i] = static_cast<float>(g[i] * s.scale * a.ede_k * a.ede_t * (1.0 - t * t) / s.std);
        }
        break;
      }
      case BinarizeMethod::ternary:
        for (int64_t i = 0; i < n; ++i) dw[i] = g[i];
        break;
    }
  }
}
}  // namespace

ir::OpSchema fake_binarize_schema() {
  ir::OpSchema s;
  s.op_type = "FakeBinarize";
  s.domain = ir::kLeancnnDomain;
  s.attributes = {"method", "ede_t", "ede_k"};
  s.infer = infer;
  s.forward = forward;
  s.backward = backward;
  return s;
}

}  // namespace leancnn::ops
