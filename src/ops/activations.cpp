// Element-wise activations (ONNX): Relu, Clip, Sigmoid, HardSigmoid, HardSwish.
// Forward and backward references; the fast versions are oneDNN eltwise kernels.
#include <cmath>

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
}  // namespace

ir::OpSchema relu_schema() {
  return unary_schema(
      "Relu", [](ir::ForwardCtx& c) { unary_forward(c, [](float x) { return x > 0.f ? x : 0.f; }); },
      // The subgradient at 0 is taken as 0, as PyTorch and oneDNN do.
      [](ir::BackwardCtx& c) { unary_backward(c, [](float x) { return x > 0.f ? 1.f : 0.f; }); });
}

}  // namespace leancnn::ops
