// Forward/backward executor over the graph IR.
#include "leancnn/runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/core/log.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/kernel.h"

namespace leancnn::runtime {

namespace {
bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

void add_into(const Tensor& acc, const Tensor& g) {
  if (acc.shape() != g.shape())
    fail(ErrorKind::internal, "gradient shapes differ: ", shape_str(acc.shape()), " vs ", shape_str(g.shape()));
  float* a = acc.data<float>();
  const float* b = g.data<float>();
  for (int64_t i = 0, n = acc.numel(); i < n; ++i) a[i] += b[i];
}
}  // namespace

Executor::Executor(ir::Graph& graph, const ir::OpTable& ops, ExecutorOptions options)
    : g_(graph), ops_(ops), options_(options), rng_(options.seed) {
  ir::verify(g_, ops_);
  order_ = g_.topo_order();
  const int nv = g_.num_values();
  last_use_.assign(nv, -1);
  for (int pos = 0; pos < static_cast<int>(order_.size()); ++pos)
    for (ir::ValueId v : g_.node(order_[pos]).inputs)
      if (v != ir::kNone) last_use_[v] = pos;
  for (ir::ValueId v : g_.outputs()) last_use_[v] = static_cast<int>(order_.size());

  // A value needs a gradient when it is a trainable parameter or depends on one through a
  // differentiable input slot.
  requires_grad_.assign(nv, false);
  for (ir::ValueId v : g_.initializers()) requires_grad_[v] = g_.value(v).trainable;
  for (ir::NodeId id : order_) {
    const ir::Node& n = g_.node(id);
    const ir::OpSchema& s = ops_.get(n);
    bool any = false;
    for (int i = 0; i < static_cast<int>(n.inputs.size()); ++i)
      if (n.inputs[i] != ir::kNone && requires_grad_[n.inputs[i]] && !contains(s.non_differentiable_inputs, i))
        any = true;
    if (any && s.backward)
      for (ir::ValueId o : n.outputs) requires_grad_[o] = true;
  }
  for (ir::ValueId v : g_.initializers())
    if (g_.value(v).trainable) params_.push_back({g_.value(v).name, v, g_.value(v).data, Tensor()});
  values_.resize(nv);
  saved_.resize(g_.num_node_slots());
}

void Executor::check_feed(ir::ValueId input, const Tensor& t) const {
  const ir::Value& v = g_.value(input);
  bool ok = t.dtype() == v.dtype && t.rank() == static_cast<int>(v.shape.size());
  for (size_t i = 1; ok && i < v.shape.size(); ++i) ok = t.shape()[i] == v.shape[i];
  if (!ok)
    fail(ErrorKind::bad_input, "input '", v.name, "' expects ", dtype_name(v.dtype), " ", shape_str(v.shape),
         " (any batch size), got ", dtype_name(t.dtype()), " ", shape_str(t.shape()));
  if (!t.is_contiguous()) fail(ErrorKind::bad_input, "input '", v.name, "' must be contiguous");
}

std::vector<ir::TensorType> Executor::infer_runtime(const ir::Node& n) const {
  // Shape inference on the actual tensors of this run (the batch may differ from the graph's).
  std::vector<ir::Value> tmp(n.inputs.size());
  std::vector<const ir::Value*> in(n.inputs.size(), nullptr);
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] == ir::kNone) continue;
    const ir::Value& gv = g_.value(n.inputs[i]);
    tmp[i].id = gv.id;
    tmp[i].name = gv.name;
    tmp[i].data = gv.data;
    const Tensor& t = values_[n.inputs[i]];
    tmp[i].shape = t.shape();
    tmp[i].dtype = t.dtype();
    tmp[i].shape_known = true;
    in[i] = &tmp[i];
  }
  try {
    return ops_.get(n).infer(n, in);
  } catch (Error& e) {
    e.add_context(n.label());
    throw;
  }
}

