// BatchNormalization on plain NCHW fp32, our own loops. One channel's values (N planes of
// H*W) are handled by one thread from start to finish: the statistics pass pulls them into
// L2 and the normalising pass finds them there, so a training forward reads memory about once
// (oneDNN 2.6's NCHW batch norm streams the whole tensor per pass). Per-channel sums are taken
// in a fixed order, so results do not depend on the thread count. Sums are float within a
// plane and double across planes and in the final formulas, like the reference.
#include "batch_norm_kernels.h"

#include <cmath>
#include <vector>

#include "leancnn/core/error.h"
#include "leancnn/ops/batch_norm.h"

namespace leancnn::kernels {
namespace {
using ops::BatchNormGeometry;

bool is_f32(const Tensor& t) { return t.defined() && t.dtype() == DType::f32 && t.is_contiguous(); }

std::string check_inputs(const std::vector<Tensor>& in) {
  if (in.size() != 5) return "expected 5 inputs";
  for (const Tensor& t : in)
    if (!is_f32(t)) return "inputs are not all contiguous f32";
  return "";
}

// Sum and sum of squared deviations from `mean` over one channel (planes at x + n*stride).
double plane_sum(const float* x, int64_t len) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < len; ++i) s += x[i];
  return s;
}

double plane_sq_dev(const float* x, int64_t len, float mean) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < len; ++i) {
    const float d = x[i] - mean;
    s += d * d;
  }
  return s;
}

void scale_shift(const float* x, float* y, int64_t len, float a, float b) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) y[i] = x[i] * a + b;
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = check_inputs(ctx.inputs);
  if (!why.empty()) return why;
  if (ctx.outputs.size() != 1 || !is_f32(ctx.outputs[0])) return "not one contiguous f32 output";
  if (ctx.inputs[0].rank() < 2) return "input rank < 2";
  if (ctx.training && ctx.inputs[0].numel() / ctx.inputs[0].dim(1) < 2)
    return "training needs > 1 value per channel";  // the reference's clear error
  return "";
}

void forward(ir::ForwardCtx& ctx) {
  const BatchNormGeometry g = ops::batch_norm_geometry(ctx.node, ctx.inputs[0].shape());
  const float* x = ctx.inputs[0].data<float>();
  const float* scale = ctx.inputs[1].data<float>();
  const float* bias = ctx.inputs[2].data<float>();
  float* run_mean = ctx.inputs[3].data<float>();
  float* run_var = ctx.inputs[4].data<float>();
  float* y = ctx.outputs[0].data<float>();
  const int64_t plane = g.spatial, stride = g.c * g.spatial;
  if (!ctx.training) {
    // y = x * a + b per channel; rows (n, c) in parallel.
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < g.n * g.c; ++row) {
      const int64_t c = row % g.c;
      const double invstd = 1.0 / std::sqrt(static_cast<double>(run_var[c]) + g.epsilon);
      const double a = invstd * scale[c];
      scale_shift(x + row * plane, y + row * plane, plane, static_cast<float>(a),
                  static_cast<float>(bias[c] - run_mean[c] * a));
    }
    return;
  }
  Tensor saved_mean = Tensor::empty({g.c}), saved_invstd = Tensor::empty({g.c});
  float* sm = saved_mean.data<float>();
  float* si = saved_invstd.data<float>();
  const double m = static_cast<double>(g.per_channel());
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < g.c; ++c) {
    const float* xc = x + c * plane;
    double sum = 0;
    for (int64_t n = 0; n < g.n; ++n) sum += plane_sum(xc + n * stride, plane);
    const double mean = sum / m;
    double sq = 0;
    for (int64_t n = 0; n < g.n; ++n) sq += plane_sq_dev(xc + n * stride, plane, static_cast<float>(mean));
    const double var = sq / m;  // biased: normalises this batch
    const double invstd = 1.0 / std::sqrt(var + g.epsilon);
    run_mean[c] = static_cast<float>(run_mean[c] * static_cast<double>(g.momentum) + mean * (1.0 - g.momentum));
    run_var[c] = static_cast<float>(run_var[c] * static_cast<double>(g.momentum) + sq / (m - 1) * (1.0 - g.momentum));
    sm[c] = static_cast<float>(mean);
    si[c] = static_cast<float>(invstd);
    const double a = invstd * scale[c];
    const float fa = static_cast<float>(a), fb = static_cast<float>(bias[c] - mean * a);
    for (int64_t n = 0; n < g.n; ++n) scale_shift(xc + n * stride, y + c * plane + n * stride, plane, fa, fb);
  }
  if (ctx.saved) {
    ctx.saved->push_back(saved_mean);
    ctx.saved->push_back(saved_invstd);
  }
}

