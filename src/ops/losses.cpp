// Training losses (domain ai.leancnn), each a scalar mean: SoftmaxCrossEntropy (with label
// smoothing), KLDivergence (Hinton distillation with temperature) and MSELoss.
#include <algorithm>
#include <cmath>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
// log softmax(row / temperature) of one row of k logits, stable (log-sum-exp), in double.
std::vector<double> log_softmax(const float* row, int64_t k, double temperature = 1.0) {
  std::vector<double> out(static_cast<size_t>(k));
  double mx = -INFINITY;
  for (int64_t j = 0; j < k; ++j) mx = std::max(mx, row[j] / temperature);
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += std::exp(row[j] / temperature - mx);
  const double lse = mx + std::log(sum);
  for (int64_t j = 0; j < k; ++j) out[j] = row[j] / temperature - lse;
  return out;
}

ir::OpSchema loss_schema(const char* op_type) {
  ir::OpSchema s;
  s.op_type = op_type;
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 2;
  s.max_inputs = 2;
  return s;
}

const ir::Value& logits_input(const std::vector<const ir::Value*>& in, size_t i, const char* what) {
  const ir::Value& v = require_input(in, i, what);
  require_dtype(v, DType::f32, what);
  require_rank(v, 2, what);
  if (v.shape[0] < 1 || v.shape[1] < 1)
    fail(ErrorKind::bad_input, what, " '", v.name, "' must be a non-empty [N, K], got ", shape_str(v.shape));
  return v;
}

// ---- SoftmaxCrossEntropy(logits [N, K], labels [N] s64|s32) -> scalar ----
// loss = mean_n(-sum_k q_nk log softmax(logits)_nk), q = (1 - ls) * onehot(label) + ls / K.

float label_smoothing(const ir::Node& node) {
  const float ls = node.attrs.get_float("label_smoothing", 0.f);
  if (!(ls >= 0.f && ls <= 1.f)) fail(ErrorKind::bad_input, "attribute 'label_smoothing' must be in [0, 1], got ", ls);
  return ls;
}

std::vector<ir::TensorType> ce_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& logits = logits_input(in, 0, "logits");
  const ir::Value& labels = require_input(in, 1, "labels");
  if (labels.dtype != DType::s64 && labels.dtype != DType::s32)
    fail(ErrorKind::bad_input, "labels '", labels.name, "' must be s64 or s32, got ", dtype_name(labels.dtype));
  if (labels.shape != Shape{logits.shape[0]})
    fail(ErrorKind::bad_input, "labels '", labels.name, "' must have shape ", logits.shape[0], " (N of logits ",
         shape_str(logits.shape), "), got ", shape_str(labels.shape));
  label_smoothing(node);
  return {{{}, DType::f32}};
}

// Labels as int64, checked against [0, k).
std::vector<int64_t> read_labels(const Tensor& t, int64_t k) {
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    out[i] = t.dtype() == DType::s64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i];
    if (out[i] < 0 || out[i] >= k)
      fail(ErrorKind::bad_input, "SoftmaxCrossEntropy label ", out[i], " (sample ", i, ") is out of range for ", k,
           " classes");
  }
  return out;
}

// Saves nothing: backward recomputes the softmax from the logits.
void ce_forward(ir::ForwardCtx& ctx) {
  const Tensor& logits = ctx.inputs[0];
  const int64_t n = logits.dim(0), k = logits.dim(1);
  const std::vector<int64_t> labels = read_labels(ctx.inputs[1], k);
  const double ls = label_smoothing(ctx.node);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<double> lp = log_softmax(logits.data<float>() + i * k, k);
    double row = 0;
    for (int64_t j = 0; j < k; ++j) {
      const double q = (j == labels[i] ? 1.0 - ls : 0.0) + ls / static_cast<double>(k);
      row -= q * lp[j];
    }
    total += row;
  }
  ctx.outputs[0].data<float>()[0] = static_cast<float>(total / static_cast<double>(n));
}

// d logits_nk = g / N * (softmax_nk - q_nk).
void ce_backward(ir::BackwardCtx& ctx) {
  if (!ctx.d_inputs[0].defined()) return;
  const Tensor& logits = ctx.inputs[0];
  const int64_t n = logits.dim(0), k = logits.dim(1);
  const std::vector<int64_t> labels = read_labels(ctx.inputs[1], k);
  const double ls = label_smoothing(ctx.node);
  const double g = ctx.d_outputs[0].data<float>()[0] / static_cast<double>(n);
  float* d_src = ctx.d_inputs[0].data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<double> lp = log_softmax(logits.data<float>() + i * k, k);
    for (int64_t j = 0; j < k; ++j) {
      const double q = (j == labels[i] ? 1.0 - ls : 0.0) + ls / static_cast<double>(k);
      d_src[i * k + j] = static_cast<float>(g * (std::exp(lp[j]) - q));
    }
  }
}

// ---- KLDivergence(student_logits [N, K], teacher_logits [N, K]) -> scalar ----
// loss = T^2 * mean_n sum_k p_t (log p_t - log p_s), p = softmax(logits / T).

