// Pooling (fp32, NCHW) through oneDNN pooling_v2: MaxPool (pooling_max, with dilation),
// AveragePool (pooling_avg_include_padding / _exclude_padding per count_include_pad) and
// GlobalAveragePool (an average pool whose kernel is the whole plane). ceil_mode becomes extra
// end padding. A training MaxPool forward appends oneDNN's workspace (the argmax) to ctx.saved
// after the reference's entries (it saves none); the backward uses it when present, else
// recomputes the forward.
#include <algorithm>
#include <cstring>

#include "dnnl/dnnl_common.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/pool.h"
#include "pool_kernels.h"

namespace leancnn::kernels {
namespace {
using namespace dnnl_glue;
using ops::PoolGeometry;
using ops::PoolKind;

// End padding that makes oneDNN's floor((in + pads - extent) / stride) + 1 equal the ONNX
// output extent (ceil_mode included). Never negative: a floor-mode remainder is < stride.
int64_t end_pad(int64_t in, int64_t out, int64_t pad_begin, int64_t k, int64_t dil, int64_t stride) {
  return std::max<int64_t>(0, (out - 1) * stride + (k - 1) * dil + 1 - in - pad_begin);
}

struct PoolDesc {
  dnnl::algorithm alg;
  Dims src, dst, strides, kernel, dilation, pad_l, pad_r;
  Tag tag = Tag::nchw;  // of both src and dst: acdb when an inference plan keeps them NHWC
};

PoolDesc pool_desc(const PoolGeometry& g, bool nhwc = false) {
  PoolDesc d;
  d.tag = nhwc ? Tag::acdb : Tag::nchw;
  d.alg = g.kind == PoolKind::max        ? dnnl::algorithm::pooling_max
          : g.count_include_pad          ? dnnl::algorithm::pooling_avg_include_padding
                                         : dnnl::algorithm::pooling_avg_exclude_padding;
  d.src = {g.n, g.c, g.ih, g.iw};
  d.dst = {g.n, g.c, g.oh, g.ow};
  d.strides = {g.stride_h, g.stride_w};
  d.kernel = {g.kh, g.kw};
  d.dilation = {g.dil_h - 1, g.dil_w - 1};  // oneDNN counts the gaps
  d.pad_l = {g.pad_t, g.pad_l};
  d.pad_r = {end_pad(g.ih, g.oh, g.pad_t, g.kh, g.dil_h, g.stride_h),
             end_pad(g.iw, g.ow, g.pad_l, g.kw, g.dil_w, g.stride_w)};
  return d;
}

// Where oneDNN's and the reference's conventions differ.
std::string check_geometry(const PoolGeometry& g) {
  const PoolDesc d = pool_desc(g);
  if (g.kind == PoolKind::average && g.count_include_pad && (d.pad_r[0] > g.pad_b || d.pad_r[1] > g.pad_r))
    return "ceil_mode with count_include_pad: a last window runs past the end padding, where oneDNN would "
           "count the padding beyond the pads in the divisor and the reference does not";
  return "";
}

Key pool_key(const char* kind, const PoolDesc& d) {
  Key k(kind);
  k << static_cast<int64_t>(d.alg) << d.src << d.dst << d.strides << d.kernel << d.dilation << d.pad_l << d.pad_r
    << static_cast<int64_t>(d.tag);
  return k;
}

dnnl::pooling_v2_forward::desc forward_desc(const PoolDesc& d, dnnl::prop_kind prop) {
  return {prop, d.alg, f32_md(d.src, d.tag), f32_md(d.dst, d.tag), d.strides, d.kernel, d.dilation, d.pad_l, d.pad_r};
}

struct PoolForward {
  dnnl::pooling_v2_forward::primitive_desc pd;
  dnnl::pooling_v2_forward prim;
};

// training: forward_training (with a workspace for max pooling).
std::shared_ptr<const PoolForward> forward_entry(const PoolDesc& d, bool training) {
  return cached<PoolForward>(pool_key(training ? "pool_fwd_train" : "pool_fwd_infer", d), [&] {
    dnnl::pooling_v2_forward::primitive_desc pd(
        forward_desc(d, training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference),
        user_scratchpad_attr(), engine());
    log_impl("pool forward", pd);
    return PoolForward{pd, dnnl::pooling_v2_forward(pd)};
  });
}

// --- the saved workspace: oneDNN's bytes, then a trailer naming the primitive it belongs to ---
constexpr char kMagic[8] = {'L', 'C', 'N', 'N', 'P', 'W', 'S', '1'};
constexpr size_t kTrailer = 16;

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

Tensor make_workspace(size_t bytes, const std::string& key) {
  Tensor t = Tensor::empty({static_cast<int64_t>(bytes + kTrailer)}, DType::u8);
  uint8_t* p = t.data<uint8_t>();
  std::memcpy(p + bytes, kMagic, sizeof kMagic);
  const uint64_t h = fnv1a(key);
  std::memcpy(p + bytes + sizeof kMagic, &h, sizeof h);
  return t;
}

// The saved workspace of this primitive, or nullptr (saved by another kernel, or not at all).
const Tensor* find_workspace(const std::vector<Tensor>& saved, size_t bytes, const std::string& key) {
  for (const Tensor& t : saved) {
    if (!t.defined() || t.dtype() != DType::u8 || t.numel() != static_cast<int64_t>(bytes + kTrailer)) continue;
    const uint8_t* p = t.data<uint8_t>();
    uint64_t h;
    std::memcpy(&h, p + bytes + sizeof kMagic, sizeof h);
    if (std::memcmp(p + bytes, kMagic, sizeof kMagic) == 0 && h == fnv1a(key)) return &t;
  }
  return nullptr;
}

PoolGeometry geometry_of(const ir::Node& node, const std::vector<Tensor>& inputs) {
  return ops::pool_geometry(node, inputs.at(0).shape());
}

std::string common_checks(const std::vector<Tensor>& inputs) {
  if (inputs.empty() || !inputs[0].defined()) return "missing input X";
  return check_f32({inputs[0]}, "input");
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = common_checks(ctx.inputs);
  if (why.empty()) why = check_f32(ctx.outputs, "output");
  if (!why.empty()) return why;
  if (ctx.outputs.size() != 1) return "the Indices output is unsupported";
  return try_build("pooling forward", [&] {
    const PoolGeometry g = geometry_of(ctx.node, ctx.inputs);
    const std::string reason = check_geometry(g);
    if (!reason.empty()) fail(ErrorKind::bad_input, reason);
    forward_entry(pool_desc(g), ctx.saved != nullptr && g.kind == PoolKind::max);
  });
}

// Source and destination share one layout (the primitive's src and dst formats must match),
// except that a global pool's 1x1 output is the same bytes in either order and that our own 2x2/2
// max-pool loop (inference) reads channels-last and writes either (max_pool_cpu.cpp): a pool
// before Flatten then takes its conv's NHWC output and hands Flatten NCHW, instead of the conv
// transposing its whole output.
ChannelsLast channels_last(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.empty() || !ctx.inputs[0].defined() || ctx.inputs[0].rank() != 4) return {};
  bool tied = ctx.node.op_type != "GlobalAveragePool";
  if (tied && ctx.node.op_type == "MaxPool" && !ctx.training && ctx.outputs.size() == 1) {
    try {
      tied = !max_pool_is_2x2_stride_2(geometry_of(ctx.node, ctx.inputs));
    } catch (const Error&) {  // attributes the op rejects: check_forward declines the call anyway
    }
  }
  return {ir::channels_last_input(0) | ir::channels_last_output(0), tied};
}

// Saves (max pooling, training only): after the reference's entries (none), one u8 tensor
// holding oneDNN's workspace and a trailer identifying the primitive.
void forward(ir::ForwardCtx& ctx) {
  const PoolGeometry g = geometry_of(ctx.node, ctx.inputs);
  const bool nhwc = (ctx.channels_last & ir::channels_last_input(0)) != 0;
  const bool nhwc_out = (ctx.channels_last & ir::channels_last_output(0)) != 0;
  const bool keep_workspace = ctx.saved != nullptr && g.kind == PoolKind::max;
  if (g.kind == PoolKind::max && !keep_workspace && ctx.inputs[0].is_contiguous()) {  // see max_pool_cpu.cpp
    if (!nhwc && !nhwc_out) {
      max_pool_nchw_f32(g, ctx.inputs[0].data<float>(), ctx.outputs[0].data<float>());
      return;
    }
    if (max_pool_2x2_f32(g, ctx.inputs[0].data<float>(), nhwc, ctx.outputs[0].data<float>(), nhwc_out)) return;
    if (nhwc && nhwc_out) {
      max_pool_nhwc_f32(g, ctx.inputs[0].data<float>(), ctx.outputs[0].data<float>());
      return;
    }
  }
  LEANCNN_CHECK(nhwc == nhwc_out || g.oh * g.ow == 1, "pooling: source and destination in different layouts");
  const PoolDesc d = pool_desc(g, nhwc);
  const auto e = forward_entry(d, keep_workspace);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap_held(e.get(), DNNL_ARG_SRC, ctx.inputs[0], f32_md(d.src, d.tag))},
                                             {DNNL_ARG_DST, wrap_held(e.get(), DNNL_ARG_DST, ctx.outputs[0], f32_md(d.dst, d.tag))}};
  Tensor ws;
  if (keep_workspace) {
    const Md ws_md = e->pd.workspace_desc();
    ws = make_workspace(ws_md.get_size(), pool_key("pool_fwd_train", d).str());
    args.emplace(DNNL_ARG_WORKSPACE, dnnl::memory(ws_md, engine(), ws.raw()));
  }
  execute(e->prim, e->pd, std::move(args));
  if (keep_workspace) ctx.saved->push_back(ws);
}