bool wants(const ir::BackwardCtx& ctx, size_t i) { return ctx.d_inputs.size() > i && ctx.d_inputs[i].defined(); }

std::string check_backward(const ir::BackwardCtx& ctx) {
  std::string why = check_inputs(ctx.inputs);
  if (!why.empty()) return why;
  if (ctx.d_outputs.empty() || !is_f32(ctx.d_outputs[0])) return "d_output is not contiguous f32";
  for (size_t i = 0; i < 3; ++i)
    if (wants(ctx, i) && !is_f32(ctx.d_inputs[i])) return "d_inputs are not contiguous f32";
  if (ctx.saved.size() < 2) return "no saved {mean, invstd}: backward needs a training forward";
  const int64_t c = ctx.inputs[0].rank() >= 2 ? ctx.inputs[0].dim(1) : -1;
  if (!is_f32(ctx.saved[0]) || !is_f32(ctx.saved[1]) || ctx.saved[0].numel() != c || ctx.saved[1].numel() != c)
    return "saved mean/invstd are not C contiguous f32 values";
  return "";
}

void backward(ir::BackwardCtx& ctx) {
  const BatchNormGeometry g = ops::batch_norm_geometry(ctx.node, ctx.inputs[0].shape());
  const float* x = ctx.inputs[0].data<float>();
  const float* scale = ctx.inputs[1].data<float>();
  const float* mean = ctx.saved[0].data<float>();
  const float* invstd = ctx.saved[1].data<float>();
  const float* dy = ctx.d_outputs[0].data<float>();
  float* dx = wants(ctx, 0) ? ctx.d_inputs[0].data<float>() : nullptr;
  float* dscale = wants(ctx, 1) ? ctx.d_inputs[1].data<float>() : nullptr;
  float* dbias = wants(ctx, 2) ? ctx.d_inputs[2].data<float>() : nullptr;
  const int64_t plane = g.spatial, stride = g.c * g.spatial;
  const double m = static_cast<double>(g.per_channel());
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < g.c; ++c) {
    const float mu = mean[c];
    double sum_dy = 0, sum_dy_dev = 0;  // sum dy, sum dy * (x - mean)
    for (int64_t n = 0; n < g.n; ++n) {
      const int64_t off = c * plane + n * stride;
      float s = 0.f, sd = 0.f;
#pragma omp simd reduction(+ : s, sd)
      for (int64_t i = 0; i < plane; ++i) {
        s += dy[off + i];
        sd += dy[off + i] * (x[off + i] - mu);
      }
      sum_dy += s;
      sum_dy_dev += sd;
    }
    const double is = invstd[c];
    const double sum_dy_xhat = sum_dy_dev * is;
    if (dscale) dscale[c] = static_cast<float>(sum_dy_xhat);
    if (dbias) dbias[c] = static_cast<float>(sum_dy);
    if (!dx) continue;
    // dx = scale * invstd * (dy - sum_dy / M - (x - mean) * invstd * sum_dy_xhat / M)
    //    = k * dy + kx * x + k0.
    const double k = scale[c] * is;
    const double kx = -k * is * sum_dy_xhat / m;
    const double k0 = -k * sum_dy / m - kx * mu;
    const float fk = static_cast<float>(k), fkx = static_cast<float>(kx), fk0 = static_cast<float>(k0);
    for (int64_t n = 0; n < g.n; ++n) {
      const int64_t off = c * plane + n * stride;
#pragma omp simd
      for (int64_t i = 0; i < plane; ++i) dx[off + i] = fk * dy[off + i] + fkx * x[off + i] + fk0;
    }
  }
}
}  // namespace

Kernel cpu_batch_norm_f32() {
  Kernel k;
  k.name = "cpu_batch_norm_f32";
  k.check_forward = check_forward;
  k.forward = forward;
  k.check_backward = check_backward;
  k.backward = backward;
  return k;
}

}  // namespace leancnn::kernels
