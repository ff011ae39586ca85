// BatchNormalization (ONNX): attributes, shape inference, and the reference forward (inference
// and training, with in-place running-statistics update) and training-mode backward.
#include "leancnn/ops/batch_norm.h"

#include <cmath>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

BatchNormGeometry batch_norm_geometry(const ir::Node& node, const Shape& src) {
  if (src.size() < 2)
    fail(ErrorKind::bad_input, "BatchNormalization input must have rank >= 2 (N, C, ...), got ", shape_str(src));
  BatchNormGeometry g;
  g.n = src[0];
  g.c = src[1];
  for (size_t i = 2; i < src.size(); ++i) g.spatial *= src[i];
  g.epsilon = node.attrs.get_float("epsilon", 1e-5f);
  g.momentum = node.attrs.get_float("momentum", 0.9f);
  if (!(g.epsilon >= 0.f) || !std::isfinite(g.epsilon))
    fail(ErrorKind::bad_input, "attribute 'epsilon' must be a finite value >= 0, got ", g.epsilon);
  if (!(g.momentum >= 0.f && g.momentum <= 1.f))
    fail(ErrorKind::bad_input, "attribute 'momentum' must be in [0, 1], got ", g.momentum);
  const int64_t mode = node.attrs.get_int("training_mode", 0);
  if (mode != 0 && mode != 1) fail(ErrorKind::bad_input, "attribute 'training_mode' must be 0 or 1, got ", mode);
  return g;
}

namespace {
std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "X");
  require_dtype(x, DType::f32, "input X");
  const BatchNormGeometry g = batch_norm_geometry(node, x.shape);
  const char* names[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i < 5; ++i) {
    const ir::Value& v = require_input(in, i, names[i]);
    require_dtype(v, DType::f32, names[i]);
    if (v.shape != Shape{g.c})
      fail(ErrorKind::bad_input, names[i], " '", v.name, "' must have shape ", g.c, " (the channels of X ",
           shape_str(x.shape), "), got ", shape_str(v.shape));
  }
  if (node.outputs.size() > 1)
    fail(ErrorKind::bad_input, "BatchNormalization's optional outputs (running_mean, running_var) are not "
         "supported: the running statistics are updated in place in inputs 3 and 4");
  return {{x.shape, DType::f32}};
}

// Index of element (n, c, s) in the [N, C, spatial] view.
int64_t at(const BatchNormGeometry& g, int64_t n, int64_t c, int64_t s) { return (n * g.c + c) * g.spatial + s; }
}  // namespace

// Saves (training only): {mean[C], invstd[C]} of the batch, invstd = 1 / sqrt(biased var + epsilon).
void batch_norm_forward_ref(ir::ForwardCtx& ctx) {
  const BatchNormGeometry g = batch_norm_geometry(ctx.node, ctx.inputs[0].shape());
  const float* src = ctx.inputs[0].data<float>();
  const float* scale = ctx.inputs[1].data<float>();
  const float* bias = ctx.inputs[2].data<float>();
  float* run_mean = ctx.inputs[3].data<float>();
  float* run_var = ctx.inputs[4].data<float>();
  float* dst = ctx.outputs[0].data<float>();
  const int64_t m = g.per_channel();
  if (ctx.training && m < 2)
    fail(ErrorKind::bad_input, "BatchNormalization in training needs more than one value per channel, got input ",
         shape_str(ctx.inputs[0].shape()));
  Tensor saved_mean = Tensor::empty({g.c}), saved_invstd = Tensor::empty({g.c});
  for (int64_t c = 0; c < g.c; ++c) {
    double mean, var;
    if (ctx.training) {
      double sum = 0;
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t s = 0; s < g.spatial; ++s) sum += src[at(g, n, c, s)];
      mean = sum / static_cast<double>(m);
      double sq = 0;
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t s = 0; s < g.spatial; ++s) {
          const double d = src[at(g, n, c, s)] - mean;
          sq += d * d;
        }
      var = sq / static_cast<double>(m);  // biased: normalises this batch
      const double unbiased = sq / static_cast<double>(m - 1);
      run_mean[c] = static_cast<float>(run_mean[c] * static_cast<double>(g.momentum) + mean * (1.0 - g.momentum));
      run_var[c] = static_cast<float>(run_var[c] * static_cast<double>(g.momentum) + unbiased * (1.0 - g.momentum));
    } else {
      mean = run_mean[c];
      var = run_var[c];
    }
    const double invstd = 1.0 / std::sqrt(var + g.epsilon);
    saved_mean.data<float>()[c] = static_cast<float>(mean);
    saved_invstd.data<float>()[c] = static_cast<float>(invstd);
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t s = 0; s < g.spatial; ++s) {
        const int64_t i = at(g, n, c, s);
        dst[i] = static_cast<float>((src[i] - mean) * invstd * scale[c] + bias[c]);
      }
  }
  // Only a training forward saves: the backward implements the training-mode formula, so a
  // backward after an inference forward fails loudly instead of using the wrong statistics.
  if (ctx.saved && ctx.training) {
    ctx.saved->push_back(saved_mean);
    ctx.saved->push_back(saved_invstd);
  }
}

