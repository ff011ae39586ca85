// The binarization family: methods, fake-binarize insertion and the run (binarize.h).
#include "leancnn/compress/binarize/binarize.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "leancnn/compress/common/layers.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/binary_net.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::binarize {

Method parse_method(const std::string& name) {
  if (name == "binaryconnect") return Method::binaryconnect;
  if (name == "binaryconnect_stochastic") return Method::binaryconnect_stochastic;
  if (name == "bnn") return Method::bnn;
  if (name == "xnor") return Method::xnor;
  if (name == "irnet") return Method::irnet;
  if (name == "twn") return Method::twn;
  fail(ErrorKind::usage, "unknown binarization method '", name,
       "' (binaryconnect, binaryconnect_stochastic, bnn, xnor, irnet or twn)");
}

const char* method_name(Method m) {
  switch (m) {
    case Method::binaryconnect: return "binaryconnect";
    case Method::binaryconnect_stochastic: return "binaryconnect_stochastic";
    case Method::bnn: return "bnn";
    case Method::xnor: return "xnor";
    case Method::irnet: return "irnet";
    default: return "twn";
  }
}

bool binarizes_activations(Method m) { return m == Method::bnn || m == Method::xnor || m == Method::irnet; }
int weight_bits(Method m) { return m == Method::twn ? 2 : 1; }

namespace {
ops::BinarizeMethod weight_method(Method m) {
  switch (m) {
    case Method::binaryconnect:
    case Method::bnn: return ops::BinarizeMethod::sign;
    case Method::binaryconnect_stochastic: return ops::BinarizeMethod::stochastic;
    case Method::xnor: return ops::BinarizeMethod::xnor;
    case Method::irnet: return ops::BinarizeMethod::irnet;
    default: return ops::BinarizeMethod::ternary;
  }
}

bool clips_latent(const Spec& s) {
  if (s.clip_latent >= 0) return s.clip_latent == 1;
  return s.method == Method::binaryconnect || s.method == Method::binaryconnect_stochastic || s.method == Method::bnn;
}

void check_spec(const ir::Graph& g, const Spec& s) {
  if (!(s.ede_t > 0.f) || !(s.ede_k > 0.f)) fail(ErrorKind::usage, "binarize: ede_t and ede_k must be > 0");
  for (const std::string& name : s.exclude) {
    bool found = false;
    for (ir::NodeId id : g.node_ids()) found = found || g.node(id).name == name;
    if (!found) fail(ErrorKind::usage, "binarize: excluded layer '", name, "' is not a node of the model");
  }
}

// Rewires Relu r's readers to its input and removes it.
void drop_relu_node(ir::Graph& g, ir::NodeId r) {
  const ir::ValueId in = g.node(r).inputs[0], out = g.node(r).outputs[0];
  g.remove_node(r);
  ir::replace_uses(g, out, in);
}
}  // namespace

