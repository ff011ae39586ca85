// The QDQ graph builder: a node-by-node copy of the float graph with quantizers inserted.
#include "qdq_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "leancnn/compress/common/layers.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/quant_math.h"

namespace leancnn::compress::quantize::detail {

namespace {
bool f32_initializer(const ir::Graph& g, ir::ValueId v) {
  return v != ir::kNone && g.value(v).is_initializer() && g.value(v).data.dtype() == DType::f32;
}

}  // namespace

namespace {

Tensor scalar_f32(float v) { return Tensor::from_floats({}, {v}); }

// prefix + number, built by append: g++ 12 reports a false -Wrestrict on "literal" + std::string.
std::string tag(const char* prefix, int number) { return std::string(prefix).append(std::to_string(number)); }

class Builder {
 public:
  explicit Builder(const BuildInput& in) : in_(in), g_(*in.prepared), o_(*in.options), rng_(in.options->seed ^ 0x77ULL) {
    map_.assign(static_cast<size_t>(g_.num_values()), ir::kNone);
    out_.graph.name = g_.name;
  }

  BuildOutput run() {
    ir::Graph& h = out_.graph;
    for (ir::ValueId v : g_.inputs()) {
      const ir::Value& val = g_.value(v);
      map_[v] = h.add_input(val.name, val.shape, val.dtype);
      maybe_quantize(v);
    }
    for (ir::NodeId id : g_.topo_order()) copy_node(g_.node(id));
    for (ir::ValueId v : g_.outputs()) h.mark_output(mapped(v));
    ir::infer_shapes(h, ops::op_table());
    ir::verify(h, ops::op_table());
    return std::move(out_);
  }

 private:
  // A value name used by neither graph.
  std::string fresh(const std::string& base) const {
    std::string name = base;
    for (int i = 1; out_.graph.find_value(name) != ir::kNone || g_.find_value(name) != ir::kNone; ++i)
      name = base + "_" + std::to_string(i);
    return name;
  }

  ir::ValueId constant(const std::string& base, Tensor t) { return out_.graph.add_initializer(fresh(base), std::move(t), false); }
  // An initializer that replaces the float one of the same name (which the built graph lacks).
  ir::ValueId replacement(const std::string& name, Tensor t) {
    const bool free = out_.graph.find_value(name) == ir::kNone;
    return out_.graph.add_initializer(free ? name : fresh(name), std::move(t), false);
  }

  // The built graph's value for v (initializers are copied on first use).
  ir::ValueId mapped(ir::ValueId v) {
    if (v == ir::kNone) return ir::kNone;
    if (map_[v] == ir::kNone) {
      const ir::Value& val = g_.value(v);
      LEANCNN_CHECK(val.is_initializer(), "value '", val.name, "' used before it is produced");
      const bool free = out_.graph.find_value(val.name) == ir::kNone;
      map_[v] = out_.graph.add_initializer(free ? val.name : fresh(val.name), val.data, val.trainable);
    }
    return map_[v];
  }

  // x -> QuantizeLinear -> DequantizeLinear; the DQ output gets `out_name` (empty: fresh).
  // Inserted nodes have no names and their values short ones (s7, z7, q7, d7): with ~10 uses of
  // each name per quantized tensor, names are a visible part of a small model's file.
  ir::ValueId add_qdq(ir::ValueId x, const QuantParams& p, const std::string& out_name) {
    ir::Graph& h = out_.graph;
    const int id = next_id_++;
    const ir::ValueId scale = constant(tag("s", id), scalar_f32(p.scale.at(0)));
    const ir::ValueId zp = constant(tag("z", id), Tensor::from_ints({}, {p.zero_point.at(0)}, DType::u8));
    const ir::ValueId q = h.add_value(fresh(tag("q", id)));
    h.add_node("QuantizeLinear", {x, scale, zp}, {q});
    const ir::ValueId dq = h.add_value(out_name.empty() ? fresh(tag("d", id)) : out_name);
    h.add_node("DequantizeLinear", {q, scale, zp}, {dq});
    ++out_.quantize_nodes;
    return dq;
  }

  void maybe_quantize(ir::ValueId v, const std::string& out_name = "") {
    const std::string& name = g_.value(v).name;
    auto it = in_.activations.find(name);
    if (it == in_.activations.end()) return;
    map_[v] = add_qdq(map_[v], it->second, out_name);
  }

  // Short names of a quantized layer's inserted values: "L3w", "L3ws", ... (layer 3).
  std::string layer_prefix() const { return tag("L", static_cast<int>(out_.built.size())); }