struct PoolBackward {
  dnnl::pooling_v2_backward::primitive_desc pd;
  dnnl::pooling_v2_backward prim;
};

std::shared_ptr<const PoolBackward> backward_entry(const PoolDesc& d) {
  return cached<PoolBackward>(pool_key("pool_bwd", d), [&] {
    const auto hint = forward_entry(d, true);
    dnnl::pooling_v2_backward::desc desc(d.alg, f32_md(d.src, Tag::nchw), f32_md(d.dst, Tag::nchw), d.strides,
                                         d.kernel, d.dilation, d.pad_l, d.pad_r);
    dnnl::pooling_v2_backward::primitive_desc pd(desc, user_scratchpad_attr(), engine(), hint->pd);
    log_impl("pool backward", pd);
    return PoolBackward{pd, dnnl::pooling_v2_backward(pd)};
  });
}

std::string check_backward(const ir::BackwardCtx& ctx) {
  std::string why = common_checks(ctx.inputs);
  if (why.empty()) why = check_f32(ctx.d_outputs, "d_output");
  if (why.empty()) why = check_f32(ctx.d_inputs, "d_input");
  if (!why.empty()) return why;
  return try_build("pooling backward", [&] {
    const PoolGeometry g = geometry_of(ctx.node, ctx.inputs);
    const std::string reason = check_geometry(g);
    if (!reason.empty()) fail(ErrorKind::bad_input, reason);
    backward_entry(pool_desc(g));
  });
}

