// Executor: runs a graph forward in topological order (any batch size: shapes are inferred
// from the actual inputs on every run) and, when training, backward in reverse order with
// gradient accumulation at fan-out. Every node runs through the kernel dispatcher (fast
// kernel first, reference last). Parameters and their gradients are addressable by name.
// This is the one engine for training and for reference inference (DESIGN.md §2); the
// compiled inference plan of the runtime builds on it.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "leancnn/core/rng.h"
#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::runtime {

struct ExecutorOptions {
  bool training = false;     // batch statistics in BN, dropout active, activations kept for backward
  bool use_kernels = true;   // false: reference kernels only (the oracle)
  uint64_t seed = 0;         // for stochastic ops
  bool keep_values = false;  // inference: keep every intermediate value (for value()); training always keeps them
};

struct Param {
  std::string name;
  ir::ValueId id;
  Tensor value;  // shares storage with the graph's initializer: updating it updates the model
  Tensor grad;   // undefined until backward() reached it
};

class Executor {
 public:
  // The graph must outlive the executor; it is verified here (Error(bad_input) if malformed).
  Executor(ir::Graph& graph, const ir::OpTable& ops, ExecutorOptions options = {});

  // Runs forward. `feeds` maps graph input names to tensors; every graph input must be fed,
  // with its declared dtype and rank and, except for dim 0 (batch), its declared dims.
  // Returns the graph outputs in order.
  std::vector<Tensor> forward(const std::map<std::string, Tensor>& feeds);

  // Backward from a scalar output (d = 1) of the last forward, which must have run in
  // training mode. Accumulates nothing across calls: gradients are recomputed each time.
  void backward(ir::ValueId scalar_output);
  // Backward from explicit output gradients.
  void backward(const std::map<ir::ValueId, Tensor>& d_outputs);

  // The value computed for v by the last forward (undefined if freed or not computed).
  const Tensor& value(ir::ValueId v) const;
  // Trainable parameters in graph order, with gradients from the last backward.
  std::vector<Param>& params() { return params_; }
  Param& param(const std::string& name);
  void set_training(bool on) { options_.training = on; }
  bool training() const { return options_.training; }

 private:
  std::vector<ir::TensorType> infer_runtime(const ir::Node& n) const;
  void check_feed(ir::ValueId input, const Tensor& t) const;

  ir::Graph& g_;
  const ir::OpTable& ops_;
  ExecutorOptions options_;
  Rng rng_;
  std::vector<ir::NodeId> order_;
  std::vector<int> last_use_;                    // per value: position in order_ of its last reader
  std::vector<bool> requires_grad_;              // per value
  std::vector<Tensor> values_;                   // per value, from the last forward
  std::vector<std::vector<Tensor>> saved_;       // per node slot, from the last training forward
  bool have_training_forward_ = false;
  std::vector<Param> params_;
};

}  // namespace leancnn::runtime
