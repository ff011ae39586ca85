// Quantization-aware training: FakeQuantize insertion with data-driven initial scales, and the
// conversion of a trained QAT graph to the QDQ contract (docs/qat.md).
#include "leancnn/compress/quantize/qat.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "leancnn/compress/common/layers.h"
#include "leancnn/compress/quantize/ptq.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/fake_quantize.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/quant_math.h"

namespace leancnn::compress::quantize {

QatMethod parse_qat_method(const std::string& name) {
  if (name == "ste") return QatMethod::ste;
  if (name == "lsq") return QatMethod::lsq;
  if (name == "dorefa") return QatMethod::dorefa;
  fail(ErrorKind::usage, "unknown QAT method '", name, "' (ste, lsq or dorefa)");
}

const char* qat_method_name(QatMethod m) {
  switch (m) {
    case QatMethod::ste: return "ste";
    case QatMethod::lsq: return "lsq";
    default: return "dorefa";
  }
}

namespace {
bool is_fake_quant(const ir::Node& n) { return n.domain == ir::kLeancnnDomain && n.op_type == "FakeQuantize"; }
}  // namespace

bool has_fake_quant(const ir::Graph& g) {
  for (ir::NodeId id : g.node_ids())
    if (is_fake_quant(g.node(id))) return true;
  return false;
}

namespace {

struct Stats {
  float min = 0, max = 0;
  double mean_abs = 0;
};

Stats stats_of(const Tensor& t) {
  Stats s;
  const float* p = t.data<float>();
  const int64_t n = t.numel();
  if (n == 0) return s;
  s.min = s.max = p[0];
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    s.min = std::min(s.min, p[i]);
    s.max = std::max(s.max, p[i]);
    sum += std::fabs(p[i]);
  }
  s.mean_abs = sum / static_cast<double>(n);
  return s;
}

class Inserter {
 public:
  Inserter(ir::Graph& g, const QatOptions& o, std::map<ir::ValueId, Stats> act_stats)
      : g_(g), o_(o), stats_(std::move(act_stats)) {}

  // The FakeQuantize'd version of activation v (made once; every reader of v reads it).
  ir::ValueId quantize_activation(ir::ValueId v) {
    if (auto it = fq_of_.find(v); it != fq_of_.end()) return it->second;
    const ir::Value& val = g_.value(v);
    if (val.producer != ir::kNone && is_fake_quant(g_.node(val.producer))) return v;
    const auto found = stats_.find(v);
    if (found == stats_.end()) fail(ErrorKind::internal, "no calibration statistics for activation '", val.name, "'");
    const Stats st = found->second;
    int32_t qmin, qmax;
    ops::fake_quant_range(o_.act_bits, false, false, qmin, qmax);
    float scale;
    int32_t zp = 0;
    if (st.min >= 0.f) {
      scale = o_.act_init == ScaleInit::lsq ? static_cast<float>(2 * st.mean_abs / std::sqrt(qmax))
                                            : st.max / static_cast<float>(qmax);
    } else {  // asymmetric: the range [min, max] including 0
      const float hi = std::max(st.max, 0.f);
      scale = (hi - st.min) / static_cast<float>(qmax - qmin);
      if (scale > 0.f) zp = std::clamp(static_cast<int32_t>(std::lround(-st.min / scale)), qmin, qmax);
    }
    if (!(scale > 0.f) || !std::isfinite(scale)) scale = 1.f / static_cast<float>(qmax);
    const std::string base = val.name;
    const Shape shape = val.shape;  // copies: adding values below may move `val`
    // The model input (pixels / 255) sits on its calibrated grid already; a learned step size
    // there only meets LSQ's jagged gradient of grid-aligned data (it diverges), so it stays STE.
    const bool graph_input = std::find(g_.inputs().begin(), g_.inputs().end(), v) != g_.inputs().end();
    const bool learn = o_.method == QatMethod::lsq && !graph_input;
    const ir::ValueId s = add_scale(base + ".fq_scale", Tensor::from_floats({}, {scale}), learn);
    const ir::ValueId z = g_.add_initializer(g_.unique_value_name(base + ".fq_zero_point"),
                                             Tensor::from_ints({}, {zp}, DType::u8), false);
    ir::Attributes a = common_attrs(o_.act_bits, false);
    if (graph_input && o_.method == QatMethod::lsq) a.set("method", std::string("ste"));
    if (learn) {
      int64_t features = 1;
      for (size_t k = 1; k < shape.size(); ++k) features *= shape[k];
      a.set("grad_scale", static_cast<float>(1.0 / std::sqrt(static_cast<double>(features) * qmax)));
    }
    const ir::ValueId out = g_.add_value(g_.unique_value_name(base + ".fq"));
    const ir::NodeId n = g_.add_node("FakeQuantize", {v, s, z}, {out}, a, g_.unique_value_name(base + ".fq"),
                                     ir::kLeancnnDomain);
    ir::replace_uses_except(g_, v, out, n);
    fq_of_[v] = out;
    ++activations_;
    return out;
  }

