// Pooling (ONNX MaxPool, AveragePool, GlobalAveragePool; 2-D NCHW): geometry, shape inference
// and the reference forward/backward (plain loops: the oracle of the fast pooling kernels).
#include "leancnn/ops/pool.h"

#include <algorithm>
#include <cmath>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
std::vector<int64_t> pair_attr(const ir::Node& node, const char* name, int64_t def) {
  std::vector<int64_t> v = node.attrs.get_ints(name, {def, def});
  if (v.size() != 2)
    fail(ErrorKind::bad_input, "attribute '", name, "' must have 2 values for a 2-D pool, got ", v.size());
  if (v[0] < 1 || v[1] < 1) fail(ErrorKind::bad_input, "attribute '", name, "' values must be >= 1");
  return v;
}

bool flag_attr(const ir::Node& node, const char* name) {
  const int64_t v = node.attrs.get_int(name, 0);
  if (v != 0 && v != 1) fail(ErrorKind::bad_input, "attribute '", name, "' must be 0 or 1, got ", v);
  return v == 1;
}

// ONNX output extent; with ceil_mode a last window starting past the input and its begin
// padding is dropped (ONNX PR 5741, ONNX Runtime, PyTorch).
int64_t out_extent(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t k, int64_t dil, int64_t stride,
                   bool ceil_mode) {
  const int64_t num = in + pad_begin + pad_end - dil * (k - 1) - 1;
  if (num < 0) return 0;
  int64_t out = num / stride + 1;
  if (ceil_mode) {
    out = (num + stride - 1) / stride + 1;
    if ((out - 1) * stride >= in + pad_begin) --out;
  }
  return out;
}

// True when some tap of the window starting at `start` falls inside [0, in).
bool window_has_input(int64_t start, int64_t k, int64_t dil, int64_t in) {
  for (int64_t i = 0; i < k; ++i)
    if (start + i * dil >= 0 && start + i * dil < in) return true;
  return false;
}
}  // namespace

int64_t PoolGeometry::avg_divisor(int64_t oy, int64_t ox) const {
  const int64_t ys = y0(oy), xs = x0(ox);
  if (count_include_pad)
    return (std::min(ys + kh, ih + pad_b) - ys) * (std::min(xs + kw, iw + pad_r) - xs);
  return (std::min(ys + kh, ih) - std::max<int64_t>(ys, 0)) * (std::min(xs + kw, iw) - std::max<int64_t>(xs, 0));
}

PoolGeometry pool_geometry(const ir::Node& node, const Shape& src) {
  if (node.op_type == "MaxPool") return pool_geometry(node, src, PoolKind::max);
  if (node.op_type == "AveragePool") return pool_geometry(node, src, PoolKind::average);
  if (node.op_type == "GlobalAveragePool") return pool_geometry(node, src, PoolKind::global_average);
  fail(ErrorKind::internal, "pool_geometry called for ", node.op_type);
}

