// Inference pass: QDQ patterns (docs/int8_runtime.md) lowered to integer ops. Each
//   DQ(x_q) -> Conv|Gemm(DQ(W_s8), DQ(B_s32)) [-> Relu | Clip] -> QuantizeLinear
// becomes one ai.leancnn QLinearFusedConv / QGemm reading x_q and writing the Q's output, so
// quantized activations flow from one integer op to the next with no DQ/Q pair in between.
// A Gemm whose output is not quantized becomes a QGemm with an f32 output, and a residual
//   DQ(a) + DQ(b) [-> Relu] -> QuantizeLinear
// becomes one ai.leancnn QAdd (the same float formulas in one pass: bit-exact), and
//   DQ(x_q) -> MaxPool | GlobalAveragePool [-> Flatten | Reshape] -> QuantizeLinear
// becomes one ai.leancnn QLinearMaxPool (bit-exact) / QLinearGlobalAveragePool (exact integer
// sums; within one unit of the float chain) on x_q, followed by the same shape op on its output.
#include <algorithm>
#include <cmath>
#include <limits>

#include "leancnn/core/error.h"
#include "leancnn/core/log.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/qlinear.h"
#include "leancnn/runtime/inference_passes.h"

namespace leancnn::runtime {

namespace {
using ir::is_onnx_op;

bool is_dq(const ir::Node& n) { return is_onnx_op(n, "DequantizeLinear"); }

const ir::Value* initializer(const ir::Graph& g, const ir::Node& n, size_t slot) {
  if (slot >= n.inputs.size() || n.inputs[slot] == ir::kNone) return nullptr;
  const ir::Value& v = g.value(n.inputs[slot]);
  return v.is_initializer() ? &v : nullptr;
}

bool all_zero(const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t v = t.dtype() == DType::u8 ? t.data<uint8_t>()[i] : t.dtype() == DType::s8 ? t.data<int8_t>()[i]
                                                                                              : t.data<int32_t>()[i];
    if (v != 0) return false;
  }
  return true;
}

// A DequantizeLinear producing v: its quantized input and constant scale / zero point slots.
struct Dq {
  ir::NodeId node = ir::kNone;
  ir::ValueId q = ir::kNone, scale = ir::kNone, zp = ir::kNone;
  int64_t axis = 1;
};

bool match_dq(const ir::Graph& g, ir::ValueId v, Dq& d) {
  if (v == ir::kNone || g.value(v).producer == ir::kNone) return false;
  const ir::Node& n = g.node(g.value(v).producer);
  if (!is_dq(n) || n.inputs.size() < 2) return false;
  const ir::Value* s = initializer(g, n, 1);
  if (!s || s->dtype != DType::f32) return false;
  d.node = n.id;
  d.q = n.inputs[0];
  d.scale = n.inputs[1];
  d.zp = n.inputs.size() > 2 ? n.inputs[2] : ir::kNone;
  if (d.zp != ir::kNone && !g.value(d.zp).is_initializer()) return false;
  d.axis = n.attrs.get_int("axis", 1);
  const int64_t rank = static_cast<int64_t>(g.value(d.q).shape.size());
  if (d.axis < 0) d.axis += rank;  // ONNX: a negative axis counts from the end
  return true;
}

// The quantized activation input: u8/s8, per-tensor.
bool match_activation_dq(const ir::Graph& g, ir::ValueId v, Dq& d) {
  if (!match_dq(g, v, d)) return false;
  const DType t = g.value(d.q).dtype;
  return (t == DType::u8 || t == DType::s8) && g.value(d.scale).data.numel() == 1;
}

// The output chain after the float op: [Relu | Clip(constant bounds)] -> QuantizeLinear with a
// per-tensor constant scale and zero point. Fills the nodes to remove and the attributes.
struct OutputChain {
  std::vector<ir::NodeId> nodes;  // activation (if any), then the Q (if any)
  ir::NodeId q = ir::kNone;
  ir::ValueId out = ir::kNone;    // the value the integer op writes
  std::string activation;
  std::vector<float> params;
};

bool match_output(const ir::Graph& g, ir::ValueId y, OutputChain& c) {
  ir::ValueId v = y;
  ir::NodeId next = ir::sole_consumer(g, v);
  if (next != ir::kNone) {
    const ir::Node& a = g.node(next);
    if (is_onnx_op(a, "Relu") || is_onnx_op(a, "Clip")) {
      if (a.inputs[0] != v || a.outputs.size() != 1) return false;
      c.activation = a.op_type;
      if (a.op_type == "Clip") {
        float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
        if (a.inputs.size() > 1 && a.inputs[1] != ir::kNone && !ir::scalar_initializer(g, a.inputs[1], lo)) return false;
        if (a.inputs.size() > 2 && a.inputs[2] != ir::kNone && !ir::scalar_initializer(g, a.inputs[2], hi)) return false;
        if (std::isnan(lo) || std::isnan(hi)) return false;
        c.params = {lo, hi};
      }
      c.nodes.push_back(next);
      v = a.outputs[0];
      next = ir::sole_consumer(g, v);
    }
  }
  c.out = v;
  if (next == ir::kNone) return true;  // not quantized (the caller decides whether that is allowed)
  const ir::Node& q = g.node(next);
  if (!is_onnx_op(q, "QuantizeLinear") || q.inputs[0] != v || q.inputs.size() < 2) return true;
  const ir::Value* s = initializer(g, q, 1);
  const ir::Value* z = initializer(g, q, 2);
  if (!s || s->data.numel() != 1 || (q.inputs.size() > 2 && q.inputs[2] != ir::kNone && (!z || z->data.numel() != 1)))
    return true;
  c.q = next;
  c.nodes.push_back(next);
  c.out = q.outputs[0];
  return true;
}

// The s32 bias in units of x_scale * w_scale[c]: a DequantizeLinear'd s32 initializer whose scale
// is that product (used as it is), else (another scale, or a float bias) rescaled and rounded.
Tensor integer_bias(const ir::Graph& g, ir::ValueId b, float x_scale, const Tensor& w_scale, int64_t oc) {
  auto ws = [&](int64_t c) { return w_scale.data<float>()[w_scale.numel() == 1 ? 0 : c]; };
  Tensor out = Tensor::zeros({oc}, DType::s32);
  int32_t* dst = out.data<int32_t>();
  auto put = [&](int64_t c, double real) {
    const double units = std::nearbyint(real / (static_cast<double>(x_scale) * ws(c)));
    dst[c] = static_cast<int32_t>(std::clamp(units, -2147483648.0, 2147483647.0));
  };
  Dq d;
  if (match_dq(g, b, d) && g.value(d.q).is_initializer() && g.value(d.q).dtype == DType::s32) {
    const Tensor& q = g.value(d.q).data;
    const Tensor& s = g.value(d.scale).data;
    for (int64_t c = 0; c < oc; ++c) {
      const float bs = s.data<float>()[s.numel() == 1 ? 0 : c];
      const int32_t qv = q.data<int32_t>()[c];
      const float expect = x_scale * ws(c);
      if (std::fabs(bs - expect) <= 1e-6f * expect)
        dst[c] = qv;
      else
        put(c, static_cast<double>(qv) * bs);
    }
    return out;
  }
  const Tensor& f = g.value(b).data;
  for (int64_t c = 0; c < oc; ++c) put(c, f.data<float>()[c]);
  return out;
}

bool valid_bias(const ir::Graph& g, ir::ValueId b, int64_t oc) {
  if (b == ir::kNone) return true;
  Dq d;
  if (match_dq(g, b, d)) {
    const ir::Value& q = g.value(d.q);
    if (!q.is_initializer() || q.dtype != DType::s32 || q.data.numel() != oc) return false;
    const int64_t ns = g.value(d.scale).data.numel();
    return ns == 1 || (ns == oc && d.axis == 0);
  }
  const ir::Value& v = g.value(b);
  return v.is_initializer() && v.dtype == DType::f32 && v.data.numel() == oc;
}

// Lowers one Conv or Gemm; false (graph unchanged) when the pattern does not match.
bool lower_one(ir::Graph& g, ir::NodeId id) {
  const ir::Node& n = g.node(id);
  const bool conv = is_onnx_op(n, "Conv");
  if (n.outputs.size() != 1 || n.inputs.size() < 2) return false;
  Dq dx, dw;
  if (!match_activation_dq(g, n.inputs[0], dx) || !match_dq(g, n.inputs[1], dw)) return false;
  const ir::Value& wv = g.value(dw.q);
  if (!wv.is_initializer() || wv.dtype != DType::s8) return false;
  struct {
    Tensor data;
    std::string name;
  } const w{wv.data, wv.name};  // copies: adding initializers below may move the values
  if (dw.zp != ir::kNone && !all_zero(g.value(dw.zp).data)) return false;  // the kernels take symmetric weights
  Tensor weights = w.data;
  int64_t oc = 0;
  if (conv) {
    if (w.data.rank() != 4 || g.value(dx.q).shape.size() != 4) return false;
    oc = w.data.dim(0);
    if (g.value(dw.scale).data.numel() != 1 && dw.axis != 0) return false;
  } else {
    // Gemm: y = x W^T + b with transB = 1 (W is [N, K]); transB = 0 transposes W here.
    if (n.attrs.get_int("transA", 0) != 0 || n.attrs.get_float("alpha", 1.f) != 1.f ||
        n.attrs.get_float("beta", 1.f) != 1.f || w.data.rank() != 2)
      return false;
    const bool trans_b = n.attrs.get_int("transB", 0) != 0;
    const int64_t scale_axis = trans_b ? 0 : 1;
    if (g.value(dw.scale).data.numel() != 1 && dw.axis != scale_axis) return false;
    oc = trans_b ? w.data.dim(0) : w.data.dim(1);
    if (!trans_b) {
      const int64_t k = w.data.dim(0);
      weights = Tensor::empty({oc, k}, DType::s8);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < oc; ++j) weights.data<int8_t>()[j * k + i] = w.data.data<int8_t>()[i * oc + j];
    }
  }
  const int64_t nws = g.value(dw.scale).data.numel();
  if (nws != 1 && nws != oc) return false;
  const ir::ValueId b = n.inputs.size() > 2 ? n.inputs[2] : ir::kNone;
  if (!valid_bias(g, b, oc)) return false;
  OutputChain out;
  if (!match_output(g, n.outputs[0], out)) return false;
  if (out.q == ir::kNone && (conv || out.activation == "Clip")) return false;  // convs keep quantized outputs

