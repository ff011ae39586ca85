// Post-training quantization: preparation (BN folding), layer and activation choice,
// calibration, the QDQ build, and empirical bias correction.
#include "leancnn/compress/quantize/ptq.h"

#include <algorithm>
#include <set>

#include "leancnn/compress/common/layers.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/inference_passes.h"
#include "qdq_builder.h"

namespace leancnn::compress::quantize {

namespace {
// Ops that only move or select values: their output lies on their input's quantization grid,
// so it reuses the input's parameters (the runtime then lowers them exactly on integers).
bool passes_grid_through(const ir::Node& n) {
  return ir::is_onnx_op(n, "MaxPool") || ir::is_onnx_op(n, "Flatten") || ir::is_onnx_op(n, "Reshape") || ir::is_onnx_op(n, "Transpose") ||
         ir::is_onnx_op(n, "Identity");
}

void log_line(const PtqOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}
}  // namespace

int64_t initializer_bytes(const ir::Graph& g) {
  int64_t bytes = 0;
  for (ir::ValueId v : g.initializers()) bytes += static_cast<int64_t>(g.value(v).data.nbytes());
  return bytes;
}

ir::Graph prepare_for_quantization(const ir::Graph& float_graph) {
  for (ir::NodeId id : float_graph.node_ids()) {
    const ir::Node& n = float_graph.node(id);
    if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear" || n.op_type == "FakeQuantize")
      fail(ErrorKind::bad_input, "the model is already quantized (", n.label(),
           "); post-training quantization needs a float model");
  }
  const ir::OpTable& ops = ops::op_table();
  ir::Graph g = float_graph;
  runtime::drop_identities(g, ops);
  runtime::fold_constants(g, ops);
  runtime::fold_batch_norm(g, ops);
  ir::infer_shapes(g, ops);
  return g;
}

QuantizableSet quantizable(const ir::Graph& prepared) {
  QuantizableSet s;
  std::set<std::string> seen;
  auto add_act = [&](ir::ValueId v) {
    const std::string& name = prepared.value(v).name;
    if (seen.insert(name).second) s.activations.push_back(name);
  };
  for (ir::NodeId id : prepared.topo_order()) {
    const ir::Node& n = prepared.node(id);
    if (!is_weight_layer(prepared, n)) continue;
    s.layers.push_back(n.name);
    add_act(n.inputs[0]);
    add_act(ir::activated_output(prepared, n));
  }
  return s;
}

namespace {

// Per-channel mean of E[W_q x] - E[W x] for every quantized layer: a copy of the QDQ graph gets,
// beside each quantized layer, the same Conv / Gemm on the same input with weights
// (W_q - W) and no bias; its outputs are averaged over the calibration images.
std::map<std::string, std::vector<double>> measure_bias_error(const detail::BuildOutput& b,
                                                             const std::vector<Tensor>& batches) {
  ir::Graph e = b.graph;
  const size_t first_extra = e.outputs().size();
  std::vector<std::string> names;
  for (const detail::BuiltLayer& l : b.built) {
    const ir::Node* layer = nullptr;
    for (ir::NodeId id : e.node_ids())
      if (e.node(id).name == l.name && (ir::is_onnx_op(e.node(id), "Conv") || ir::is_onnx_op(e.node(id), "Gemm"))) layer = &e.node(id);
    LEANCNN_CHECK(layer != nullptr, "layer '", l.name, "' missing from the built graph");
    const std::string op_type = layer->op_type;
    const ir::Attributes attrs = layer->attrs;
    Tensor dw = Tensor::empty(l.float_weight.shape());
    for (int64_t i = 0; i < dw.numel(); ++i) dw.data<float>()[i] = l.dequantized_weight.at(i) - l.float_weight.at(i);
    const ir::ValueId w = e.add_initializer(e.unique_value_name(l.name + "_weight_error"), dw, false);
    const ir::ValueId out = e.add_value(e.unique_value_name(l.name + "_output_error"));
    e.add_node(op_type, {l.input, w}, {out}, attrs, l.name + "_error");
    e.mark_output(out);
    names.push_back(l.name);
  }
  ir::infer_shapes(e, ops::op_table());
  runtime::Executor exec(e, ops::op_table());
  const std::string input = e.value(e.inputs()[0]).name;
  std::vector<std::vector<double>> sums(names.size());
  std::vector<int64_t> counts(names.size(), 0);
  for (const Tensor& batch : batches) {
    const std::vector<Tensor> outs = exec.forward({{input, batch}});
    for (size_t k = 0; k < names.size(); ++k) {
      const Tensor y = outs.at(first_extra + k).is_contiguous() ? outs[first_extra + k] : outs[first_extra + k].clone();
      const int64_t n = y.dim(0), c = y.dim(1), inner = y.numel() / std::max<int64_t>(n * c, 1);
      if (sums[k].empty()) sums[k].assign(static_cast<size_t>(c), 0.0);
      const float* p = y.data<float>();
      for (int64_t i = 0; i < n; ++i)
        for (int64_t ch = 0; ch < c; ++ch) {
          double s = 0;
          for (int64_t j = 0; j < inner; ++j) s += p[(i * c + ch) * inner + j];
          sums[k][ch] += s;
        }
      counts[k] += n * inner;
    }
  }
  std::map<std::string, std::vector<double>> delta;
  for (size_t k = 0; k < names.size(); ++k) {
    for (double& s : sums[k]) s /= static_cast<double>(std::max<int64_t>(counts[k], 1));
    delta[names[k]] = std::move(sums[k]);
  }
  return delta;
}

void validate(const PtqOptions& o) {
  auto bits_ok = [](int b) { return b == 0 || (b >= 2 && b <= 8); };
  if (!bits_ok(o.weight_bits) || o.weight_bits == 0)
    fail(ErrorKind::usage, "weight bits must be 2..8, got ", o.weight_bits);
  if (o.act_bits != 0 && o.act_bits != 8)
    fail(ErrorKind::usage, "activation bits must be 8 (u8, the QDQ contract) or 0 (float), got ", o.act_bits);
  for (const auto& [name, b] : o.layer_bits)
    if (!bits_ok(b)) fail(ErrorKind::usage, "layer '", name, "': bits must be 0 (float) or 2..8, got ", b);
  if (o.calib_images < 1) fail(ErrorKind::usage, "calibration images must be >= 1, got ", o.calib_images);
  if (o.calib_batch < 1) fail(ErrorKind::usage, "calibration batch must be >= 1, got ", o.calib_batch);
}

}  // namespace

PtqResult quantize_prepared(const ir::Graph& prepared, const Calibration& calibration, const std::vector<Tensor>& batches,
                            const PtqOptions& options, int64_t float_bytes) {
  validate(options);
  const QuantizableSet qs = quantizable(prepared);
  if (qs.layers.empty())
    fail(ErrorKind::bad_input, "the model has no layer to quantize (Conv, or Gemm with transB = 1, with f32 weights)");
  for (const auto& [name, b] : options.layer_bits)
    if (std::find(qs.layers.begin(), qs.layers.end(), name) == qs.layers.end())
      fail(ErrorKind::usage, "layer_bits names '", name, "', which is no quantizable layer of the model");

  detail::BuildInput in;
  in.prepared = &prepared;
  in.options = &options;
  for (const std::string& name : qs.layers) {
    auto it = options.layer_bits.find(name);
    in.layers[name] = {it == options.layer_bits.end() ? options.weight_bits : it->second, options.weight_scheme};
  }
  if (options.act_bits > 0) {
    // Each quantized layer's input and (activated) output, with parameters from calibration, or
    // from the nearest quantized ancestor through grid-preserving ops.
    std::set<std::string> wanted;
    for (ir::NodeId id : prepared.topo_order()) {
      const ir::Node& n = prepared.node(id);
      if (!is_weight_layer(prepared, n) || in.layers.at(n.name).bits == 0) continue;
      wanted.insert(prepared.value(n.inputs[0]).name);
      wanted.insert(prepared.value(ir::activated_output(prepared, n)).name);
    }
    for (const std::string& name : wanted) {
      ir::ValueId v = prepared.find_value(name);
      std::string source = name;
      for (ir::ValueId u = v; u != ir::kNone && prepared.value(u).producer != ir::kNone;) {
        const ir::Node& p = prepared.node(prepared.value(u).producer);
        if (!passes_grid_through(p)) break;
        u = p.inputs.at(0);
        if (wanted.count(prepared.value(u).name)) {
          source = prepared.value(u).name;
          break;
        }
      }
      auto obs = calibration.observers.find(source);
      if (obs == calibration.observers.end())
        fail(ErrorKind::internal, "no calibration for activation '", source, "'");
      in.activations[name] = obs->second.params(activation_grid(options.act_bits));
    }
  }

  detail::BuildOutput built = detail::build_qdq(in);
  if (options.bias_correction) {
    if (batches.empty()) fail(ErrorKind::usage, "bias correction needs calibration images");
    log_line(options, "bias correction: measuring E[W_q x] - E[W x] per channel");
    in.bias_delta = measure_bias_error(built, batches);
    built = detail::build_qdq(in);
  }
  PtqResult r;
  r.graph = std::move(built.graph);
  r.layers = std::move(built.layers);
  r.quantized_activations = built.quantize_nodes;
  r.float_bytes = float_bytes;
  r.bytes = initializer_bytes(r.graph);
  return r;
}

namespace {
PtqResult calibrate_and_quantize(const ir::Graph& prepared, const QuantizableSet& qs, const std::vector<Tensor>& batches,
                                 const PtqOptions& options, int64_t float_bytes) {
  Calibration cal;
  if (options.act_bits > 0 || options.bias_correction) {
    int64_t images = 0;
    for (const Tensor& b : batches) images += b.shape().at(0);
    log_line(options, "calibrating " + std::to_string(qs.activations.size()) + " activations (" +
                          range_method_name(options.act_observer.method) + ") on " + std::to_string(images) + " images");
    const std::vector<std::string> none;
    cal = calibrate(prepared, options.act_bits > 0 ? qs.activations : none, batches, options.act_observer);
  }
  return quantize_prepared(prepared, cal, batches, options, float_bytes);
}
}  // namespace

PtqResult quantize_post_training(const ir::Graph& float_graph, const train::Dataset& calib, const PtqOptions& options) {
  validate(options);
  const ir::Graph prepared = prepare_for_quantization(float_graph);
  const QuantizableSet qs = quantizable(prepared);
  if (qs.layers.empty())
    fail(ErrorKind::bad_input, "the model has no layer to quantize (Conv, or Gemm with transB = 1, with f32 weights)");
  std::vector<Tensor> batches;
  if (options.act_bits > 0 || options.bias_correction)
    batches = calibration_batches(calib, options.calib_images, options.calib_batch, options.seed);
  return calibrate_and_quantize(prepared, qs, batches, options, initializer_bytes(float_graph));
}

PtqResult quantize_post_training(const ir::Graph& float_graph, const std::vector<Tensor>& batches, const PtqOptions& options) {
  validate(options);
  const ir::Graph prepared = prepare_for_quantization(float_graph);
  const QuantizableSet qs = quantizable(prepared);
  if (qs.layers.empty())
    fail(ErrorKind::bad_input, "the model has no layer to quantize (Conv, or Gemm with transB = 1, with f32 weights)");
  if ((options.act_bits > 0 || options.bias_correction) && batches.empty())
    fail(ErrorKind::usage, "activation quantization and bias correction need calibration inputs");
  return calibrate_and_quantize(prepared, qs, batches, options, initializer_bytes(float_graph));
}

}  // namespace leancnn::compress::quantize
