// BatchNormalization (fp32) through oneDNN. Inference: batch_normalization_forward with
// use_global_stats | use_scale | use_shift. Training: the forward computes the batch mean and
// biased variance; we then update the running statistics exactly as the reference does
// (unbiased variance for running_var) and save the reference's {mean, invstd}. Backward:
// batch_normalization_backward (use_scale | use_shift) from the saved entries.
#include <cmath>

#include "batch_norm_kernels.h"
#include "dnnl/dnnl_common.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/batch_norm.h"

namespace leancnn::kernels {
namespace {
using namespace dnnl_glue;
using ops::BatchNormGeometry;

// Any rank >= 2 is viewed as [N, C, spatial, 1] in NCHW.
Md data_md(const BatchNormGeometry& g) { return f32_md({g.n, g.c, g.spatial, 1}, Tag::nchw); }
Md channel_md(const BatchNormGeometry& g) { return f32_md({g.c}, Tag::a); }

const dnnl::normalization_flags kScaleShift = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;

dnnl::batch_normalization_forward::desc forward_desc(const BatchNormGeometry& g, bool training) {
  return {training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, data_md(g), g.epsilon,
          training ? kScaleShift : kScaleShift | dnnl::normalization_flags::use_global_stats};
}

Key bn_key(const char* kind, const BatchNormGeometry& g) {
  Key k(kind);
  k << g.n << g.c << g.spatial << g.epsilon;
  return k;
}

struct BnForward {
  dnnl::batch_normalization_forward::primitive_desc pd;
  dnnl::batch_normalization_forward prim;
};

std::shared_ptr<const BnForward> forward_entry(const BatchNormGeometry& g, bool training) {
  return cached<BnForward>(bn_key(training ? "bn_fwd_train" : "bn_fwd_infer", g), [&] {
    dnnl::batch_normalization_forward::primitive_desc pd(forward_desc(g, training), user_scratchpad_attr(), engine());
    log_impl("batch norm forward", pd);
    return BnForward{pd, dnnl::batch_normalization_forward(pd)};
  });
}

BatchNormGeometry geometry_of(const ir::Node& node, const std::vector<Tensor>& inputs) {
  return ops::batch_norm_geometry(node, inputs.at(0).shape());
}

std::string common_checks(const std::vector<Tensor>& inputs) {
  if (inputs.size() != 5) return str_cat("expected 5 inputs, got ", inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) return str_cat("input ", i, " is missing");
  return check_f32(inputs, "input");
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = common_checks(ctx.inputs);
  if (why.empty()) why = check_f32(ctx.outputs, "output");
  if (!why.empty()) return why;
  if (ctx.outputs.size() != 1) return "optional outputs (running_mean, running_var) unsupported";
  return try_build("batch normalization forward", [&] {
    const BatchNormGeometry g = geometry_of(ctx.node, ctx.inputs);
    // The reference rejects this with a clear error; let it.
    if (ctx.training && g.per_channel() < 2) fail(ErrorKind::bad_input, "training needs > 1 value per channel");
    forward_entry(g, ctx.training);
  });
}

// Saves (training only), like the reference: {mean[C], invstd[C]} of the batch.
void forward(ir::ForwardCtx& ctx) {
  const BatchNormGeometry g = geometry_of(ctx.node, ctx.inputs);
  const auto e = forward_entry(g, ctx.training);
  const Md ch = channel_md(g);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(ctx.inputs[0], data_md(g))},
                                             {DNNL_ARG_DST, wrap(ctx.outputs[0], data_md(g))},
                                             {DNNL_ARG_SCALE, wrap(ctx.inputs[1], ch)},
                                             {DNNL_ARG_SHIFT, wrap(ctx.inputs[2], ch)}};
  if (!ctx.training) {
    args.emplace(DNNL_ARG_MEAN, wrap(ctx.inputs[3], ch));
    args.emplace(DNNL_ARG_VARIANCE, wrap(ctx.inputs[4], ch));
    execute(e->prim, e->pd, std::move(args));
    return;  // the reference saves nothing outside training
  }
  Tensor mean = Tensor::empty({g.c}), var = Tensor::empty({g.c});
  args.emplace(DNNL_ARG_MEAN, wrap(mean, ch));
  args.emplace(DNNL_ARG_VARIANCE, wrap(var, ch));
  execute(e->prim, e->pd, std::move(args));
  // Running statistics and invstd, with the reference's arithmetic (double, unbiased running_var).
  const double m = static_cast<double>(g.per_channel());
  float* run_mean = ctx.inputs[3].data<float>();
  float* run_var = ctx.inputs[4].data<float>();
  const float* pm = mean.data<float>();
  const float* pv = var.data<float>();
  Tensor invstd = Tensor::empty({g.c});
  for (int64_t c = 0; c < g.c; ++c) {
    const double unbiased = pv[c] * m / (m - 1.0);
    run_mean[c] = static_cast<float>(run_mean[c] * static_cast<double>(g.momentum) + pm[c] * (1.0 - g.momentum));
    run_var[c] = static_cast<float>(run_var[c] * static_cast<double>(g.momentum) + unbiased * (1.0 - g.momentum));
    invstd.data<float>()[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(pv[c]) + g.epsilon));
  }
  if (ctx.saved) {
    ctx.saved->push_back(mean);
    ctx.saved->push_back(invstd);
  }
}