PoolGeometry pool_geometry(const ir::Node& node, const Shape& src, PoolKind kind) {
  PoolGeometry g;
  g.kind = kind;
  if (src.size() != 4)
    fail(ErrorKind::bad_input, node.op_type, " supports 2-D pooling of 4-D NCHW input only, got ", shape_str(src));
  g.n = src[0];
  g.c = src[1];
  g.ih = src[2];
  g.iw = src[3];
  if (g.kind == PoolKind::global_average) {
    g.kh = g.ih;
    g.kw = g.iw;
    g.oh = g.ow = 1;
    if (g.ih < 1 || g.iw < 1) fail(ErrorKind::bad_input, "GlobalAveragePool input ", shape_str(src), " is empty");
    return g;
  }
  if (!node.attrs.has("kernel_shape")) fail(ErrorKind::bad_input, node.op_type, " needs attribute 'kernel_shape'");
  const auto ks = pair_attr(node, "kernel_shape", 1);
  const auto st = pair_attr(node, "strides", 1);
  g.kh = ks[0];
  g.kw = ks[1];
  g.stride_h = st[0];
  g.stride_w = st[1];
  g.ceil_mode = flag_attr(node, "ceil_mode");
  if (g.kind == PoolKind::max) {
    const auto dl = pair_attr(node, "dilations", 1);
    g.dil_h = dl[0];
    g.dil_w = dl[1];
    if (node.attrs.get_int("storage_order", 0) != 0)
      fail(ErrorKind::bad_input, "MaxPool attribute 'storage_order' must be 0 (row major)");
  } else {
    g.count_include_pad = flag_attr(node, "count_include_pad");
  }
  const std::string auto_pad = node.attrs.get_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    const auto p = node.attrs.get_ints("pads", {0, 0, 0, 0});
    if (p.size() != 4) fail(ErrorKind::bad_input, "attribute 'pads' must have 4 values [top, left, bottom, right]");
    g.pad_t = p[0];
    g.pad_l = p[1];
    g.pad_b = p[2];
    g.pad_r = p[3];
    if (g.pad_t < 0 || g.pad_l < 0 || g.pad_b < 0 || g.pad_r < 0)
      fail(ErrorKind::bad_input, "attribute 'pads' values must be >= 0");
  } else if (auto_pad == "VALID") {
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // Output = ceil(in / stride); the odd pad goes at the end (UPPER) or the start (LOWER).
    auto split = [&](int64_t in, int64_t k, int64_t d, int64_t s, int64_t& lo, int64_t& hi) {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + d * (k - 1) + 1 - in);
      lo = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      hi = total - lo;
    };
    split(g.ih, g.kh, g.dil_h, g.stride_h, g.pad_t, g.pad_b);
    split(g.iw, g.kw, g.dil_w, g.stride_w, g.pad_l, g.pad_r);
  } else {
    fail(ErrorKind::bad_input, "attribute 'auto_pad' '", auto_pad,
         "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
  }
  g.oh = out_extent(g.ih, g.pad_t, g.pad_b, g.kh, g.dil_h, g.stride_h, g.ceil_mode);
  g.ow = out_extent(g.iw, g.pad_l, g.pad_r, g.kw, g.dil_w, g.stride_w, g.ceil_mode);
  if (g.oh < 1 || g.ow < 1)
    fail(ErrorKind::bad_input, node.op_type, " output would be empty: input ", g.ih, "x", g.iw,
         " (with pads) is smaller than the ", g.kh, "x", g.kw, " kernel");
  for (int64_t oy = 0; oy < g.oh; ++oy)
    if (!window_has_input(g.y0(oy), g.kh, g.dil_h, g.ih))
      fail(ErrorKind::bad_input, node.op_type, " pads leave the window of output row ", oy, " without any input row");
  for (int64_t ox = 0; ox < g.ow; ++ox)
    if (!window_has_input(g.x0(ox), g.kw, g.dil_w, g.iw))
      fail(ErrorKind::bad_input, node.op_type, " pads leave the window of output column ", ox,
           " without any input column");
  return g;
}

namespace {
std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "X");
  require_dtype(x, DType::f32, "input X");
  if (node.outputs.size() > 1)
    fail(ErrorKind::bad_input, node.op_type, "'s second output (Indices) is not supported");
  const PoolGeometry g = pool_geometry(node, x.shape);
  return {{{g.n, g.c, g.oh, g.ow}, DType::f32}};
}

// Offset inside one ih x iw plane of the first maximum of output (oy, ox)'s window.
int64_t window_argmax(const PoolGeometry& g, const float* plane, int64_t oy, int64_t ox) {
  int64_t best = -1;
  for_each_tap(g, oy, ox, [&](int64_t iy, int64_t ix) {
    const int64_t i = iy * g.iw + ix;
    if (best < 0 || plane[i] > plane[best]) best = i;
  });
  return best;  // >= 0: pool_geometry guarantees every window holds an input element
}
}  // namespace

