// The decomposition methods as graph passes (methods.h): factorise a layer's weight, then
// replace the layer by a chain of Conv / Gemm nodes holding the factors.
#include "leancnn/compress/decompose/methods.h"

#include <algorithm>
#include <cmath>

#include "leancnn/compress/common/layers.h"
#include "leancnn/compress/decompose/factorize.h"
#include "leancnn/compress/decompose/tensor_train.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/conv.h"
#include "tt_chain.h"

namespace leancnn::compress::decompose {

Method parse_method(const std::string& name) {
  if (name == "svd") return Method::svd;
  if (name == "channel_svd") return Method::channel_svd;
  if (name == "spatial_svd") return Method::spatial_svd;
  if (name == "tucker2") return Method::tucker2;
  if (name == "cp") return Method::cp;
  if (name == "tt") return Method::tt;
  if (name == "tr") return Method::tr;
  fail(ErrorKind::usage, "decomposition method '", name, "' is not one of: svd, channel_svd, spatial_svd, tucker2, cp, tt, tr");
}

const char* method_name(Method m) {
  switch (m) {
    case Method::svd: return "svd";
    case Method::channel_svd: return "channel_svd";
    case Method::spatial_svd: return "spatial_svd";
    case Method::tucker2: return "tucker2";
    case Method::cp: return "cp";
    case Method::tt: return "tt";
    case Method::tr: return "tr";
  }
  return "?";
}

bool is_fc_method(Method m) { return m == Method::svd || m == Method::tt || m == Method::tr; }

namespace {
const Tensor& weight_of(const ir::Graph& g, const ir::Node& n) { return g.value(n.inputs[1]).data; }

bool has_bias(const ir::Node& n) { return n.inputs.size() > 2 && n.inputs[2] != ir::kNone; }

ops::ConvGeometry geometry(const ir::Graph& g, const ir::Node& n) {
  const ir::Value& src = g.value(n.inputs[0]);
  if (!src.shape_known) fail(ErrorKind::usage, n.label(), ": shapes must be inferred before decomposition");
  return ops::conv_geometry(n, src.shape, weight_of(g, n).shape());
}

// The TT-matrix modes of a Gemm weight [N, K] in d cores.
TtModes modes_of(const ir::Node& n, const Tensor& w, int d) {
  (void)n;
  return tt_modes(w.dim(0), w.dim(1), d);
}

TensorTrain tt_factorise(const ir::Graph& g, const ir::Node& n, Method m, const std::vector<int64_t>& ranks) {
  const std::string why = not_applicable(g, n, m);
  if (!why.empty()) fail(ErrorKind::usage, n.label(), ": ", method_name(m), " does not apply: ", why);
  const Tensor& w = weight_of(g, n);
  const int d = static_cast<int>(m == Method::tt ? ranks.size() + 1 : ranks.size());
  const TtModes modes = modes_of(n, w, d);
  return m == Method::tt ? tt_svd_ranks(w, modes, ranks) : tr_svd_ranks(w, modes, ranks);
}

// One node of a chain: its op, its weight and its attributes (Conv) before the graph holds them.
struct Part {
  const char* suffix;
  Tensor weight;
  ir::Attributes attrs;
};

struct Chain {
  std::vector<Part> parts;
  double rel_error = 0;
};

ir::Attributes conv_attrs(int64_t kh, int64_t kw, std::vector<int64_t> strides, std::vector<int64_t> pads,
                          std::vector<int64_t> dilations, int64_t group = 1) {
  ir::Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{kh, kw});
  a.set("strides", std::move(strides));
  a.set("pads", std::move(pads));
  a.set("dilations", std::move(dilations));
  if (group != 1) a.set("group", group);
  return a;
}

ir::Attributes pointwise() { return conv_attrs(1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}); }

// The layer's own stride, padding and dilation on a kernel of the given size.
ir::Attributes same_geometry(const ops::ConvGeometry& c, int64_t kh, int64_t kw) {
  return conv_attrs(kh, kw, {c.stride_h, c.stride_w}, {c.pad_t, c.pad_l, c.pad_b, c.pad_r}, {c.dil_h, c.dil_w});
}

void check_rank(const char* what, int64_t r, int64_t hi) {
  if (r < 1 || r > hi) fail(ErrorKind::usage, what, " rank ", r, " is outside [1, ", hi, "]");
}