void backward(ir::BackwardCtx& ctx) {
  if (ctx.d_inputs.empty() || !ctx.d_inputs[0].defined()) return;
  const PoolGeometry g = geometry_of(ctx.node, ctx.inputs);
  const PoolDesc d = pool_desc(g);
  const auto e = backward_entry(d);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DIFF_DST, wrap(ctx.d_outputs[0], f32_md(d.dst, Tag::nchw))},
                                             {DNNL_ARG_DIFF_SRC, wrap(ctx.d_inputs[0], f32_md(d.src, Tag::nchw))}};
  if (g.kind == PoolKind::max) {
    const auto fwd = forward_entry(d, true);
    const Md ws_md = fwd->pd.workspace_desc();
    const Tensor* saved = find_workspace(ctx.saved, ws_md.get_size(), pool_key("pool_fwd_train", d).str());
    dnnl::memory ws;
    if (saved) {
      ws = dnnl::memory(ws_md, engine(), saved->raw());
    } else {  // the forward ran elsewhere (reference, inference): recompute the argmax
      ws = dnnl::memory(ws_md, engine(), staging(Slot::extra, ws_md.get_size()));
      const Md dst_md = f32_md(d.dst, Tag::nchw);
      execute(fwd->prim, fwd->pd,
              {{DNNL_ARG_SRC, wrap(ctx.inputs[0], f32_md(d.src, Tag::nchw))},
               {DNNL_ARG_DST, dnnl::memory(dst_md, engine(), staging(Slot::dst, dst_md.get_size()))},
               {DNNL_ARG_WORKSPACE, ws}});
    }
    args.emplace(DNNL_ARG_WORKSPACE, ws);
  }
  execute(e->prim, e->pd, std::move(args));
}

Kernel make(const char* name) {
  Kernel k;
  k.name = name;
  k.check_forward = check_forward;
  k.forward = forward;
  k.check_backward = check_backward;
  k.backward = backward;
  k.channels_last = channels_last;
  return k;
}
}  // namespace

Kernel dnnl_max_pool_f32() { return make("dnnl_max_pool_f32"); }
Kernel dnnl_average_pool_f32() { return make("dnnl_average_pool_f32"); }
Kernel dnnl_global_average_pool_f32() { return make("dnnl_global_average_pool_f32"); }

}  // namespace leancnn::kernels