void max_pool_forward_ref(ir::ForwardCtx& ctx) {
  const PoolGeometry g = pool_geometry(ctx.node, ctx.inputs[0].shape());
  const float* src = ctx.inputs[0].data<float>();
  float* dst = ctx.outputs[0].data<float>();
  for (int64_t p = 0; p < g.n * g.c; ++p) {
    const float* plane = src + p * g.ih * g.iw;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) dst[(p * g.oh + oy) * g.ow + ox] = plane[window_argmax(g, plane, oy, ox)];
  }
}

void max_pool_backward_ref(ir::BackwardCtx& ctx) {
  if (!ctx.d_inputs[0].defined()) return;
  const PoolGeometry g = pool_geometry(ctx.node, ctx.inputs[0].shape());
  const float* src = ctx.inputs[0].data<float>();
  const float* d_dst = ctx.d_outputs[0].data<float>();
  float* d_src = ctx.d_inputs[0].data<float>();
  ctx.d_inputs[0].zero();
  for (int64_t p = 0; p < g.n * g.c; ++p) {
    const float* plane = src + p * g.ih * g.iw;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox)
        d_src[p * g.ih * g.iw + window_argmax(g, plane, oy, ox)] += d_dst[(p * g.oh + oy) * g.ow + ox];
  }
}

void average_pool_forward_ref(ir::ForwardCtx& ctx) {
  const PoolGeometry g = pool_geometry(ctx.node, ctx.inputs[0].shape());
  const float* src = ctx.inputs[0].data<float>();
  float* dst = ctx.outputs[0].data<float>();
  for (int64_t p = 0; p < g.n * g.c; ++p) {
    const float* plane = src + p * g.ih * g.iw;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        double sum = 0;
        for_each_tap(g, oy, ox, [&](int64_t iy, int64_t ix) { sum += plane[iy * g.iw + ix]; });
        dst[(p * g.oh + oy) * g.ow + ox] = static_cast<float>(sum / static_cast<double>(g.avg_divisor(oy, ox)));
      }
  }
}

void average_pool_backward_ref(ir::BackwardCtx& ctx) {
  if (!ctx.d_inputs[0].defined()) return;
  const PoolGeometry g = pool_geometry(ctx.node, ctx.inputs[0].shape());
  const float* d_dst = ctx.d_outputs[0].data<float>();
  const Tensor& d_src_t = ctx.d_inputs[0];
  std::vector<double> acc(static_cast<size_t>(d_src_t.numel()), 0.0);
  for (int64_t p = 0; p < g.n * g.c; ++p)
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const double share = d_dst[(p * g.oh + oy) * g.ow + ox] / static_cast<double>(g.avg_divisor(oy, ox));
        for_each_tap(g, oy, ox, [&](int64_t iy, int64_t ix) { acc[(p * g.ih + iy) * g.iw + ix] += share; });
      }
  float* d_src = d_src_t.data<float>();
  for (size_t i = 0; i < acc.size(); ++i) d_src[i] = static_cast<float>(acc[i]);
}

ir::OpSchema max_pool_schema() {
  ir::OpSchema s;
  s.op_type = "MaxPool";
  s.attributes = {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"};
  s.infer = infer;
  s.forward = max_pool_forward_ref;
  s.backward = max_pool_backward_ref;
  return s;
}

ir::OpSchema average_pool_schema() {
  ir::OpSchema s;
  s.op_type = "AveragePool";
  s.attributes = {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"};
  s.infer = infer;
  s.forward = average_pool_forward_ref;
  s.backward = average_pool_backward_ref;
  return s;
}

ir::OpSchema global_average_pool_schema() {
  ir::OpSchema s;
  s.op_type = "GlobalAveragePool";
  s.infer = infer;
  s.forward = average_pool_forward_ref;
  s.backward = average_pool_backward_ref;
  return s;
}

}  // namespace leancnn::ops