std::vector<int64_t> expect_ranks(Method m, const std::vector<int64_t>& ranks) {
  if (m == Method::tt || m == Method::tr) {
    if (ranks.size() < (m == Method::tt ? 1u : 2u)) fail(ErrorKind::usage, method_name(m), " takes one rank per core boundary, got ", ranks.size());
    return ranks;
  }
  const size_t want = m == Method::tucker2 ? 2 : 1;
  if (ranks.size() != want) fail(ErrorKind::usage, method_name(m), " takes ", want, " rank(s), got ", ranks.size());
  return ranks;
}

Chain factorise(const ir::Graph& g, const ir::Node& n, Method m, const std::vector<int64_t>& ranks_in,
                const FactorOptions& opts) {
  const std::string why = not_applicable(g, n, m);
  if (!why.empty()) fail(ErrorKind::usage, n.label(), ": ", method_name(m), " does not apply: ", why);
  const std::vector<int64_t> ranks = expect_ranks(m, ranks_in);
  const std::vector<int64_t> hi = max_ranks(g, n, m);
  const Tensor& w = weight_of(g, n);
  Chain ch;
  if (m == Method::svd) {
    check_rank("svd", ranks[0], hi[0]);
    const LowRank lr = truncated_svd(w, ranks[0]);
    ir::Attributes a;
    a.set("transB", int64_t{1});
    ch.parts = {{"svd_v", lr.right, a}, {"svd_u", lr.left, a}};
    ch.rel_error = relative_error(w, matmul(lr.left, lr.right));
    return ch;
  }
  const ops::ConvGeometry c = geometry(g, n);
  const int64_t oc = c.oc, ic = c.ic, kh = c.kh, kw = c.kw;
  switch (m) {
    case Method::channel_svd: {
      check_rank("channel_svd", ranks[0], hi[0]);
      const int64_t r = ranks[0];
      const LowRank lr = truncated_svd(w.reshape({oc, ic * kh * kw}), r);
      ch.parts = {{"csvd_k", lr.right.reshape({r, ic, kh, kw}), same_geometry(c, kh, kw)},
                  {"csvd_1x1", lr.left.reshape({oc, r, 1, 1}), pointwise()}};
      ch.rel_error = relative_error(w, matmul(lr.left, lr.right));
      break;
    }
    case Method::spatial_svd: {
      check_rank("spatial_svd", ranks[0], hi[0]);
      const int64_t r = ranks[0];
      // M[(c, y), (o, x)] = W[o, c, y, x] ~ V[(c, y), r] H[r, (o, x)].
      Tensor mat = Tensor::empty({ic * kh, oc * kw});
      for (int64_t o = 0; o < oc; ++o)
        for (int64_t i = 0; i < ic; ++i)
          for (int64_t y = 0; y < kh; ++y)
            for (int64_t x = 0; x < kw; ++x)
              mat.data<float>()[(i * kh + y) * oc * kw + o * kw + x] = w.data<float>()[((o * ic + i) * kh + y) * kw + x];
      const LowRank lr = truncated_svd(mat, r);
      Tensor vert = Tensor::empty({r, ic, kh, 1}), horiz = Tensor::empty({oc, r, 1, kw});
      for (int64_t q = 0; q < r; ++q)
        for (int64_t i = 0; i < ic * kh; ++i) vert.data<float>()[q * ic * kh + i] = lr.left.data<float>()[i * r + q];
      for (int64_t o = 0; o < oc; ++o)
        for (int64_t q = 0; q < r; ++q)
          for (int64_t x = 0; x < kw; ++x)
            horiz.data<float>()[(o * r + q) * kw + x] = lr.right.data<float>()[q * oc * kw + o * kw + x];
      ch.parts = {{"ssvd_v", vert, conv_attrs(kh, 1, {c.stride_h, 1}, {c.pad_t, 0, c.pad_b, 0}, {c.dil_h, 1})},
                  {"ssvd_h", horiz, conv_attrs(1, kw, {1, c.stride_w}, {0, c.pad_l, 0, c.pad_r}, {1, c.dil_w})}};
      ch.rel_error = relative_error(mat, matmul(lr.left, lr.right));
      break;
    }
    case Method::tucker2: {
      check_rank("tucker2 input", ranks[0], hi[0]);
      check_rank("tucker2 output", ranks[1], hi[1]);
      const int64_t r_in = ranks[0], r_out = ranks[1];
      const Tucker2 t = tucker2(w, r_out, r_in, opts.hooi_iters);
      Tensor first = Tensor::empty({r_in, ic, 1, 1});  // in_factor^T
      for (int64_t j = 0; j < r_in; ++j)
        for (int64_t i = 0; i < ic; ++i) first.data<float>()[j * ic + i] = t.in_factor.data<float>()[i * r_in + j];
      ch.parts = {{"tucker_in", first, pointwise()},
                  {"tucker_core", t.core, same_geometry(c, kh, kw)},
                  {"tucker_out", t.out_factor.reshape({oc, r_out, 1, 1}), pointwise()}};
      ch.rel_error = relative_error(w, tucker2_kernel(t));
      break;
    }
    case Method::cp: {
      check_rank("cp", ranks[0], hi[0]);
      const int64_t r = ranks[0];
      const Cp f = cp_als(w, r, opts.cp_iters, opts.cp_tol, opts.seed);
      Tensor first = Tensor::empty({r, ic, 1, 1}), vert = Tensor::empty({r, 1, kh, 1}), horiz = Tensor::empty({r, 1, 1, kw});
      for (int64_t q = 0; q < r; ++q) {
        for (int64_t i = 0; i < ic; ++i) first.data<float>()[q * ic + i] = f.in.data<float>()[i * r + q];
        for (int64_t y = 0; y < kh; ++y) vert.data<float>()[q * kh + y] = f.h.data<float>()[y * r + q];
        for (int64_t x = 0; x < kw; ++x) horiz.data<float>()[q * kw + x] = f.w.data<float>()[x * r + q];
      }
      ch.parts = {{"cp_in", first, pointwise()},
                  {"cp_v", vert, conv_attrs(kh, 1, {c.stride_h, 1}, {c.pad_t, 0, c.pad_b, 0}, {c.dil_h, 1}, r)},
                  {"cp_h", horiz, conv_attrs(1, kw, {1, c.stride_w}, {0, c.pad_l, 0, c.pad_r}, {1, c.dil_w}, r)},
                  {"cp_out", f.out.reshape({oc, r, 1, 1}), pointwise()}};
      ch.rel_error = f.rel_error;
      break;
    }
    case Method::svd:
    case Method::tt:
    case Method::tr: break;
  }
  return ch;
}
}  // namespace