struct BnBackward {
  dnnl::batch_normalization_backward::primitive_desc pd;
  dnnl::batch_normalization_backward prim;
};

std::shared_ptr<const BnBackward> backward_entry(const BatchNormGeometry& g) {
  return cached<BnBackward>(bn_key("bn_bwd", g), [&] {
    dnnl::batch_normalization_forward::primitive_desc hint(forward_desc(g, true), engine());
    dnnl::batch_normalization_backward::desc desc(dnnl::prop_kind::backward, data_md(g), data_md(g), g.epsilon,
                                                  kScaleShift);
    dnnl::batch_normalization_backward::primitive_desc pd(desc, user_scratchpad_attr(), engine(), hint);
    log_impl("batch norm backward", pd);
    return BnBackward{pd, dnnl::batch_normalization_backward(pd)};
  });
}

bool wants(const ir::BackwardCtx& ctx, size_t i) { return ctx.d_inputs.size() > i && ctx.d_inputs[i].defined(); }

std::string check_backward(const ir::BackwardCtx& ctx) {
  std::string why = common_checks(ctx.inputs);
  if (why.empty()) why = check_f32(ctx.d_outputs, "d_output");
  if (why.empty()) why = check_f32(ctx.d_inputs, "d_input");
  if (!why.empty()) return why;
  if (ctx.saved.size() < 2) return "no saved {mean, invstd}: backward needs a training forward";
  why = check_f32({ctx.saved[0], ctx.saved[1]}, "saved");
  if (!why.empty()) return why;
  return try_build("batch normalization backward", [&] {
    const BatchNormGeometry g = geometry_of(ctx.node, ctx.inputs);
    if (ctx.saved[0].numel() != g.c || ctx.saved[1].numel() != g.c)
      fail(ErrorKind::bad_input, "saved mean/invstd do not have C = ", g.c, " values");
    backward_entry(g);
  });
}

void backward(ir::BackwardCtx& ctx) {
  if (!wants(ctx, 0) && !wants(ctx, 1) && !wants(ctx, 2)) return;
  const BatchNormGeometry g = geometry_of(ctx.node, ctx.inputs);
  const auto e = backward_entry(g);
  const Md data = data_md(g), ch = channel_md(g);
  // oneDNN takes the variance; the saved invstd = 1 / sqrt(var + eps) gives it back to within
  // an ulp of var + eps, which is all oneDNN uses it for.
  Tensor var = Tensor::empty({g.c});
  const float* invstd = ctx.saved[1].data<float>();
  for (int64_t c = 0; c < g.c; ++c) {
    const double s = invstd[c];
    var.data<float>()[c] = static_cast<float>(1.0 / (s * s) - g.epsilon);
  }
  // Unwanted gradients go to staging buffers (the primitive writes all three).
  auto out = [&](size_t i, const Md& md, Slot slot) {
    return wants(ctx, i) ? wrap(ctx.d_inputs[i], md) : dnnl::memory(md, engine(), staging(slot, md.get_size()));
  };
  execute(e->prim, e->pd,
          {{DNNL_ARG_SRC, wrap(ctx.inputs[0], data)},
           {DNNL_ARG_MEAN, wrap(ctx.saved[0], ch)},
           {DNNL_ARG_VARIANCE, wrap(var, ch)},
           {DNNL_ARG_DIFF_DST, wrap(ctx.d_outputs[0], data)},
           {DNNL_ARG_SCALE, wrap(ctx.inputs[1], ch)},
           {DNNL_ARG_SHIFT, wrap(ctx.inputs[2], ch)},  // oneDNN 2.6 asks for it with use_shift
           {DNNL_ARG_DIFF_SRC, out(0, data, Slot::diff_src)},
           {DNNL_ARG_DIFF_SCALE, out(1, ch, Slot::diff_weights)},
           {DNNL_ARG_DIFF_SHIFT, out(2, ch, Slot::extra)}});
}
}  // namespace

Kernel dnnl_batch_norm_f32() {
  Kernel k;
  k.name = "dnnl_batch_norm_f32";
  k.check_forward = check_forward;
  k.forward = forward;
  k.check_backward = check_backward;
  k.backward = backward;
  return k;
}

}  // namespace leancnn::kernels