ir::Graph insert_fake_binarize(const ir::Graph& float_graph, const Spec& spec, std::vector<LayerReport>* reports,
                               int64_t* relu_dropped) {
  check_spec(float_graph, spec);
  ir::Graph g = ir::with_own_initializers(float_graph);
  const std::vector<ir::NodeId> layers = weight_layers(g);
  if (layers.empty()) fail(ErrorKind::bad_input, "binarize: the model has no Conv or Gemm with constant weights");
  const std::set<std::string> excluded(spec.exclude.begin(), spec.exclude.end());
  const bool acts = binarizes_activations(spec.method);
  const ops::BinarizeMethod wm = weight_method(spec.method);
  std::map<ir::ValueId, ir::ValueId> binarized_input;  // x -> Binarize(x)
  int64_t dropped = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const ir::NodeId id = layers[i];
    LayerReport lr;
    lr.layer = g.node(id).name;
    lr.params = g.value(g.node(id).inputs[1]).data.numel();
    if (spec.keep_first_last && (i == 0 || i + 1 == layers.size()))
      lr.kept_why = i == 0 ? "first layer (kept f32)" : "last layer (kept f32)";
    else if (excluded.count(lr.layer))
      lr.kept_why = "excluded";
    if (!lr.kept_why.empty()) {
      if (reports) reports->push_back(lr);
      continue;
    }
    // Weights: FakeBinarize on the latent f32 tensor.
    const ir::ValueId w = g.node(id).inputs[1];
    g.value(w).trainable = true;
    ir::Attributes a;
    a.set("method", std::string(ops::binarize_method_name(wm)));
    if (wm == ops::BinarizeMethod::irnet) {
      a.set("ede_t", spec.ede_t);
      a.set("ede_k", spec.ede_k);
    }
    const std::string wname = g.value(w).name;
    const ir::ValueId wb = g.add_value(g.unique_value_name(wname + ".binary"));
    g.add_node("FakeBinarize", {w}, {wb}, a, g.unique_value_name(wname + ".binarize"), ir::kLeancnnDomain);
    g.node(id).inputs[1] = wb;
    lr.binarized = true;
    lr.weight_bits = weight_bits(spec.method);
    // Activations: Binarize on the input (one per value, shared by its readers).
    if (acts) {
      ir::ValueId x = g.node(id).inputs[0];
      if (spec.drop_relu && g.value(x).producer != ir::kNone && ir::is_onnx_op(g.node(g.value(x).producer), "Relu")) {
        const ir::ValueId before = g.node(g.value(x).producer).inputs[0];
        drop_relu_node(g, g.value(x).producer);
        x = before;
        ++dropped;
      }
      auto it = binarized_input.find(x);
      if (it == binarized_input.end()) {
        ir::Attributes ba;
        ba.set("scale", std::string(spec.method == Method::xnor ? "mean_abs" : "none"));
        const std::string xname = g.value(x).name;
        const ir::ValueId xb = g.add_value(g.unique_value_name(xname + ".sign"));
        g.add_node("Binarize", {x}, {xb}, ba, g.unique_value_name(xname + ".binarize"), ir::kLeancnnDomain);
        it = binarized_input.emplace(x, xb).first;
      }
      g.node(id).inputs[0] = it->second;
      lr.input_bits = 1;
    }
    if (reports) reports->push_back(lr);
  }
  if (relu_dropped) *relu_dropped = dropped;
  const ir::OpTable& ops = ops::op_table();
  ir::infer_shapes(g, ops);
  ir::verify(g, ops);
  return g;
}

Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
           const Spec& spec) {
  Report r;
  ir::Graph model = insert_fake_binarize(float_graph, spec, &r.layers, &r.relu_dropped);
  for (const LayerReport& l : r.layers) r.binarized += l.binarized;
  if (r.binarized == 0) fail(ErrorKind::bad_input, "binarize: no layer left to binarize (first/last kept, the rest excluded)");
  if (spec.log) {
    char line[240];
    std::snprintf(line, sizeof line, "binarize: %s, %lld of %zu weight layers binarized%s, %lld Relu removed",
                  method_name(spec.method), static_cast<long long>(r.binarized), r.layers.size(),
                  binarizes_activations(spec.method) ? " (weights and inputs)" : " (weights)",
                  static_cast<long long>(r.relu_dropped));
    spec.log(line);
  }
  if (spec.train.epochs > 0) {
    train::TrainHooks hooks;
    if (clips_latent(spec)) {
      std::set<std::string> latent;
      for (ir::NodeId id : model.node_ids()) {
        const ir::Node& n = model.node(id);
        if (n.domain == ir::kLeancnnDomain && n.op_type == "FakeBinarize") latent.insert(model.value(n.inputs[0]).name);
      }
      hooks.after_step.push_back([latent](std::vector<runtime::Param>& params) {
        for (runtime::Param& p : params) {
          if (!latent.count(p.name)) continue;
          float* v = p.value.data<float>();
          for (int64_t i = 0; i < p.value.numel(); ++i) v[i] = std::clamp(v[i], -1.f, 1.f);
        }
      });
    }
    r.train = train::train_model(model, ops::op_table(), train_set, test_set, spec.train, hooks);
    r.interrupted = r.train.interrupted;
  }
  r.trained = model;
  if (r.interrupted) return r;
  r.graph = pack_binary(model);
  return r;
}

}  // namespace leancnn::compress::binarize