void batch_norm_backward_ref(ir::BackwardCtx& ctx) {
  const BatchNormGeometry g = batch_norm_geometry(ctx.node, ctx.inputs[0].shape());
  if (ctx.saved.size() < 2)
    fail(ErrorKind::internal, "BatchNormalization backward needs the saved {mean, invstd} of a training forward");
  const float* src = ctx.inputs[0].data<float>();
  const float* scale = ctx.inputs[1].data<float>();
  const float* mean = ctx.saved[0].data<float>();
  const float* invstd = ctx.saved[1].data<float>();
  const float* d_dst = ctx.d_outputs[0].data<float>();
  auto want = [&](size_t i) { return ctx.d_inputs.size() > i && ctx.d_inputs[i].defined(); };
  const double m = static_cast<double>(g.per_channel());
  for (int64_t c = 0; c < g.c; ++c) {
    // With xhat = (x - mean) * invstd: dB = sum dy, dscale = sum dy * xhat,
    // dx = scale * invstd / M * (M * dy - sum dy - xhat * sum(dy * xhat)).
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t s = 0; s < g.spatial; ++s) {
        const int64_t i = at(g, n, c, s);
        sum_dy += d_dst[i];
        sum_dy_xhat += static_cast<double>(d_dst[i]) * (src[i] - mean[c]) * invstd[c];
      }
    if (want(0)) {
      float* d_src = ctx.d_inputs[0].data<float>();
      const double k = static_cast<double>(scale[c]) * invstd[c] / m;
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t s = 0; s < g.spatial; ++s) {
          const int64_t i = at(g, n, c, s);
          const double xhat = (src[i] - mean[c]) * static_cast<double>(invstd[c]);
          d_src[i] = static_cast<float>(k * (m * d_dst[i] - sum_dy - xhat * sum_dy_xhat));
        }
    }
    if (want(1)) ctx.d_inputs[1].data<float>()[c] = static_cast<float>(sum_dy_xhat);
    if (want(2)) ctx.d_inputs[2].data<float>()[c] = static_cast<float>(sum_dy);
  }
}

ir::OpSchema batch_norm_schema() {
  ir::OpSchema s;
  s.op_type = "BatchNormalization";
  s.min_inputs = 5;
  s.max_inputs = 5;
  s.attributes = {"epsilon", "momentum", "training_mode"};
  s.trainable_inputs = {1, 2};
  s.non_differentiable_inputs = {3, 4};
  s.infer = infer;
  s.forward = batch_norm_forward_ref;
  s.backward = batch_norm_backward_ref;
  return s;
}

}  // namespace leancnn::ops