  // DequantizeLinear(quantized weights) for a layer; fills `params`, `report` and `built`.
  ir::ValueId quantize_weight(const ir::Node& n, const LayerChoice& c, QuantParams& params, LayerReport& report,
                              BuiltLayer& built) {
    const std::string layer_id = layer_prefix();
    const ir::Value& wv = g_.value(n.inputs[1]);
    const Tensor& w = wv.data;
    const int64_t axis = o_.per_channel ? 0 : -1;
    Tensor q;
    if (c.scheme == WeightScheme::log2) {
      LogQuantized lq = log2_quantize(w, axis);
      q = lq.q;
      params = lq.params;
    } else {
      ObserverOptions oo;
      oo.method = o_.weight_method;
      oo.axis = axis;
      Observer obs(oo);
      obs.observe(w);
      params = obs.params(weight_grid(c.bits));
      Rng layer_rng = rng_.split();
      q = quantize_tensor(w, params, o_.rounding, &layer_rng);
    }
    built.float_weight = w;
    built.dequantized_weight = dequantize_tensor(q, params);
    report.weight_sqnr_db = sqnr_db(w, built.dequantized_weight);

    ir::Graph& h = out_.graph;
    ir::ValueId qv;
    if (c.scheme == WeightScheme::uniform && c.bits <= 4 && o_.pack_int4) {
      const std::vector<uint8_t> packed = ops::pack_int4(q.data<int8_t>(), q.numel());
      Tensor pk = Tensor::empty({static_cast<int64_t>(packed.size())}, DType::u8);
      std::memcpy(pk.raw(), packed.data(), packed.size());
      const ir::ValueId pv = replacement(wv.name, pk);
      qv = h.add_value(fresh(layer_id + "u"));
      ir::Attributes a;
      a.set("shape", std::vector<int64_t>(w.shape().begin(), w.shape().end()));
      h.add_node("UnpackInt4", {pv}, {qv}, a, "", ir::kLeancnnDomain);
    } else {
      qv = replacement(wv.name, q);
    }
    const int64_t channels = static_cast<int64_t>(params.scale.size());
    ir::ValueId scale, zp;
    ir::Attributes a;
    if (axis < 0) {
      scale = constant(layer_id + "ws", scalar_f32(params.scale[0]));
      zp = constant(layer_id + "wz", Tensor::from_ints({}, {0}, DType::s8));
    } else {
      scale = constant(layer_id + "ws", Tensor::from_floats({channels}, params.scale));
      zp = constant(layer_id + "wz", Tensor::zeros({channels}, DType::s8));
      a.set("axis", int64_t{0});
    }
    const ir::ValueId out = h.add_value(fresh(layer_id + "w"));
    h.add_node("DequantizeLinear", {qv, scale, zp}, {out}, a);
    return out;
  }

  // The bias (corrected) as f32, or through DequantizeLinear of s32 when the input is quantized.
  ir::ValueId quantize_bias(const ir::Node& n, const QuantParams& wp, const QuantParams* input, LayerReport& report) {
    const std::string layer_id = layer_prefix();
    const int64_t oc = g_.value(n.inputs[1]).data.dim(0);
    const bool has_bias = n.inputs.size() > 2 && n.inputs[2] != ir::kNone;
    auto delta_it = in_.bias_delta.find(n.name);
    const std::vector<double>* delta = delta_it == in_.bias_delta.end() ? nullptr : &delta_it->second;
    if (!has_bias && !delta) return ir::kNone;
    if (has_bias && (!f32_initializer(g_, n.inputs[2]) || g_.value(n.inputs[2]).data.numel() != oc))
      return mapped(n.inputs[2]);  // an unusual bias stays as it is (float)
    std::vector<float> b(static_cast<size_t>(oc), 0.f);
    if (has_bias)
      for (int64_t c = 0; c < oc; ++c) b[c] = g_.value(n.inputs[2]).data.at(c);
    if (delta) {
      for (int64_t c = 0; c < oc; ++c) {
        b[c] = static_cast<float>(b[c] - (*delta)[c]);
        report.bias_correction = std::max(report.bias_correction, std::fabs((*delta)[c]));
      }
    }
    const std::string base = has_bias ? g_.value(n.inputs[2]).name : n.name + ".bias";
    if (!input) return replacement(base, Tensor::from_floats({oc}, b));
    // s32 bias in units of input_scale * weight_scale (the product in f32, as the kernels form it).
    std::vector<float> bs(static_cast<size_t>(oc));
    std::vector<int64_t> bq(static_cast<size_t>(oc));
    for (int64_t c = 0; c < oc; ++c) {
      bs[c] = input->scale[0] * wp.scale[wp.scale.size() == 1 ? 0 : c];
      const double v = std::nearbyint(static_cast<double>(b[c]) / static_cast<double>(bs[c]));
      bq[c] = static_cast<int64_t>(std::clamp(v, -2147483647.0, 2147483647.0));
    }
    const ir::ValueId qv = replacement(base, Tensor::from_ints({oc}, bq, DType::s32));
    const ir::ValueId scale = constant(layer_id + "bs", Tensor::from_floats({oc}, bs));
    // The zero point is omitted: ONNX's default is 0 of the input's type, which an s32 bias
    // needs anyway, and an [oc] s32 tensor of zeros would cost 4 bytes per channel in the file.
    ir::Attributes a;
    a.set("axis", int64_t{0});
    const ir::ValueId out = out_.graph.add_value(fresh(layer_id + "b"));
    out_.graph.add_node("DequantizeLinear", {qv, scale}, {out}, a);
    return out;
  }