  // Build the integer node.
  const float x_scale = g.value(dx.scale).data.at(0);
  const std::string name = n.name;
  ir::Attributes attrs = conv ? n.attrs : ir::Attributes{};
  if (!out.activation.empty()) attrs.set("activation", out.activation);
  if (!out.params.empty()) attrs.set("activation_params", out.params);
  std::vector<ir::ValueId> inputs{dx.q, dx.scale, dx.zp, ir::kNone, dw.scale, dw.zp, ir::kNone, ir::kNone, ir::kNone};
  inputs[ops::kQW] = weights.raw() == w.data.raw() ? dw.q : g.add_initializer(g.unique_value_name(w.name + "_nk"), weights, false);
  if (out.q != ir::kNone) {
    const ir::Node& q = g.node(out.q);
    inputs[ops::kQYScale] = q.inputs[1];
    inputs[ops::kQYZp] = q.inputs.size() > 2 ? q.inputs[2] : ir::kNone;
  }
  if (b != ir::kNone)
    inputs[ops::kQBias] = g.add_initializer(g.unique_value_name(name + "_bias_s32"),
                                            integer_bias(g, b, x_scale, g.value(dw.scale).data, oc), false);
  // QLinear operand lists have their zero points in place: an omitted one is 0 of its type.
  auto zero_point = [&](int slot, ir::ValueId q, int64_t count) {
    if (inputs[slot] != ir::kNone || (slot == ops::kQYZp && inputs[ops::kQYScale] == ir::kNone)) return;
    inputs[slot] = g.add_initializer(g.unique_value_name(name + "_zero_point"),
                                     Tensor::zeros(count == 0 ? Shape{} : Shape{count}, g.value(q).dtype), false);
  };
  zero_point(ops::kQXZp, dx.q, 0);
  zero_point(ops::kQWZp, dw.q, g.value(dw.scale).data.numel() == 1 ? 0 : oc);
  if (out.q != ir::kNone) zero_point(ops::kQYZp, g.node(out.q).outputs[0], 0);
  while (!inputs.empty() && inputs.back() == ir::kNone) inputs.pop_back();
  const std::vector<ir::ValueId> old_inputs = g.node(id).inputs;
  g.remove_node(id);
  for (ir::NodeId r : out.nodes) g.remove_node(r);
  g.add_node(conv ? "QLinearFusedConv" : "QGemm", inputs, {out.out}, attrs, name, ir::kLeancnnDomain);
  ir::release_dead_initializers(g, old_inputs);
  return true;
}

