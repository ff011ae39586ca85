// NISP (Yu et al. 2018, "NISP: Pruning Networks using Neuron Importance Score Propagation"):
// the importance of the final response layer's neurons is propagated back to every earlier
// neuron through the absolute weights, s_k = |W_{k+1}|^T s_{k+1} (activations ignored, BN taken
// as its per-channel scale), and a channel's score is the sum of its neurons' scores.
//
// That propagation is the backward pass of a linearised copy of the network: every Conv/Gemm
// weight replaced by its absolute value, every BatchNormalization by a Mul with |γ / sqrt(var +
// eps)|, every ReLU-like activation by a Mul with 1, seeded with 1 at each graph output (every
// class equally important: the paper ranks the final responses with Inf-FS; with a classifier's
// logits as the final layer we take them as equal). Each watched channel gets a zero "probe"
// bias added after it, whose gradient is the sum of the propagated scores over its positions.
// The engine's own backward does the propagation, so residual Adds, Concat/Split, depthwise
// convs, pools, Flatten and channel shuffles need no code of their own here.
#include <cmath>
#include <map>

#include "criteria.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/inference_passes.h"

namespace leancnn::compress::structured::detail {

namespace {

// Per-channel shape that broadcasts against a value of rank `rank` along dim 1: [C, 1, ...].
Shape channel_shape(int64_t c, int rank) {
  Shape s{c};
  for (int i = 2; i < rank; ++i) s.push_back(1);
  return s;
}

// Replaces node `id` by Mul(input, factor) writing the same output value.
void replace_by_mul(ir::Graph& g, ir::NodeId id, Tensor factor) {
  const ir::Node n = g.node(id);
  const ir::ValueId f = g.add_initializer(g.unique_value_name(n.name + ".nisp_scale"), std::move(factor), false);
  g.remove_node(id);
  g.add_node("Mul", {n.inputs[0], f}, {n.outputs[0]}, {}, n.name + ".nisp");
}

// The linearised copy described above (weights |W|, BN as |scale|, activations as identity).
ir::Graph linearise(const ir::Graph& g) {
  ir::Graph lin = ir::with_own_initializers(g);
  runtime::drop_identities(lin, ops::op_table());  // Dropout
  for (ir::ValueId v : lin.initializers()) lin.value(v).trainable = false;
  for (ir::NodeId id : lin.topo_order()) {
    const ir::Node& n = lin.node(id);
    if ((ir::is_onnx_op(n, "Conv") || ir::is_onnx_op(n, "Gemm")) && n.inputs.size() > 1 &&
        lin.value(n.inputs[1]).is_initializer()) {
      const Tensor& w = lin.value(n.inputs[1]).data;
      float* p = w.data<float>();
      for (int64_t i = 0; i < w.numel(); ++i) p[i] = std::fabs(p[i]);
    } else if (ir::is_onnx_op(n, "BatchNormalization")) {
      const ir::Value& x = lin.value(n.inputs[0]);
      const Tensor& gamma = lin.value(n.inputs[1]).data;
      const Tensor& var = lin.value(n.inputs[4]).data;
      if (!gamma.defined() || !var.defined() || !x.shape_known)
        fail(ErrorKind::bad_input, "nisp: BatchNormalization ", n.label(), " has non-constant parameters or an unknown input shape");
      const double eps = n.attrs.get_float("epsilon", 1e-5f);
      const int64_t c = gamma.numel();
      Tensor s = Tensor::empty(channel_shape(c, static_cast<int>(x.shape.size())));
      for (int64_t i = 0; i < c; ++i)
        s.data<float>()[i] = static_cast<float>(std::fabs(gamma.data<float>()[i]) / std::sqrt(var.data<float>()[i] + eps));
      replace_by_mul(lin, id, std::move(s));
    } else if (ir::is_onnx_op(n, "Relu") || ir::is_onnx_op(n, "Clip") || ir::is_onnx_op(n, "LeakyRelu")) {
      Tensor one = Tensor::empty({1});
      one.data<float>()[0] = 1.f;
      replace_by_mul(lin, id, std::move(one));
    }
  }
  ir::infer_shapes(lin, ops::op_table());
  return lin;
}

}  // namespace

std::vector<double> nisp_scores(const ir::Graph& g, const ChannelGraph& cg) {
  const std::map<ir::ValueId, std::vector<int>> watch = watched_channels(g, cg);
  ir::Graph lin = linearise(g);
  std::map<ir::ValueId, std::string> probes;
  for (auto& [v, chans] : watch) {
    const ir::Value& val = lin.value(v);
    const std::string name = lin.unique_value_name(val.name + ".nisp_probe");
    const ir::ValueId probe =
        lin.add_initializer(name, Tensor::zeros(channel_shape(static_cast<int64_t>(chans.size()), static_cast<int>(val.shape.size()))), true);
    const ir::ValueId probed = lin.add_value(lin.unique_value_name(val.name + ".nisp"));
    ir::replace_uses(lin, v, probed);
    lin.add_node("Add", {v, probe}, {probed}, {}, name);
    probes[v] = name;
  }
  ir::infer_shapes(lin, ops::op_table());
  runtime::ExecutorOptions eo;
  eo.training = true;
  runtime::Executor exec(lin, ops::op_table(), eo);
  std::map<std::string, Tensor> feeds;
  for (ir::ValueId in : lin.inputs()) {
    Shape s = lin.value(in).shape;
    if (s.empty()) fail(ErrorKind::bad_input, "nisp: the model's input '", lin.value(in).name, "' has no shape");
    s[0] = 1;
    feeds[lin.value(in).name] = Tensor::full(s, 1.f);
  }
  const std::vector<Tensor> outs = exec.forward(feeds);
  std::map<ir::ValueId, Tensor> seeds;
  for (size_t i = 0; i < outs.size(); ++i) seeds[lin.outputs()[i]] = Tensor::full(outs[i].shape(), 1.f);
  exec.backward(seeds);
  std::vector<double> scores(cg.units.size(), 0.0);
  for (auto& [v, chans] : watch) {
    const runtime::Param& p = exec.param(probes[v]);
    for (size_t c = 0; c < chans.size(); ++c)
      if (chans[c] >= 0 && p.grad.defined()) scores[static_cast<size_t>(chans[c])] += p.grad.data<float>()[c];
  }
  return scores;
}

}  // namespace leancnn::compress::structured::detail