float temperature(const ir::Node& node) {
  const float t = node.attrs.get_float("temperature", 1.f);
  if (!(t > 0.f) || !std::isfinite(t)) fail(ErrorKind::bad_input, "attribute 'temperature' must be > 0, got ", t);
  return t;
}

std::vector<ir::TensorType> kl_infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& s = logits_input(in, 0, "student_logits");
  const ir::Value& t = logits_input(in, 1, "teacher_logits");
  if (s.shape != t.shape)
    fail(ErrorKind::bad_input, "student_logits ", shape_str(s.shape), " and teacher_logits ", shape_str(t.shape),
         " must have the same shape");
  temperature(node);
  return {{{}, DType::f32}};
}

// Saves nothing.
void kl_forward(ir::ForwardCtx& ctx) {
  const int64_t n = ctx.inputs[0].dim(0), k = ctx.inputs[0].dim(1);
  const double t = temperature(ctx.node);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<double> ls = log_softmax(ctx.inputs[0].data<float>() + i * k, k, t);
    const std::vector<double> lt = log_softmax(ctx.inputs[1].data<float>() + i * k, k, t);
    for (int64_t j = 0; j < k; ++j) total += std::exp(lt[j]) * (lt[j] - ls[j]);
  }
  ctx.outputs[0].data<float>()[0] = static_cast<float>(t * t * total / static_cast<double>(n));
}

// d student_nk = g * T / N * (p_s - p_t); the teacher gets no gradient.
void kl_backward(ir::BackwardCtx& ctx) {
  if (!ctx.d_inputs[0].defined()) return;
  const int64_t n = ctx.inputs[0].dim(0), k = ctx.inputs[0].dim(1);
  const double t = temperature(ctx.node);
  const double g = ctx.d_outputs[0].data<float>()[0] * t / static_cast<double>(n);
  float* d_src = ctx.d_inputs[0].data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<double> ls = log_softmax(ctx.inputs[0].data<float>() + i * k, k, t);
    const std::vector<double> lt = log_softmax(ctx.inputs[1].data<float>() + i * k, k, t);
    for (int64_t j = 0; j < k; ++j) d_src[i * k + j] = static_cast<float>(g * (std::exp(ls[j]) - std::exp(lt[j])));
  }
}

// ---- MSELoss(a, b) -> scalar: mean((a - b)^2) ----

std::vector<ir::TensorType> mse_infer(const ir::Node&, const std::vector<const ir::Value*>& in) {
  const ir::Value& a = require_input(in, 0, "a");
  const ir::Value& b = require_input(in, 1, "b");
  require_dtype(a, DType::f32, "input a");
  require_dtype(b, DType::f32, "input b");
  if (a.shape != b.shape)
    fail(ErrorKind::bad_input, "MSELoss inputs must have the same shape, got ", shape_str(a.shape), " and ",
         shape_str(b.shape));
  if (shape_numel(a.shape) == 0) fail(ErrorKind::bad_input, "MSELoss inputs are empty (", shape_str(a.shape), ")");
  return {{{}, DType::f32}};
}

// Saves nothing.
void mse_forward(ir::ForwardCtx& ctx) {
  const float* a = ctx.inputs[0].data<float>();
  const float* b = ctx.inputs[1].data<float>();
  const int64_t count = ctx.inputs[0].numel();
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    sum += d * d;
  }
  ctx.outputs[0].data<float>()[0] = static_cast<float>(sum / static_cast<double>(count));
}

// d a = g * 2 (a - b) / numel; d b = -d a.
void mse_backward(ir::BackwardCtx& ctx) {
  const float* a = ctx.inputs[0].data<float>();
  const float* b = ctx.inputs[1].data<float>();
  const int64_t count = ctx.inputs[0].numel();
  const double g = 2.0 * ctx.d_outputs[0].data<float>()[0] / static_cast<double>(count);
  for (int slot = 0; slot < 2; ++slot) {
    if (ctx.d_inputs.size() <= static_cast<size_t>(slot) || !ctx.d_inputs[slot].defined()) continue;
    const double sign = slot == 0 ? 1.0 : -1.0;
    float* d = ctx.d_inputs[slot].data<float>();
    for (int64_t i = 0; i < count; ++i) d[i] = static_cast<float>(sign * g * (static_cast<double>(a[i]) - b[i]));
  }
}
}  // namespace

ir::OpSchema softmax_cross_entropy_schema() {
  ir::OpSchema s = loss_schema("SoftmaxCrossEntropy");
  s.attributes = {"label_smoothing"};
  s.non_differentiable_inputs = {1};
  s.infer = ce_infer;
  s.forward = ce_forward;
  s.backward = ce_backward;
  return s;
}

ir::OpSchema kl_div_schema() {
  ir::OpSchema s = loss_schema("KLDivergence");
  s.attributes = {"temperature"};
  s.non_differentiable_inputs = {1};
  s.infer = kl_infer;
  s.forward = kl_forward;
  s.backward = kl_backward;
  return s;
}

ir::OpSchema mse_loss_schema() {
  ir::OpSchema s = loss_schema("MSELoss");
  s.infer = mse_infer;
  s.forward = mse_forward;
  s.backward = mse_backward;
  return s;
}

}  // namespace leancnn::ops
