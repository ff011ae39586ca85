// Plan: a graph compiled once for inference. compile() copies the graph and rewrites the copy
// (inference_passes.h: BN folding, conv epilogue fusion, identity removal, constant folding),
// then, per input shape, picks each node's kernel once, lets kernels prepare what they can
// ahead of time (packed weights, primitives: Kernel::prepare), and places every activation in
// one arena by liveness so buffers are reused (memory_plan.h). run() only executes the steps.
// Any batch size: a new input shape re-plans (kernels, preparation, memory) and is cached.
// The plan's outputs equal the reference executor's on the original graph within 1e-4 relative.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"

namespace leancnn::runtime {

struct PlanOptions {
  bool fold_batch_norm = true;  // BatchNormalization after Conv/Gemm folded into its weights and bias
  bool fuse = true;             // bias, residual Add and Relu/Clip/HardSwish into ai.leancnn FusedConv
  // With fuse: MobileNetV2's inverted residual blocks into ai.leancnn FusedInvertedResidual nodes,
  // per input shape, where leancnn/kernels/inverted_residual_rule.h says fusing pays (large
  // expanded activations: steps() shows them), the three convolutions otherwise.
  bool fuse_blocks = true;
  bool use_kernels = true;      // false: every node runs its reference (the oracle)
  bool reuse_memory = true;     // false: one buffer per value (for measuring what reuse saves)
  bool lower_qdq = true;        // QDQ Conv/Gemm patterns into integer ops (lower_qdq; false: fake-quant in float)
  // Activations passed between kernels that can all take them channels-last (NHWC) are stored
  // that way, so consecutive convolutions need no reorders (Kernel::channels_last).
  bool channels_last = true;
  // Threads of run() (kernels' loops and oneDNN's), set for the call and restored after it
  // (core/cpu.h ThreadScope); 0: the process default.
  int threads = 0;
};

// One step of the plan for the current input shape.
struct PlanStep {
  std::string name;     // node name
  std::string op_type;  // "FusedConv", "Conv", ...
  std::string kernel;   // the selected kernel's name ("reference" for the oracle)
  int64_t macs = 0;
  Shape output_shape;   // of the first output
  uint32_t channels_last = 0;  // which of its activations are stored NHWC (ir::ForwardCtx bits)
};

// Activation memory for the current input shape (graph inputs and initializers excluded;
// graph outputs included).
struct PlanMemory {
  int64_t peak_bytes = 0;   // arena size: what the plan actually allocates
  int64_t total_bytes = 0;  // sum of all activation sizes: what it would take with no reuse
  int64_t values = 0;       // activations placed
};

class Plan {
 public:
  // Compiles a copy of `graph` (verified; Error(bad_input) if malformed). `graph` is not changed.
  static Plan compile(const ir::Graph& graph, const PlanOptions& options = {});
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;
  ~Plan();

  // Runs on the graph inputs in order (f32 NCHW; batch may differ from the declared one).
  // Returns the graph outputs in order (fresh tensors the caller owns).
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);

  // The rewritten graph the plan executes (before the per-shape block fusion of fuse_blocks).
  const ir::Graph& graph() const;
  // Steps and memory of the shape last run (empty/zero before the first run).
  const std::vector<PlanStep>& steps() const;
  PlanMemory memory() const;
  // Profiling: when on, run() records each step's wall time (ms) of the last run.
  void set_profiling(bool on);
  const std::vector<double>& step_ms() const;

 private:
  struct Impl;
  explicit Plan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace leancnn::runtime
