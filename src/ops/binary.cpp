// Element-wise binary ops with ONNX multidirectional (numpy) broadcasting: Add, Mul.
// Reference forward and backward; backward sums the gradient over each input's broadcast dims.
// Neither op saves anything for backward: Mul's backward reads both inputs from BackwardCtx.
#include <vector>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
std::vector<ir::TensorType> binary_infer(const ir::Node&, const std::vector<const ir::Value*>& in) {
  const ir::Value& a = require_input(in, 0, "A");
  const ir::Value& b = require_input(in, 1, "B");
  require_dtype(a, DType::f32, "input A");
  require_dtype(b, DType::f32, "input B");
  return {{broadcast_shapes(a.shape, b.shape), DType::f32}};
}

// dst[i] = f(a[bcast(i)], b[bcast(i)]) over the (preallocated, broadcast) output.
template <typename F>
void binary_forward(ir::ForwardCtx& ctx, F f) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1];
  const Tensor& dst = ctx.outputs[0];
  const Shape& out = dst.shape();
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pd = dst.data<float>();
  for (int64_t i = 0, n = dst.numel(); i < n; ++i)
    pd[i] = f(pa[broadcast_index(i, out, a.shape())], pb[broadcast_index(i, out, b.shape())]);
}

// d_src_k = sum over output elements that read each input element of d_dst * df/d(src_k),
// with df_da(a, b) and df_db(a, b) the partial derivatives. Double accumulation.
template <typename Fa, typename Fb>
void binary_backward(ir::BackwardCtx& ctx, Fa df_da, Fb df_db) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1];
  const Tensor& d_dst = ctx.d_outputs[0];
  const Shape& out = d_dst.shape();
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  const float* dy = d_dst.data<float>();
  const bool want_a = ctx.d_inputs.size() > 0 && ctx.d_inputs[0].defined();
  const bool want_b = ctx.d_inputs.size() > 1 && ctx.d_inputs[1].defined();
  std::vector<double> da(want_a ? a.numel() : 0, 0.0), db(want_b ? b.numel() : 0, 0.0);
  for (int64_t i = 0, n = d_dst.numel(); i < n; ++i) {
    const int64_t ia = broadcast_index(i, out, a.shape()), ib = broadcast_index(i, out, b.shape());
    if (want_a) da[ia] += static_cast<double>(dy[i]) * df_da(pa[ia], pb[ib]);
    if (want_b) db[ib] += static_cast<double>(dy[i]) * df_db(pa[ia], pb[ib]);
  }
  for (size_t k = 0; k < da.size(); ++k) ctx.d_inputs[0].data<float>()[k] = static_cast<float>(da[k]);
  for (size_t k = 0; k < db.size(); ++k) ctx.d_inputs[1].data<float>()[k] = static_cast<float>(db[k]);
}

ir::OpSchema binary_schema(const char* op_type, ir::ForwardFn fwd, ir::BackwardFn bwd) {
  ir::OpSchema s;
  s.op_type = op_type;
  s.min_inputs = 2;
  s.max_inputs = 2;
  s.infer = binary_infer;
  s.forward = fwd;
  s.backward = bwd;
  return s;
}
}  // namespace

ir::OpSchema add_schema() {
  return binary_schema(
      "Add", [](ir::ForwardCtx& c) { binary_forward(c, [](float a, float b) { return a + b; }); },
      [](ir::BackwardCtx& c) {
        binary_backward(c, [](float, float) { return 1.0; }, [](float, float) { return 1.0; });
      });
}

ir::OpSchema mul_schema() {
  return binary_schema(
      "Mul", [](ir::ForwardCtx& c) { binary_forward(c, [](float a, float b) { return a * b; }); },
      [](ir::BackwardCtx& c) {
        binary_backward(c, [](float, float b) { return static_cast<double>(b); },
                        [](float a, float) { return static_cast<double>(a); });
      });
}

}  // namespace leancnn::ops
