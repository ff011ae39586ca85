// Element-wise activations (ONNX): Relu, Clip, Sigmoid, HardSigmoid, HardSwish.
// Forward and backward references; the fast versions are oneDNN eltwise kernels.
// None of these ops saves anything for backward: the backward reads the forward's input x
// (BackwardCtx::inputs), so ctx.saved stays empty.
#include <algorithm>
#include <cmath>
#include <limits>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
// Applies f(x) element-wise from input 0 to output 0.
template <typename F>
void unary_forward(ir::ForwardCtx& ctx, F f) {
  const float* x = ctx.inputs[0].data<float>();
  float* y = ctx.outputs[0].data<float>();
  for (int64_t i = 0, n = ctx.inputs[0].numel(); i < n; ++i) y[i] = f(x[i]);
}
// d_src = d_dst * f'(x), with f' given as a function of x.
template <typename F>
void unary_backward(ir::BackwardCtx& ctx, F dfdx) {
  if (!ctx.d_inputs[0].defined()) return;
  const float* x = ctx.inputs[0].data<float>();
  const float* dy = ctx.d_outputs[0].data<float>();
  float* dx = ctx.d_inputs[0].data<float>();
  for (int64_t i = 0, n = ctx.inputs[0].numel(); i < n; ++i) dx[i] = dy[i] * dfdx(x[i]);
}

ir::OpSchema unary_schema(const char* op_type, ir::ForwardFn fwd, ir::BackwardFn bwd) {
  ir::OpSchema s;
  s.op_type = op_type;
  s.infer = [](const ir::Node& n, const std::vector<const ir::Value*>& in) {
    auto t = same_as_input(n, in);
    require_dtype(*in[0], DType::f32, "input");
    return t;
  };
  s.forward = fwd;
  s.backward = bwd;
  return s;
}

// --- Clip ---
// ONNX defaults: numeric_limits<float>::lowest() and max() (so +-inf inputs are clamped to them).
constexpr float kClipLowest = std::numeric_limits<float>::lowest();
constexpr float kClipMax = std::numeric_limits<float>::max();

// Reads the optional scalar bound in input slot i of a run (undefined or absent: def).
float clip_bound(const std::vector<Tensor>& inputs, size_t i, float def, const char* what) {
  if (i >= inputs.size() || !inputs[i].defined()) return def;
  const Tensor& t = inputs[i];
  if (t.dtype() != DType::f32 || t.numel() != 1) fail(ErrorKind::bad_input, "Clip ", what, " must be a single f32 value");
  return t.data<float>()[0];
}

// y = min(max, max(x, min)) (so min > max gives max everywhere, as ONNX specifies); NaN passes through.
float clip_value(float x, float lo, float hi) {
  float y = x < lo ? lo : x;
  return y > hi ? hi : y;
}

std::vector<ir::TensorType> clip_infer(const ir::Node& n, const std::vector<const ir::Value*>& in) {
  auto t = same_as_input(n, in);
  require_dtype(*in[0], DType::f32, "input");
  scalar_input(in, 1, kClipLowest, "Clip min");  // validates: constant, one f32 value
  scalar_input(in, 2, kClipMax, "Clip max");
  return t;
}

void clip_forward(ir::ForwardCtx& ctx) {
  const float lo = clip_bound(ctx.inputs, 1, kClipLowest, "min");
  const float hi = clip_bound(ctx.inputs, 2, kClipMax, "max");
  unary_forward(ctx, [=](float x) { return clip_value(x, lo, hi); });
}

// The gradient passes where min <= x <= max, boundaries included (PyTorch's clamp/hardtanh
// convention); min and max themselves get no gradient (they are constants).
void clip_backward(ir::BackwardCtx& ctx) {
  const float lo = clip_bound(ctx.inputs, 1, kClipLowest, "min");
  const float hi = clip_bound(ctx.inputs, 2, kClipMax, "max");
  unary_backward(ctx, [=](float x) { return lo <= x && x <= hi ? 1.f : 0.f; });
}

// --- Sigmoid ---
// 1 / (1 + e^-x), written so that exp never overflows.
double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// --- HardSigmoid: y = max(0, min(1, alpha * x + beta)) ---
struct HardSigmoidParams {
  float alpha, beta;
};
HardSigmoidParams hard_sigmoid_params(const ir::Node& n) {
  return {n.attrs.get_float("alpha", 0.2f), n.attrs.get_float("beta", 0.5f)};
}

// HardSwish (ONNX opset 14): y = x * HardSigmoid(x) with alpha = 1/6, beta = 1/2.
constexpr float kHardSwishAlpha = 1.f / 6.f;
constexpr float kHardSwishBeta = 0.5f;
}  // namespace

ir::OpSchema relu_schema() {
  return unary_schema(
      "Relu", [](ir::ForwardCtx& c) { unary_forward(c, [](float x) { return x > 0.f ? x : 0.f; }); },
      // The subgradient at 0 is taken as 0, as PyTorch and oneDNN do.
      [](ir::BackwardCtx& c) { unary_backward(c, [](float x) { return x > 0.f ? 1.f : 0.f; }); });
}

ir::OpSchema clip_schema() {
  ir::OpSchema s = unary_schema("Clip", clip_forward, clip_backward);
  s.max_inputs = 3;
  s.non_differentiable_inputs = {1, 2};
  s.infer = clip_infer;
  return s;
}

ir::OpSchema sigmoid_schema() {
  return unary_schema(
      "Sigmoid",
      [](ir::ForwardCtx& c) { unary_forward(c, [](float x) { return static_cast<float>(sigmoid(x)); }); },
      [](ir::BackwardCtx& c) {
        unary_backward(c, [](float x) {
          const double y = sigmoid(x);
          return static_cast<float>(y * (1.0 - y));
        });
      });
}

ir::OpSchema hard_sigmoid_schema() {
  ir::OpSchema s = unary_schema(
      "HardSigmoid",
      [](ir::ForwardCtx& c) {
        const HardSigmoidParams p = hard_sigmoid_params(c.node);
        unary_forward(c, [=](float x) { return std::max(0.f, std::min(1.f, p.alpha * x + p.beta)); });
      },
      // alpha strictly inside the linear segment, 0 on the flat parts and at both corners
      // (PyTorch's hardsigmoid and oneDNN's hardsigmoid take the same convention).
      [](ir::BackwardCtx& c) {
        const HardSigmoidParams p = hard_sigmoid_params(c.node);
        unary_backward(c, [=](float x) {
          const float v = p.alpha * x + p.beta;
          return v > 0.f && v < 1.f ? p.alpha : 0.f;
        });
      });
  s.attributes = {"alpha", "beta"};
  return s;
}

ir::OpSchema hard_swish_schema() {
  return unary_schema(
      "HardSwish",
      [](ir::ForwardCtx& c) {
        unary_forward(c, [](float x) {
          return x * std::max(0.f, std::min(1.f, kHardSwishAlpha * x + kHardSwishBeta));
        });
      },
      // d/dx = 2 * alpha * x + beta on the curved part (x/3 + 1/2), 0 for x <= -3 and 1 for
      // x >= 3: each corner takes its outer side's value, as oneDNN's hardswish does. The
      // corners are tested on x itself: x/6 + 1/2 rounds to 1 for floats just below 3.
      [](ir::BackwardCtx& c) {
        unary_backward(c, [](float x) {
          if (x <= -3.f) return 0.f;
          if (x >= 3.f) return 1.f;
          return 2.f * kHardSwishAlpha * x + kHardSwishBeta;
        });
      });
}

}  // namespace leancnn::ops
