// The oneDNN convolution forward shared by dnnl_conv_f32 (Conv) and dnnl_fused_conv_f32
// (FusedConv): descriptors from a ConvGeometry, the layout policy, the cached primitive with
// optional post-ops (a `sum` for a residual, then one eltwise), the prepared state of an
// inference plan (primitive and weights packed once) and the run. Private to the dnnl kernels.
#pragma once
#include <memory>
#include <optional>

#include "dnnl/dnnl_common.h"
#include "leancnn/ops/conv.h"

namespace leancnn::kernels::dnnl_glue {

// How the primitives see the activations: in the layouts oneDNN prefers (format_tag::any:
// NHWC for its brgemm kernels on AVX-512), in nChw16c (nChw8c below AVX-512: its direct
// kernels' layout), both behind reorders, or directly in NCHW. Weights always use
// format_tag::any (behind a reorder, or packed once when prepared, when that is not OIHW).
// channels_last: NHWC (acdb) named explicitly, for activations a plan already stores NHWC.
enum class ConvLayouts { blocked, plain, channel_blocked, channels_last };

// The order of the caller's activations (ir::ForwardCtx::channels_last): NCHW unless set.
struct UserLayouts {
  bool src_nhwc = false, dst_nhwc = false, residual_nhwc = false;
};

// Who runs the conv: the Conv kernel per call (training and the executor: forward and
// backward, weights reordered on every call), the FusedConv kernel per call (inference only),
// or a prepared inference plan (weights packed once).
enum class ConvUse { per_call, fused_per_call, prepared };

// The layouts for a layer and use. LEANCNN_DNNL_CONV_LAYOUT=plain|blocked|channel overrides
// them all (read once for per-call runs, at every prepare for prepared ones, so a benchmark can
// prepare each policy in one process). conv_fwd_dnnl.cpp has the measurements behind it.
// With dst NHWC (prepared only), channels_last replaces the other policies: no reorder at all
// (src NHWC too), or only the input's (a stem reading the NCHW graph input), beats them
// (conv_fwd_dnnl.cpp).
ConvLayouts choose_conv_layouts(const ops::ConvGeometry& g, ConvUse use, UserLayouts user = {});

struct ConvDims {
  Dims src, weights, dst, bias, strides, dilates, pad_l, pad_r;
  Tag weights_tag;  // the plain layout of our weights: oihw, or goihw for groups > 1
};
ConvDims conv_dims(const ops::ConvGeometry& g);

// A cache key holding every value of the geometry, the layouts and the bias flag.
Key conv_key(const char* kind, const ops::ConvGeometry& g, ConvLayouts layouts, bool bias);
// f32 NCHW (plain), format_tag::any (blocked) or nChw16c / nChw8c (channel_blocked).
Md conv_activation_md(const Dims& dims, ConvLayouts layouts);
dnnl::convolution_forward::desc conv_forward_desc(const ops::ConvGeometry& g, ConvLayouts layouts, bool bias,
                                                  dnnl::prop_kind prop);

// The epilogue run inside the primitive: dst = eltwise(conv + bias [+ residual]).
struct ConvPostOps {
  bool sum = false;                                   // add the residual (a sum or binary add)
  dnnl::algorithm eltwise = dnnl::algorithm::undef;   // undef: no activation
  float alpha = 0.f, beta = 0.f;                      // eltwise parameters (clip: min, max)
};

struct ConvForward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  Operand src, weights, dst;
  Operand residual;  // the residual (NCHW) into dst's layout, when post_ops.sum
  // The residual read by a binary-add post-op where it lies, instead of copied into dst for a
  // sum: channels-last primitives with channels-last Z and Y (conv_forward_entry).
  bool residual_binary = false;
  Md bias;
  ConvPostOps post_ops;
  // In plain layouts the activation runs after the primitive, as an in-place eltwise over the
  // NCHW dst: oneDNN's NCHW (im2col + GEMM) convolution applies eltwise post-ops 10-20x slower
  // than that (2.9 vs 0.7 ms for MobileNetV2's 16->96 1x1 at 112x112, 1 thread).
  std::optional<dnnl::eltwise_forward::primitive_desc> eltwise_pd;
  std::optional<dnnl::eltwise_forward> eltwise;
};

// The forward_inference primitive for this configuration, from the primitive cache (built
// on a miss). Throws dnnl::error when oneDNN has no implementation.
std::shared_ptr<const ConvForward> conv_forward_entry(const ops::ConvGeometry& g, ConvLayouts layouts, bool bias,
                                                      const ConvPostOps& post_ops, UserLayouts user = {});

// What Kernel::prepare returns for a conv: the primitive, the weights already in its layout
// and a copy of the bias, for one input shape.
struct PreparedConv {
  Shape src_shape;
  std::shared_ptr<const ConvForward> fwd;
  dnnl::memory weights;  // owned, in fwd->pd.weights_desc()
  Tensor bias;           // undefined when the conv has none
};
std::shared_ptr<const PreparedConv> prepare_conv_forward(const ops::ConvGeometry& g, const ConvPostOps& post_ops,
                                                         const Tensor& weights, const Tensor& bias,
                                                         UserLayouts user = {});

// dst = post_ops(conv(src, weights) + bias [+ residual]) through e. weights is memory in the
// primitive's layout (a prepared one, or enter()'d from the tensor). residual (when the entry
// has a sum) may be dst itself: then it is used in place, with no copy.
void run_conv_forward(const ConvForward& e, const dnnl::memory& weights, const Tensor& src, const Tensor* bias,
                      const Tensor* residual, const Tensor& dst);

// Runs with a PreparedConv (checks that the src shape is the prepared one).
void run_prepared_conv(const PreparedConv& p, const Tensor& src, const Tensor* residual, const Tensor& dst);

}  // namespace leancnn::kernels::dnnl_glue