std::vector<Tensor> Executor::forward(const std::map<std::string, Tensor>& feeds) {
  std::fill(values_.begin(), values_.end(), Tensor());
  for (auto& s : saved_) s.clear();
  for (ir::ValueId v : g_.initializers()) values_[v] = g_.value(v).data;
  for (ir::ValueId in : g_.inputs()) {
    const std::string& name = g_.value(in).name;
    auto it = feeds.find(name);
    if (it == feeds.end()) fail(ErrorKind::bad_input, "graph input '", name, "' was not fed");
    check_feed(in, it->second);
    values_[in] = it->second;
  }
  for (const auto& [name, t] : feeds)
    if (g_.find_value(name) == ir::kNone ||
        std::find(g_.inputs().begin(), g_.inputs().end(), g_.find_value(name)) == g_.inputs().end())
      fail(ErrorKind::bad_input, "'", name, "' is not an input of the graph");

  for (int pos = 0; pos < static_cast<int>(order_.size()); ++pos) {
    const ir::Node& n = g_.node(order_[pos]);
    const ir::OpSchema& schema = ops_.get(n);
    std::vector<ir::TensorType> types = infer_runtime(n);
    ir::ForwardCtx ctx{n, {}, {}, options_.training, &rng_, options_.training ? &saved_[n.id] : nullptr};
    for (ir::ValueId v : n.inputs) ctx.inputs.push_back(v == ir::kNone ? Tensor() : values_[v]);
    for (size_t i = 0; i < n.outputs.size(); ++i) ctx.outputs.push_back(Tensor::empty(types.at(i).shape, types[i].dtype));
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const kernels::Kernel& k = kernels::select_forward(schema, ctx, options_.use_kernels);
      k.forward(ctx);
      LEANCNN_LOG("exec") << n.name << " forward " << k.name << " "
                          << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()
                          << " ms";
    } catch (Error& e) {
      e.add_context(n.label());
      throw;
    }
    for (size_t i = 0; i < n.outputs.size(); ++i) values_[n.outputs[i]] = ctx.outputs[i];
    if (!options_.training && !options_.keep_values)  // inference: free what no later node reads
      for (ir::ValueId v : n.inputs)
        if (v != ir::kNone && last_use_[v] == pos && !g_.value(v).is_initializer()) values_[v] = Tensor();
  }
  have_training_forward_ = options_.training;
  std::vector<Tensor> out;
  for (ir::ValueId v : g_.outputs()) out.push_back(values_[v]);
  return out;
}

void Executor::backward(ir::ValueId scalar_output) {
  const Tensor& y = value(scalar_output);
  if (y.numel() != 1)
    fail(ErrorKind::internal, "backward from '", g_.value(scalar_output).name, "' of shape ", shape_str(y.shape()),
         ": not a scalar");
  backward({{scalar_output, Tensor::full(y.shape(), 1.f)}});
}

void Executor::backward(const std::map<ir::ValueId, Tensor>& d_outputs) {
  if (!have_training_forward_) fail(ErrorKind::internal, "backward() needs a forward() in training mode first");
  std::vector<Tensor> grads(g_.num_values());
  for (const auto& [v, d] : d_outputs) grads.at(v) = d;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    const ir::Node& n = g_.node(*it);
    bool reached = false;
    for (ir::ValueId o : n.outputs) reached = reached || grads[o].defined();
    if (!reached) continue;
    const ir::OpSchema& schema = ops_.get(n);
    ir::BackwardCtx ctx{n, {}, {}, saved_[n.id], {}, {}};
    bool wanted = false;
    for (int i = 0; i < static_cast<int>(n.inputs.size()); ++i) {
      ir::ValueId v = n.inputs[i];
      ctx.inputs.push_back(v == ir::kNone ? Tensor() : values_[v]);
      const bool want = v != ir::kNone && requires_grad_[v] && !contains(schema.non_differentiable_inputs, i);
      ctx.d_inputs.push_back(want ? Tensor::empty(values_[v].shape()) : Tensor());
      wanted = wanted || want;
    }
    if (!wanted) continue;
    for (ir::ValueId o : n.outputs) {
      ctx.outputs.push_back(values_[o]);
      ctx.d_outputs.push_back(grads[o].defined() ? grads[o] : Tensor::zeros(values_[o].shape(), values_[o].dtype()));
    }
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const kernels::Kernel& k = kernels::select_backward(schema, ctx, options_.use_kernels);
      k.backward(ctx);
      LEANCNN_LOG("exec") << n.name << " backward " << k.name << " "
                          << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()
                          << " ms";
    } catch (Error& e) {
      e.add_context(n.label());
      throw;
    }
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!ctx.d_inputs[i].defined()) continue;
      Tensor& acc = grads[n.inputs[i]];
      if (!acc.defined())
        acc = ctx.d_inputs[i];
      else
        add_into(acc, ctx.d_inputs[i]);  // fan-out: the value feeds several nodes
    }
  }
  for (Param& p : params_) p.grad = grads[p.id];
}

const Tensor& Executor::value(ir::ValueId v) const {
  if (!g_.valid_value(v)) fail(ErrorKind::internal, "unknown value id ", v);
  return values_[v];
}

Param& Executor::param(const std::string& name) {
  for (Param& p : params_)
    if (p.name == name) return p;
  fail(ErrorKind::bad_input, "no trainable parameter named '", name, "'");
}

}  // namespace leancnn::runtime