  void copy_node(const ir::Node& n) {
    auto layer_it = is_weight_layer(g_, n) ? in_.layers.find(n.name) : in_.layers.end();
    const bool quantized = layer_it != in_.layers.end() && layer_it->second.bits > 0;
    std::vector<ir::ValueId> inputs;
    for (size_t i = 0; i < n.inputs.size(); ++i)  // a quantized layer's float weight and bias are not copied
      inputs.push_back(quantized && i >= 1 ? ir::kNone : mapped(n.inputs[i]));
    if (layer_it != in_.layers.end()) {
      LayerReport r;
      r.name = n.name;
      r.op_type = n.op_type;
      r.params = g_.value(n.inputs[1]).data.numel();
      const ir::OpSchema& schema = ops::op_table().get(n);
      if (schema.macs) {
        std::vector<const ir::Value*> ins, outs;
        for (ir::ValueId v : n.inputs) ins.push_back(v == ir::kNone ? nullptr : &g_.value(v));
        for (ir::ValueId v : n.outputs) outs.push_back(&g_.value(v));
        r.macs = schema.macs(n, ins, outs);
      }
      const LayerChoice& c = layer_it->second;
      r.weight_bits = c.bits;
      r.scheme = c.bits == 0 ? "float" : c.scheme == WeightScheme::log2 ? "log2" : "uniform";
      if (c.bits > 0) {
        BuiltLayer built;
        built.name = n.name;
        built.input = inputs[0];
        QuantParams wp;
        inputs[1] = quantize_weight(n, c, wp, r, built);
        auto in_it = in_.activations.find(g_.value(n.inputs[0]).name);
        const QuantParams* ip = in_it == in_.activations.end() ? nullptr : &in_it->second;
        if (ip) r.input_scale = ip->scale[0], r.input_zero_point = ip->zero_point[0];
        const ir::ValueId b = quantize_bias(n, wp, ip, r);
        if (b != ir::kNone) {
          if (inputs.size() < 3) inputs.resize(3, ir::kNone);
          inputs[2] = b;
        }
        auto out_it = in_.activations.find(g_.value(ir::activated_output(g_, n)).name);
        if (out_it != in_.activations.end()) r.output_scale = out_it->second.scale[0], r.output_zero_point = out_it->second.zero_point[0];
        out_.built.push_back(std::move(built));
      }
      out_.layers.push_back(std::move(r));
    }
    while (!inputs.empty() && inputs.back() == ir::kNone) inputs.pop_back();
    ir::Graph& h = out_.graph;
    std::vector<ir::ValueId> outputs;
    for (ir::ValueId v : n.outputs) {
      const std::string& name = g_.value(v).name;
      // A quantized value's name goes to its DequantizeLinear output (what readers see); the
      // float value before the quantizer gets a short one.
      map_[v] = h.add_value(in_.activations.count(name) ? fresh(tag("f", next_id_)) : name);
      outputs.push_back(map_[v]);
    }
    h.add_node(n.op_type, inputs, outputs, n.attrs, n.name, n.domain);
    for (ir::ValueId v : n.outputs) maybe_quantize(v, g_.value(v).name);
  }

  const BuildInput& in_;
  const ir::Graph& g_;
  const PtqOptions& o_;
  Rng rng_;
  std::vector<ir::ValueId> map_;
  BuildOutput out_;
  int next_id_ = 0;  // numbers the short names of inserted values
};

}  // namespace

BuildOutput build_qdq(const BuildInput& in) {
  LEANCNN_CHECK(in.prepared && in.options);
  return Builder(in).run();
}

}  // namespace leancnn::compress::quantize::detail