std::string not_applicable(const ir::Graph& g, const ir::Node& n, Method m) {
  if (!is_weight_layer(g, n)) return "not a Conv or Gemm layer with f32 initializer weights";
  const Tensor& w = weight_of(g, n);
  if (is_fc_method(m)) return ir::is_onnx_op(n, "Gemm") ? "" : std::string(method_name(m)) + " takes Gemm layers";
  if (!ir::is_onnx_op(n, "Conv")) return std::string(method_name(m)) + " takes Conv layers";
  if (w.rank() != 4) return "not a 2-D convolution";
  if (n.attrs.get_int("group", 1) != 1) return "grouped convolution";
  if (w.dim(2) * w.dim(3) == 1) return "1x1 kernel";
  if (m == Method::spatial_svd && (w.dim(2) == 1 || w.dim(3) == 1)) return "kernel already separable (k x 1 or 1 x k)";
  return "";
}

std::vector<int64_t> max_ranks(const ir::Graph& g, const ir::Node& n, Method m, const FactorOptions& options) {
  const Tensor& w = weight_of(g, n);
  switch (m) {
    case Method::tt: return tt_max_ranks(modes_of(n, w, options.tt_cores));
    case Method::tr: return tr_max_ranks(modes_of(n, w, options.tt_cores));
    case Method::svd: return {std::min(w.dim(0), w.dim(1))};
    case Method::channel_svd: return {std::min(w.dim(0), w.dim(1) * w.dim(2) * w.dim(3))};
    case Method::spatial_svd: return {std::min(w.dim(1) * w.dim(2), w.dim(0) * w.dim(3))};
    case Method::tucker2: return {w.dim(1), w.dim(0)};
    case Method::cp: {
      const int64_t unit = decomposed_cost(g, n, Method::cp, {1}).macs;
      return {std::max<int64_t>(1, layer_cost(g, n).macs / std::max<int64_t>(1, unit))};
    }
  }
  return {};
}

LayerCost layer_cost(const ir::Graph& g, const ir::Node& n) {
  const Tensor& w = weight_of(g, n);
  const int64_t bias = has_bias(n) ? w.dim(0) : 0;
  if (ir::is_onnx_op(n, "Gemm")) return {w.numel(), w.numel() + bias};
  const ops::ConvGeometry c = geometry(g, n);
  return {c.macs() / std::max<int64_t>(1, c.n), w.numel() + bias};
}