// DQ(a) + DQ(b) [-> Relu] -> Q (equal shapes, per tensor) -> one ai.leancnn QAdd, which computes
// the same float formulas in one pass (bit-exact).
bool lower_add(ir::Graph& g, ir::NodeId id) {
  const ir::Node& n = g.node(id);
  if (n.inputs.size() != 2 || n.outputs.size() != 1) return false;
  Dq da, db;
  if (!match_activation_dq(g, n.inputs[0], da) || !match_activation_dq(g, n.inputs[1], db)) return false;
  if (g.value(da.q).shape != g.value(db.q).shape || !g.value(da.q).shape_known) return false;
  OutputChain out;
  if (!match_output(g, n.outputs[0], out) || out.q == ir::kNone || out.activation == "Clip") return false;
  const std::string name = n.name;
  const ir::Node& q = g.node(out.q);
  std::vector<ir::ValueId> inputs{da.q, da.scale, da.zp, db.q, db.scale, db.zp, q.inputs[1],
                                  q.inputs.size() > 2 ? q.inputs[2] : ir::kNone};
  for (int slot : {2, 5, 7}) {
    if (inputs[slot] != ir::kNone) continue;
    const DType t = slot == 7 ? g.value(out.out).dtype : g.value(inputs[slot - 2]).dtype;
    inputs[slot] = g.add_initializer(g.unique_value_name(name + "_zero_point"), Tensor::zeros({}, t), false);
  }
  ir::Attributes attrs;
  if (!out.activation.empty()) attrs.set("activation", out.activation);
  g.remove_node(id);
  for (ir::NodeId r : out.nodes) g.remove_node(r);
  g.add_node("QAdd", inputs, {out.out}, attrs, name, ir::kLeancnnDomain);
  return true;
}