  void quantize_layer(ir::NodeId id, int bits) {
    const ir::ValueId x = quantize_activation(g_.node(id).inputs[0]);
    g_.node(id).inputs[0] = x;
    const ir::ValueId x_scale = g_.node(g_.value(x).producer).inputs[1];
    const ir::ValueId w = g_.node(id).inputs[1];
    const ir::ValueId w_scale = quantize_weight(id, w, bits);
    ir::Node& n = g_.node(id);
    if (n.inputs.size() > 2 && n.inputs[2] != ir::kNone && g_.value(n.inputs[2]).is_initializer())
      quantize_bias(id, x_scale, w_scale);
    ++layers_;
  }

  // After the layer (and its Relu / Clip) so that the next layer reads integers.
  void quantize_output(ir::NodeId id) {
    const ir::ValueId out = ir::activated_output(g_, g_.node(id));
    if (!ir::is_graph_output(g_, out) && !g_.consumers(out).empty()) quantize_activation(out);
  }

  std::vector<std::string> scales;
  int64_t layers_ = 0, activations_ = 0;

 private:
  ir::Attributes common_attrs(int bits, bool is_signed) const {
    ir::Attributes a;
    a.set("bits", int64_t{bits});
    a.set("signed", int64_t{is_signed});
    a.set("method", std::string(qat_method_name(o_.method)));
    return a;
  }

  ir::ValueId add_scale(const std::string& name, Tensor t, bool learn) {
    const ir::ValueId v = g_.add_initializer(g_.unique_value_name(name), std::move(t), learn);
    if (learn) scales.push_back(g_.value(v).name);
    return v;
  }

  ir::ValueId quantize_weight(ir::NodeId id, ir::ValueId w, int bits) {
    ir::Value& wv = g_.value(w);
    wv.trainable = true;  // BN folding clears the flag on the weights it rewrites
    const Tensor& data = wv.data;
    const int64_t oc = data.dim(0);
    const int64_t groups = o_.per_channel ? oc : 1;
    const bool dorefa = o_.method == QatMethod::dorefa;
    int32_t qmin, qmax;
    ops::fake_quant_range(bits, true, true, qmin, qmax);
    Tensor scale = Tensor::empty(o_.per_channel ? Shape{oc} : Shape{});
    for (int64_t c = 0; c < groups; ++c) {
      const int64_t begin = c * (data.numel() / groups), end = (c + 1) * (data.numel() / groups);
      double max_abs = 0, sum_abs = 0;
      for (int64_t i = begin; i < end; ++i) {
        max_abs = std::max(max_abs, std::fabs(static_cast<double>(data.at(i))));
        sum_abs += std::fabs(static_cast<double>(data.at(i)));
      }
      double s;
      if (dorefa)  // outputs alpha * w_q with alpha = max|w|: levels alpha (2k / (2^b - 1) - 1)
        s = max_abs / ((1 << bits) - 1);
      else if (o_.weight_init == ScaleInit::lsq)
        s = 2 * sum_abs / static_cast<double>(end - begin) / std::sqrt(qmax);
      else
        s = max_abs / qmax;
      scale.data<float>()[c] = s > 0 ? static_cast<float>(s) : 1.f;
    }
    const std::string base = wv.name;
    const ir::ValueId s = add_scale(base + ".fq_scale", scale, o_.method == QatMethod::lsq);
    const ir::ValueId z = g_.add_initializer(g_.unique_value_name(base + ".fq_zero_point"),
                                             Tensor::zeros(g_.value(s).shape, DType::s8), false);
    ir::Attributes a = common_attrs(bits, true);
    a.set("narrow", int64_t{1});
    a.set("axis", int64_t{0});
    const ir::ValueId out = g_.add_value(g_.unique_value_name(base + ".fq"));
    g_.add_node("FakeQuantize", {w, s, z}, {out}, a, g_.unique_value_name(base + ".fq"), ir::kLeancnnDomain);
    g_.node(id).inputs[1] = out;
    return s;
  }