LayerCost decomposed_cost(const ir::Graph& g, const ir::Node& n, Method m, const std::vector<int64_t>& ranks_in) {
  const std::vector<int64_t> ranks = expect_ranks(m, ranks_in);
  const Tensor& w = weight_of(g, n);
  const int64_t bias = has_bias(n) ? w.dim(0) : 0;
  if (m == Method::svd) {
    const int64_t p = ranks[0] * (w.dim(0) + w.dim(1));
    return {p, p + bias};
  }
  if (m == Method::tt || m == Method::tr) {
    const int d = static_cast<int>(m == Method::tt ? ranks.size() + 1 : ranks.size());
    return tt_chain_cost(modes_of(n, w, d), ranks, m == Method::tr, bias > 0);
  }
  const ops::ConvGeometry c = geometry(g, n);
  const int64_t out = c.oh * c.ow, in = c.ih * c.iw, rows = c.oh * c.iw;  // rows: after a kh x 1 conv
  int64_t macs = 0, params = 0;
  const int64_t r = ranks[0];
  switch (m) {
    case Method::channel_svd:
      params = r * c.ic * c.kh * c.kw + c.oc * r;
      macs = out * params;
      break;
    case Method::spatial_svd:
      params = r * c.ic * c.kh + c.oc * r * c.kw;
      macs = rows * r * c.ic * c.kh + out * c.oc * r * c.kw;
      break;
    case Method::tucker2: {
      const int64_t r_in = ranks[0], r_out = ranks[1];
      params = c.ic * r_in + r_out * r_in * c.kh * c.kw + c.oc * r_out;
      macs = in * c.ic * r_in + out * r_out * r_in * c.kh * c.kw + out * c.oc * r_out;
      break;
    }
    case Method::cp:
      params = r * (c.ic + c.kh + c.kw + c.oc);
      macs = in * r * c.ic + rows * r * c.kh + out * r * c.kw + out * c.oc * r;
      break;
    case Method::svd:
    case Method::tt:
    case Method::tr: break;
  }
  return {macs, params + bias};
}

Rewrite decompose_layer(ir::Graph& g, ir::NodeId layer, Method m, const std::vector<int64_t>& ranks,
                        const FactorOptions& options) {
  const ir::Node n = g.node(layer);  // a copy: adding nodes may move the node table
  if (m == Method::tt || m == Method::tr) {
    const TensorTrain t = tt_factorise(g, n, m, expect_ranks(m, ranks));
    const TtModes modes = modes_of(n, weight_of(g, n), static_cast<int>(t.cores.size()));
    const ir::ValueId old_weight = n.inputs[1];
    g.remove_node(layer);
    Rewrite rw;
    rw.rel_error = t.rel_error;
    rw.nodes = add_tt_chain(g, n.inputs[0], n.outputs.at(0), has_bias(n) ? n.inputs[2] : ir::kNone, t, modes, n.name);
    ir::release_dead_initializers(g, {old_weight});
    return rw;
  }
  Chain ch = factorise(g, n, m, ranks, options);
  const ir::ValueId old_weight = n.inputs[1];
  const ir::ValueId bias = has_bias(n) ? n.inputs[2] : ir::kNone;
  const ir::ValueId dst = n.outputs.at(0);
  g.remove_node(layer);
  Rewrite rw;
  rw.rel_error = ch.rel_error;
  ir::ValueId src = n.inputs[0];
  const char* op = ir::is_onnx_op(n, "Gemm") ? "Gemm" : "Conv";
  for (size_t k = 0; k < ch.parts.size(); ++k) {
    Part& p = ch.parts[k];
    const std::string base = n.name + "." + p.suffix;
    const ir::ValueId wv = g.add_initializer(g.unique_value_name(base + ".weight"), p.weight.clone(), true);
    const bool last = k + 1 == ch.parts.size();
    std::vector<ir::ValueId> inputs = {src, wv};
    if (last && bias != ir::kNone) inputs.push_back(bias);
    const ir::ValueId out = last ? dst : g.add_value(g.unique_value_name(base + ".out"));
    rw.nodes.push_back(g.add_node(op, inputs, {out}, p.attrs, base));
    src = out;
  }
  ir::release_dead_initializers(g, {old_weight});
  return rw;
}

double factorisation_error(const ir::Graph& g, const ir::Node& layer, Method m, const std::vector<int64_t>& ranks,
                           const FactorOptions& options) {
  if (m == Method::tt || m == Method::tr) return tt_factorise(g, layer, m, expect_ranks(m, ranks)).rel_error;
  return factorise(g, layer, m, ranks, options).rel_error;
}

}  // namespace leancnn::compress::decompose