// DQ(x_q) -> MaxPool | GlobalAveragePool [-> Flatten | Reshape] -> Q (per tensor) -> one
// ai.leancnn QLinearMaxPool / QLinearGlobalAveragePool reading x_q, then the same Flatten /
// Reshape on its integer output: shape-only ops commute with a per-tensor Q, and their
// references copy bytes of any type.
bool lower_pool(ir::Graph& g, ir::NodeId id) {
  const ir::Node& n = g.node(id);
  const bool max = is_onnx_op(n, "MaxPool");
  if (n.inputs.size() != 1 || n.outputs.size() != 1) return false;
  if (max && n.attrs.get_int("storage_order", 0) != 0) return false;
  Dq dx;
  if (!match_activation_dq(g, n.inputs[0], dx) || g.value(dx.q).shape.size() != 4) return false;
  ir::NodeId reshape = ir::sole_consumer(g, n.outputs[0]);
  if (reshape != ir::kNone) {
    const ir::Node& r = g.node(reshape);
    const bool shape_op = is_onnx_op(r, "Flatten") || is_onnx_op(r, "Reshape");
    if (!shape_op || r.inputs[0] != n.outputs[0] || r.outputs.size() != 1) reshape = ir::kNone;
  }
  OutputChain out;
  const ir::ValueId before_q = reshape == ir::kNone ? n.outputs[0] : g.node(reshape).outputs[0];
  if (!match_output(g, before_q, out) || out.q == ir::kNone || !out.activation.empty()) return false;

  const std::string name = n.name;
  const ir::Node& q = g.node(out.q);
  std::vector<ir::ValueId> inputs{dx.q, dx.scale, dx.zp, q.inputs[1], q.inputs.size() > 2 ? q.inputs[2] : ir::kNone};
  for (int slot : {2, 4}) {
    if (inputs[slot] != ir::kNone) continue;
    const DType t = slot == 4 ? g.value(out.out).dtype : g.value(dx.q).dtype;
    inputs[slot] = g.add_initializer(g.unique_value_name(name + "_zero_point"), Tensor::zeros({}, t), false);
  }
  ir::Attributes attrs = n.attrs;
  attrs.erase("storage_order");
  // The integer pool writes the Q's output, or, with a shape op in between, a new integer value
  // that op then reshapes into the Q's output.
  ir::ValueId pooled = out.out;
  if (reshape != ir::kNone) {
    const ir::Value& float_pooled = g.value(n.outputs[0]);
    const Shape shape = float_pooled.shape;
    const bool known = float_pooled.shape_known;
    pooled = g.add_value(g.unique_value_name(name + "_q"));
    g.value(pooled).shape = shape;
    g.value(pooled).shape_known = known;
    g.value(pooled).dtype = g.value(out.out).dtype;
  }
  g.remove_node(id);
  for (ir::NodeId r : out.nodes) g.remove_node(r);
  g.add_node(max ? "QLinearMaxPool" : "QLinearGlobalAveragePool", inputs, {pooled}, attrs, name, ir::kLeancnnDomain);
  if (reshape != ir::kNone) {
    const ir::Node r = g.node(reshape);  // a copy: add_node may move the nodes
    std::vector<ir::ValueId> shape_inputs = r.inputs;
    shape_inputs[0] = pooled;
    g.remove_node(reshape);
    g.add_node(r.op_type, shape_inputs, {out.out}, r.attrs, r.name, r.domain);
  }
  return true;
}