  // bias_q = FakeQuantize(b, x_scale * w_scale, bits 32): the s32 bias of the integer layer.
  void quantize_bias(ir::NodeId id, ir::ValueId x_scale, ir::ValueId w_scale) {
    const ir::ValueId b = g_.node(id).inputs[2];
    g_.value(b).trainable = true;
    const std::string base = g_.value(b).name;
    const ir::ValueId s = g_.add_value(g_.unique_value_name(base + ".fq_scale"));
    g_.add_node("Mul", {x_scale, w_scale}, {s}, {}, g_.unique_value_name(base + ".fq_scale"));
    ir::Attributes a;
    a.set("bits", int64_t{32});
    a.set("signed", int64_t{1});
    a.set("method", std::string("ste"));
    a.set("axis", int64_t{0});
    const ir::ValueId out = g_.add_value(g_.unique_value_name(base + ".fq"));
    g_.add_node("FakeQuantize", {b, s}, {out}, a, g_.unique_value_name(base + ".fq"), ir::kLeancnnDomain);
    g_.node(id).inputs[2] = out;
  }

  ir::Graph& g_;
  const QatOptions& o_;
  std::map<ir::ValueId, Stats> stats_;
  std::map<ir::ValueId, ir::ValueId> fq_of_;
};

void check_options(const QatOptions& o) {
  const int wmax = o.method == QatMethod::dorefa ? 7 : 8;
  if (o.weight_bits < 2 || o.weight_bits > wmax)
    fail(ErrorKind::usage, "QAT weight bits must be in 2..", wmax, " for ", qat_method_name(o.method), ", got ", o.weight_bits);
  if (o.act_bits < 2 || o.act_bits > 8) fail(ErrorKind::usage, "QAT activation bits must be in 2..8, got ", o.act_bits);
  if (o.first_last_bits != 0 && (o.first_last_bits < 2 || o.first_last_bits > wmax))
    fail(ErrorKind::usage, "QAT first/last layer bits must be 0 (same) or in 2..", wmax, ", got ", o.first_last_bits);
}
}  // namespace

QatResult insert_fake_quant(const ir::Graph& float_graph, const QatOptions& options, const Tensor& calib) {
  check_options(options);
  const ir::OpTable& ops = ops::op_table();
  ir::Graph g = prepare_for_quantization(float_graph);  // rejects already quantized graphs
  if (g.inputs().size() != 1) fail(ErrorKind::bad_input, "QAT needs a model with one input, this one has ", g.inputs().size());
  std::vector<ir::NodeId> layers;
  for (ir::NodeId id : g.topo_order())
    if (is_weight_layer(g, g.node(id))) layers.push_back(id);
  if (layers.empty()) fail(ErrorKind::bad_input, "the model has no Conv or Gemm with constant weights to quantize");

  // Initial activation ranges: the calibration batch through the folded float graph.
  std::set<ir::ValueId> watched;
  for (ir::NodeId id : layers) {
    watched.insert(g.node(id).inputs[0]);
    watched.insert(ir::activated_output(g, g.node(id)));
  }
  std::map<ir::ValueId, Stats> stats;
  {
    runtime::Executor exec(g, ops, {.training = false, .keep_values = true});
    exec.forward({{g.value(g.inputs()[0]).name, calib}});
    for (ir::ValueId v : watched) {
      const Tensor& t = exec.value(v);
      if (t.defined() && t.dtype() == DType::f32) stats[v] = stats_of(t);
    }
  }

  Inserter ins(g, options, stats);
  for (size_t i = 0; i < layers.size(); ++i) {
    const bool edge = i == 0 || i + 1 == layers.size();
    const int bits = edge && options.first_last_bits > 0 ? options.first_last_bits : options.weight_bits;
    ins.quantize_layer(layers[i], bits);
    ins.quantize_output(layers[i]);
  }
  ir::infer_shapes(g, ops);
  ir::verify(g, ops);
  QatResult r;
  r.graph = std::move(g);
  r.scale_params = ins.scales;
  r.layers = ins.layers_;
  r.activations = ins.activations_;
  return r;
}

