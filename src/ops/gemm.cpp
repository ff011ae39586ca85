// Gemm (ONNX): attributes, shape inference, MACs and the reference forward/backward (plain
// loops, double accumulation: the oracle every fast gemm kernel is tested against).
#include "leancnn/ops/gemm.h"

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
bool flag_attr(const ir::Node& node, const char* name) {
  const int64_t v = node.attrs.get_int(name, 0);
  if (v != 0 && v != 1) fail(ErrorKind::bad_input, "attribute '", name, "' must be 0 or 1, got ", v);
  return v == 1;
}
}  // namespace

GemmGeometry gemm_geometry(const ir::Node& node, const Shape& a, const Shape& b) {
  if (a.size() != 2) fail(ErrorKind::bad_input, "Gemm input A must be 2-D, got ", shape_str(a));
  if (b.size() != 2) fail(ErrorKind::bad_input, "Gemm input B must be 2-D, got ", shape_str(b));
  GemmGeometry g;
  g.trans_a = flag_attr(node, "transA");
  g.trans_b = flag_attr(node, "transB");
  g.alpha = node.attrs.get_float("alpha", 1.f);
  g.beta = node.attrs.get_float("beta", 1.f);
  g.m = g.trans_a ? a[1] : a[0];
  g.k = g.trans_a ? a[0] : a[1];
  const int64_t kb = g.trans_b ? b[1] : b[0];
  g.n = g.trans_b ? b[0] : b[1];
  if (kb != g.k)
    fail(ErrorKind::bad_input, "Gemm inner dimensions disagree: A ", shape_str(a), (g.trans_a ? " (transA)" : ""),
         " gives K = ", g.k, ", B ", shape_str(b), (g.trans_b ? " (transB)" : ""), " gives K = ", kb);
  return g;
}

void check_gemm_bias_shape(const GemmGeometry& g, const Shape& c) {
  const Shape target{g.m, g.n};
  bool ok = c.size() <= 2;
  for (size_t i = 0; ok && i < c.size(); ++i) {
    const int64_t t = target[2 - c.size() + i];
    ok = c[i] == t || c[i] == 1;
  }
  if (!ok)
    fail(ErrorKind::bad_input, "Gemm input C ", shape_str(c), " is not unidirectionally broadcastable to ",
         shape_str(target));
}

namespace {
std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& a = require_input(in, 0, "A");
  const ir::Value& b = require_input(in, 1, "B");
  require_dtype(a, DType::f32, "input A");
  require_dtype(b, DType::f32, "input B");
  const GemmGeometry g = gemm_geometry(node, a.shape, b.shape);
  if (in.size() > 2 && in[2]) {
    require_dtype(*in[2], DType::f32, "input C");
    check_gemm_bias_shape(g, in[2]->shape);
  }
  return {{{g.m, g.n}, DType::f32}};
}

int64_t macs(const ir::Node& node, const std::vector<const ir::Value*>& in, const std::vector<const ir::Value*>&) {
  return gemm_geometry(node, in[0]->shape, in[1]->shape).macs();
}

// Element (m, k) of A' and (k, n) of B', whatever the storage order.
int64_t a_index(const GemmGeometry& g, int64_t m, int64_t k) { return g.trans_a ? k * g.m + m : m * g.k + k; }
int64_t b_index(const GemmGeometry& g, int64_t k, int64_t n) { return g.trans_b ? n * g.k + k : k * g.n + n; }
}  // namespace

void gemm_forward_ref(ir::ForwardCtx& ctx) {
  const Tensor& a = ctx.inputs[0];
  const Tensor& b = ctx.inputs[1];
  const GemmGeometry g = gemm_geometry(ctx.node, a.shape(), b.shape());
  const bool has_c = ctx.inputs.size() > 2 && ctx.inputs[2].defined();
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  const float* pc = has_c ? ctx.inputs[2].data<float>() : nullptr;
  const Shape out{g.m, g.n};
  float* y = ctx.outputs[0].data<float>();
  for (int64_t m = 0; m < g.m; ++m)
    for (int64_t n = 0; n < g.n; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < g.k; ++k) acc += static_cast<double>(pa[a_index(g, m, k)]) * pb[b_index(g, k, n)];
      double v = g.alpha * acc;
      if (pc) v += static_cast<double>(g.beta) * pc[broadcast_index(m * g.n + n, out, ctx.inputs[2].shape())];
      y[m * g.n + n] = static_cast<float>(v);
    }
}

void gemm_backward_ref(ir::BackwardCtx& ctx) {
  const Tensor& a = ctx.inputs[0];
  const Tensor& b = ctx.inputs[1];
  const GemmGeometry g = gemm_geometry(ctx.node, a.shape(), b.shape());
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  const float* dy = ctx.d_outputs[0].data<float>();
  // dA'[m,k] = alpha * sum_n dY[m,n] B'[k,n]
  if (ctx.d_inputs[0].defined()) {
    float* da = ctx.d_inputs[0].data<float>();
    for (int64_t m = 0; m < g.m; ++m)
      for (int64_t k = 0; k < g.k; ++k) {
        double acc = 0;
        for (int64_t n = 0; n < g.n; ++n) acc += static_cast<double>(dy[m * g.n + n]) * pb[b_index(g, k, n)];
        da[a_index(g, m, k)] = static_cast<float>(g.alpha * acc);
      }
  }
  // dB'[k,n] = alpha * sum_m A'[m,k] dY[m,n]
  if (ctx.d_inputs.size() > 1 && ctx.d_inputs[1].defined()) {
    float* db = ctx.d_inputs[1].data<float>();
    for (int64_t k = 0; k < g.k; ++k)
      for (int64_t n = 0; n < g.n; ++n) {
        double acc = 0;
        for (int64_t m = 0; m < g.m; ++m) acc += static_cast<double>(pa[a_index(g, m, k)]) * dy[m * g.n + n];
        db[b_index(g, k, n)] = static_cast<float>(g.alpha * acc);
      }
  }
  // dC = beta * dY summed over the dims C was broadcast along.
  if (ctx.d_inputs.size() > 2 && ctx.d_inputs[2].defined()) {
    const Tensor& dc = ctx.d_inputs[2];
    const Shape out{g.m, g.n};
    std::vector<double> acc(static_cast<size_t>(dc.numel()), 0.0);
    for (int64_t i = 0; i < g.m * g.n; ++i) acc[broadcast_index(i, out, dc.shape())] += dy[i];
    float* pdc = dc.data<float>();
    for (size_t i = 0; i < acc.size(); ++i) pdc[i] = static_cast<float>(g.beta * acc[i]);
  }
}

ir::OpSchema gemm_schema() {
  ir::OpSchema s;
  s.op_type = "Gemm";
  s.min_inputs = 2;
  s.max_inputs = 3;
  s.attributes = {"alpha", "beta", "transA", "transB"};
  s.trainable_inputs = {1, 2};
  s.infer = infer;
  s.macs = macs;
  s.forward = gemm_forward_ref;
  s.backward = gemm_backward_ref;
  return s;
}

}  // namespace leancnn::ops