// UnpackInt4 nodes of constant packed weights evaluated once (their s8 outputs feed the weights'
// DequantizeLinear, which must stay in place for the match above).
void unpack_constant_int4(ir::Graph& g, const ir::OpTable& ops) {
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& n = g.node(id);
    if (n.op_type != "UnpackInt4" || n.domain != ir::kLeancnnDomain || !initializer(g, n, 0)) continue;
    const std::vector<ir::TensorType> types = ir::infer_node(g, ops, n);
    ir::ForwardCtx ctx{n, {g.value(n.inputs[0]).data}, {Tensor::empty(types.at(0).shape, types[0].dtype)}};
    ops.get(n).forward(ctx);
    const ir::ValueId in = n.inputs[0], out = n.outputs[0];
    g.remove_node(id);
    ir::Value& v = g.value(out);
    v.data = ctx.outputs[0];
    v.shape = types[0].shape;
    v.dtype = types[0].dtype;
    v.shape_known = true;
    ir::release_dead_initializers(g, {in});
  }
}

// DequantizeLinear nodes nothing reads any more, removed.
void drop_dead_dq(ir::Graph& g) {
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if (!is_dq(n) || ir::is_graph_output(g, n.outputs[0]) || !g.consumers(n.outputs[0]).empty()) continue;
    const std::vector<ir::ValueId> inputs = n.inputs;
    g.remove_node(id);
    ir::release_dead_initializers(g, inputs);
  }
}
}  // namespace

int lower_qdq(ir::Graph& g, const ir::OpTable& ops) {
  bool any = false;
  for (ir::NodeId id : g.node_ids()) any = any || is_dq(g.node(id));
  if (!any) return 0;
  unpack_constant_int4(g, ops);
  ir::infer_shapes(g, ops);  // the matcher reads activation ranks
  int lowered = 0;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& n = g.node(id);
    if (n.removed) continue;
    const bool layer = is_onnx_op(n, "Conv") || is_onnx_op(n, "Gemm"), add = is_onnx_op(n, "Add");
    const bool pool = is_onnx_op(n, "MaxPool") || is_onnx_op(n, "GlobalAveragePool");
    if ((layer && lower_one(g, id)) || (add && lower_add(g, id)) || (pool && lower_pool(g, id))) ++lowered;
  }
  drop_dead_dq(g);
  LEANCNN_LOG("plan") << "lower_qdq: " << lowered << " Conv/Gemm/Add/pooling nodes lowered to integer ops";
  return lowered;
}

}  // namespace leancnn::runtime