std::vector<std::string> qat_scale_params(const ir::Graph& g) {
  std::vector<std::string> names;
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if (!is_fake_quant(n) || n.inputs.size() < 2) continue;
    const ir::Value& s = g.value(n.inputs[1]);
    if (s.is_initializer() && s.trainable) names.push_back(s.name);
  }
  return names;
}

void clamp_scales(std::vector<runtime::Param>& params, const std::vector<std::string>& names, float min_scale) {
  const std::set<std::string> wanted(names.begin(), names.end());
  for (runtime::Param& p : params) {
    if (!wanted.count(p.name)) continue;
    float* v = p.value.data<float>();
    for (int64_t i = 0; i < p.value.numel(); ++i) v[i] = std::max(v[i], min_scale);
  }
}

namespace {
// The scale of a FakeQuantize node as a constant: an initializer, or Mul of two initializers
// (a bias scale: input scale x weight scale), computed as the Mul op does (one f32 rounding).
Tensor constant_scale(const ir::Graph& g, ir::ValueId s, const ir::Node& fq) {
  const ir::Value& v = g.value(s);
  if (v.is_initializer()) return v.data;
  if (v.producer != ir::kNone) {
    const ir::Node& p = g.node(v.producer);
    if (ir::is_onnx_op(p, "Mul") && g.value(p.inputs[0]).is_initializer() && g.value(p.inputs[1]).is_initializer()) {
      const Tensor& a = g.value(p.inputs[0]).data;
      const Tensor& b = g.value(p.inputs[1]).data;
      const int64_t n = std::max(a.numel(), b.numel());
      Tensor out = Tensor::empty(a.numel() >= b.numel() ? a.shape() : b.shape());
      for (int64_t i = 0; i < n; ++i) out.data<float>()[i] = a.at(a.numel() == 1 ? 0 : i) * b.at(b.numel() == 1 ? 0 : i);
      return out;
    }
  }
  fail(ErrorKind::bad_input, "FakeQuantize ", fq.label(), ": its scale '", v.name,
       "' is not a constant (an initializer, or Mul of two), so it cannot become a QDQ scale");
}

Tensor narrow_to(const Tensor& q, DType t) {
  Tensor out = Tensor::empty(q.shape(), t);
  const int32_t* src = q.data<int32_t>();
  for (int64_t i = 0; i < q.numel(); ++i) {
    if (t == DType::s8) out.data<int8_t>()[i] = static_cast<int8_t>(src[i]);
    else out.data<int32_t>()[i] = src[i];
  }
  return out;
}
}  // namespace

