// Element-wise activations (fp32) through oneDNN eltwise forward/backward: Relu (relu, alpha 0),
// Sigmoid (logistic), Clip (clip), HardSwish (hardswish). HardSigmoid declines: oneDNN 2.6 has
// no hardsigmoid. Backward always reads src (the reference's convention); no _use_dst_for_bwd.
#include <cmath>
#include <limits>

#include "dnnl/dnnl_common.h"
#include "eltwise_kernels.h"
#include "leancnn/core/error.h"

namespace leancnn::kernels {
namespace {
using namespace dnnl_glue;

enum class Act { relu, sigmoid, clip, hard_swish };

struct EltwiseParams {
  dnnl::algorithm alg;
  float alpha = 0.f, beta = 0.f;
};

// Clip's optional bounds (inputs 1 and 2), ONNX defaults when omitted.
float clip_bound(const std::vector<Tensor>& inputs, size_t i, float def) {
  if (i >= inputs.size() || !inputs[i].defined()) return def;
  return inputs[i].data<float>()[0];
}

std::string check_clip_bounds(const std::vector<Tensor>& inputs) {
  for (size_t i = 1; i < 3 && i < inputs.size(); ++i)
    if (inputs[i].defined() && (inputs[i].dtype() != DType::f32 || inputs[i].numel() != 1))
      return str_cat("Clip bound input ", i, " is not a single f32 value");
  return "";
}

// Forward and backward parameters can differ: see Clip's backward below.
EltwiseParams params(Act act, const std::vector<Tensor>& inputs, bool backward) {
  switch (act) {
    case Act::relu:
      return {dnnl::algorithm::eltwise_relu, 0.f, 0.f};
    case Act::sigmoid:
      return {dnnl::algorithm::eltwise_logistic, 0.f, 0.f};
    case Act::hard_swish:
      // oneDNN 2.6: d = s * relu6(s + 3) / 6, i.e. ONNX's alpha = 1/6, beta = 1/2; no parameters.
      return {dnnl::algorithm::eltwise_hardswish, 0.f, 0.f};
    case Act::clip: {
      const float lo = clip_bound(inputs, 1, std::numeric_limits<float>::lowest());
      const float hi = clip_bound(inputs, 2, std::numeric_limits<float>::max());
      // min > max: ONNX gives max everywhere and the reference no gradient anywhere; clip with
      // alpha = beta = max does both (oneDNN requires alpha <= beta).
      if (lo > hi) return {dnnl::algorithm::eltwise_clip, hi, hi};
      // oneDNN's clip backward passes the gradient where alpha < s <= beta; the reference
      // passes it where lo <= s <= hi. For floats, lo <= s <=> nextafter(lo, -inf) < s, so
      // the backward runs with alpha one ulp below lo and matches exactly (lo = -inf declines).
      const float alpha = backward ? std::nextafter(lo, -std::numeric_limits<float>::infinity()) : lo;
      return {dnnl::algorithm::eltwise_clip, alpha, hi};
    }
  }
  return {dnnl::algorithm::undef, 0.f, 0.f};
}

Key eltwise_key(const char* kind, const EltwiseParams& p, int64_t numel) {
  Key k(kind);
  k << static_cast<int64_t>(p.alg) << p.alpha << p.beta << numel;
  return k;
}

// Layout does not matter element-wise: every tensor is seen as one flat dimension.
Md flat_md(int64_t numel) { return f32_md({numel}, Tag::a); }

struct EltwiseForward {
  dnnl::eltwise_forward::primitive_desc pd;
  dnnl::eltwise_forward prim;
};

dnnl::eltwise_forward::desc forward_desc(const EltwiseParams& p, int64_t numel, dnnl::prop_kind prop) {
  return {prop, p.alg, flat_md(numel), p.alpha, p.beta};
}

std::shared_ptr<const EltwiseForward> forward_entry(const EltwiseParams& p, int64_t numel) {
  return cached<EltwiseForward>(eltwise_key("eltwise_fwd", p, numel), [&] {
    dnnl::eltwise_forward::primitive_desc pd(forward_desc(p, numel, dnnl::prop_kind::forward_inference),
                                             user_scratchpad_attr(), engine());
    log_impl("eltwise forward", pd);
    return EltwiseForward{pd, dnnl::eltwise_forward(pd)};
  });
}

struct EltwiseBackward {
  dnnl::eltwise_backward::primitive_desc pd;
  dnnl::eltwise_backward prim;
};

std::shared_ptr<const EltwiseBackward> backward_entry(const EltwiseParams& p, int64_t numel) {
  return cached<EltwiseBackward>(eltwise_key("eltwise_bwd", p, numel), [&] {
    dnnl::eltwise_forward::primitive_desc hint(forward_desc(p, numel, dnnl::prop_kind::forward_training), engine());
    dnnl::eltwise_backward::desc desc(p.alg, flat_md(numel), flat_md(numel), p.alpha, p.beta);
    dnnl::eltwise_backward::primitive_desc pd(desc, user_scratchpad_attr(), engine(), hint);
    log_impl("eltwise backward", pd);
    return EltwiseBackward{pd, dnnl::eltwise_backward(pd)};
  });
}

std::string common_checks(Act act, const std::vector<Tensor>& inputs) {
  if (inputs.empty() || !inputs[0].defined()) return "missing input";
  std::string why = check_f32({inputs[0]}, "input");
  if (!why.empty()) return why;
  if (inputs[0].numel() == 0) return "empty tensor";
  if (act == Act::clip) return check_clip_bounds(inputs);
  return "";
}

template <Act act>
std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = common_checks(act, ctx.inputs);
  if (why.empty()) why = check_f32(ctx.outputs, "output");
  if (!why.empty()) return why;
  return try_build("eltwise forward", [&] { forward_entry(params(act, ctx.inputs, false), ctx.inputs[0].numel()); });
}

template <Act act>
void forward(ir::ForwardCtx& ctx) {
  const int64_t numel = ctx.inputs[0].numel();
  const auto e = forward_entry(params(act, ctx.inputs, false), numel);
  execute(e->prim, e->pd,
          {{DNNL_ARG_SRC, wrap_held(e.get(), DNNL_ARG_SRC, ctx.inputs[0], flat_md(numel))},
           {DNNL_ARG_DST, wrap_held(e.get(), DNNL_ARG_DST, ctx.outputs[0], flat_md(numel))}});
  // The references save nothing for backward (they read the input), so neither do we.
}

template <Act act>
std::string check_backward(const ir::BackwardCtx& ctx) {
  std::string why = common_checks(act, ctx.inputs);
  if (why.empty()) why = check_f32(ctx.d_outputs, "d_output");
  if (why.empty()) why = check_f32(ctx.d_inputs, "d_input");
  if (!why.empty()) return why;
  if (ctx.d_inputs.empty() || !ctx.d_inputs[0].defined()) return "";  // nothing to compute
  if (act == Act::clip && std::isinf(clip_bound(ctx.inputs, 1, 0.f)) && clip_bound(ctx.inputs, 1, 0.f) < 0)
    return "Clip min is -inf: oneDNN's clip backward (alpha < x) cannot pass the gradient at x = -inf";
  return try_build("eltwise backward", [&] { backward_entry(params(act, ctx.inputs, true), ctx.inputs[0].numel()); });
}

template <Act act>
void backward(ir::BackwardCtx& ctx) {
  if (ctx.d_inputs.empty() || !ctx.d_inputs[0].defined()) return;
  const int64_t numel = ctx.inputs[0].numel();
  const auto e = backward_entry(params(act, ctx.inputs, true), numel);
  const Md md = flat_md(numel);
  execute(e->prim, e->pd,
          {{DNNL_ARG_SRC, wrap(ctx.inputs[0], md)},
           {DNNL_ARG_DIFF_DST, wrap(ctx.d_outputs[0], md)},
           {DNNL_ARG_DIFF_SRC, wrap(ctx.d_inputs[0], md)}});
}

template <Act act>
Kernel make(const char* name) {
  Kernel k;
  k.name = name;
  k.check_forward = check_forward<act>;
  k.forward = forward<act>;
  k.check_backward = check_backward<act>;
  k.backward = backward<act>;
  return k;
}

std::string decline_hard_sigmoid_forward(const ir::ForwardCtx&) {
  return "oneDNN 2.6 has no eltwise_hardsigmoid (it arrives in oneDNN 3.0)";
}
std::string decline_hard_sigmoid_backward(const ir::BackwardCtx&) {
  return "oneDNN 2.6 has no eltwise_hardsigmoid (it arrives in oneDNN 3.0)";
}
void unreachable_forward(ir::ForwardCtx&) { fail(ErrorKind::internal, "dnnl_hard_sigmoid_f32 always declines"); }
void unreachable_backward(ir::BackwardCtx&) { fail(ErrorKind::internal, "dnnl_hard_sigmoid_f32 always declines"); }
}  // namespace

Kernel dnnl_relu_f32() { return make<Act::relu>("dnnl_relu_f32"); }
Kernel dnnl_sigmoid_f32() { return make<Act::sigmoid>("dnnl_sigmoid_f32"); }
Kernel dnnl_clip_f32() { return make<Act::clip>("dnnl_clip_f32"); }
Kernel dnnl_hard_swish_f32() { return make<Act::hard_swish>("dnnl_hard_swish_f32"); }

// Listed so that LEANCNN_VERBOSE=dispatch says why HardSigmoid runs its reference.
Kernel dnnl_hard_sigmoid_f32() {
  Kernel k;
  k.name = "dnnl_hard_sigmoid_f32";
  k.check_forward = decline_hard_sigmoid_forward;
  k.forward = unreachable_forward;
  k.check_backward = decline_hard_sigmoid_backward;
  k.backward = unreachable_backward;
  return k;
}

}  // namespace leancnn::kernels