ir::Graph fake_quant_to_qdq(const ir::Graph& qat_graph, const QdqOptions& options) {
  const ir::OpTable& ops = ops::op_table();
  ir::Graph g = qat_graph;
  std::vector<ir::ValueId> maybe_dead;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node fq = g.node(id);  // a copy: adding nodes may reallocate
    if (!is_fake_quant(fq)) continue;
    const ops::FakeQuantAttrs a = ops::fake_quant_attrs(fq);
    const ir::ValueId x = fq.inputs[0], y = fq.outputs[0];
    if (ir::is_graph_output(g, y))
      fail(ErrorKind::bad_input, "FakeQuantize ", fq.label(), " produces a graph output; QDQ conversion expects it inside");
    const Tensor scale = constant_scale(g, fq.inputs[1], fq);
    const ir::ValueId s = g.value(fq.inputs[1]).is_initializer()
                              ? fq.inputs[1]
                              : g.add_initializer(g.unique_value_name(g.value(fq.inputs[1]).name), scale, false);
    ir::ValueId zp = fq.inputs.size() > 2 ? fq.inputs[2] : ir::kNone;
    const DType zp_type = a.bits == 32 ? DType::s32 : a.is_signed ? DType::s8 : DType::u8;
    if (zp == ir::kNone)
      zp = g.add_initializer(g.unique_value_name(g.value(x).name + ".zero_point"), Tensor::zeros(scale.shape(), zp_type),
                             false);
    ir::Attributes axis;
    axis.set("axis", a.axis);
    const std::string base = g.value(x).name;
    const ir::ValueId dq = g.add_value(g.unique_value_name(base + ".dq"));
    if (g.value(x).is_initializer()) {
      // A weight or a bias: its integers become the initializer.
      const Tensor zp_t = g.value(zp).is_initializer() ? g.value(zp).data : Tensor();
      const Tensor q = ops::fake_quant_integers(fq, g.value(x).data, scale, zp_t);
      ir::ValueId qv;
      if (a.bits == 32) {
        qv = g.add_initializer(g.unique_value_name(base + ".quantized"), narrow_to(q, DType::s32), false);
      } else {
        const Tensor q8 = narrow_to(q, DType::s8);
        const bool fits4 = a.qmin >= -8 && a.qmax <= 7;
        if (options.pack_int4 && fits4) {
          const std::vector<uint8_t> packed = ops::pack_int4(q8.data<int8_t>(), q8.numel());
          Tensor p = Tensor::empty({static_cast<int64_t>(packed.size())}, DType::u8);
          std::copy(packed.begin(), packed.end(), p.data<uint8_t>());
          const ir::ValueId pv = g.add_initializer(g.unique_value_name(base + ".packed4"), p, false);
          qv = g.add_value(g.unique_value_name(base + ".quantized"));
          ir::Attributes ua;
          ua.set("shape", q8.shape());
          g.add_node("UnpackInt4", {pv}, {qv}, ua, g.unique_value_name(base + ".unpack"), ir::kLeancnnDomain);
        } else {
          qv = g.add_initializer(g.unique_value_name(base + ".quantized"), q8, false);
        }
      }
      g.add_node("DequantizeLinear", {qv, s, zp}, {dq}, axis, g.unique_value_name(base + ".dequantize"));
      maybe_dead.push_back(x);
    } else {
      // An activation: QuantizeLinear -> DequantizeLinear, clipped first to a narrower 2^b range.
      ir::ValueId src = x;
      if (a.bits < 8) {
        const int32_t z = g.value(zp).is_initializer() && g.value(zp).data.dtype() == DType::u8
                              ? g.value(zp).data.data<uint8_t>()[0]
                              : 0;
        if (scale.numel() != 1 || !g.value(zp).is_initializer())
          fail(ErrorKind::bad_input, "FakeQuantize ", fq.label(), ": a ", a.bits, "-bit activation needs a constant per-tensor scale");
        const float s0 = scale.at(0);
        const ir::ValueId lo = g.add_initializer(g.unique_value_name(base + ".clip_min"),
                                                 Tensor::from_floats({}, {static_cast<float>(a.qmin - z) * s0}), false);
        const ir::ValueId hi = g.add_initializer(g.unique_value_name(base + ".clip_max"),
                                                 Tensor::from_floats({}, {static_cast<float>(a.qmax - z) * s0}), false);
        src = g.add_value(g.unique_value_name(base + ".clipped"));
        g.add_node("Clip", {x, lo, hi}, {src}, {}, g.unique_value_name(base + ".clip"));
      }
      const ir::ValueId q = g.add_value(g.unique_value_name(base + ".q"));
      g.add_node("QuantizeLinear", {src, s, zp}, {q}, axis, g.unique_value_name(base + ".quantize"));
      g.add_node("DequantizeLinear", {q, s, zp}, {dq}, axis, g.unique_value_name(base + ".dequantize"));
    }
    for (ir::ValueId in : fq.inputs)
      if (in != ir::kNone) maybe_dead.push_back(in);
    g.remove_node(id);
    ir::replace_uses_except(g, y, dq, ir::kNone);
  }
  // The bias-scale Mul nodes are read by nothing now; then their inputs may be dead too.
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if (ir::is_onnx_op(n, "Mul") && g.consumers(n.outputs[0]).empty() && !ir::is_graph_output(g, n.outputs[0])) {
      for (ir::ValueId in : n.inputs) maybe_dead.push_back(in);
      g.remove_node(id);
    }
  }
  for (ir::ValueId v : maybe_dead) {
    ir::Value& val = g.value(v);
    if (val.is_initializer() && g.consumers(v).empty() && !ir::is_graph_output(g, v)) val.data = Tensor();
  }
  for (ir::ValueId v : g.initializers()) g.value(v).trainable = false;
  ir::infer_shapes(g, ops);
  ir::verify(g, ops);
  return g;
}

}  // namespace leancnn::compress::quantize
