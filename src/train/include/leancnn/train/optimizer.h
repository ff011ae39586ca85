// Optimizers update parameters from the gradients the last backward left in them.
// SGD (momentum, Nesterov) and Adam / AdamW; weight decay can exempt rank-1 parameters
// (biases, BN scale and shift). State tensors are exposed for checkpoints.
#pragma once
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "leancnn/runtime/executor.h"

namespace leancnn::train {

struct OptimizerOptions {
  std::string kind = "sgd";  // sgd | adam | adamw
  float lr = 0.1f;
  float momentum = 0.9f;     // sgd
  bool nesterov = false;     // sgd
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // adam, adamw
  float weight_decay = 0.f;  // L2 for sgd/adam (added to the gradient); decoupled for adamw
  bool decay_1d_params = true;  // false: biases and BN scale/shift get no weight decay
  std::vector<std::string> no_decay = {};  // parameters never decayed, by name (e.g. QAT step sizes)
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update; a parameter without a gradient is left unchanged.
  virtual void step() = 0;
  void set_lr(float lr) { options_.lr = lr; }
  float lr() const { return options_.lr; }
  const OptimizerOptions& options() const { return options_; }
  // Per-parameter state tensors (velocity; or first and second moments), for checkpoints.
  std::vector<Tensor>& state() { return state_; }
  const std::vector<Tensor>& state() const { return state_; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t s) { steps_ = s; }

 protected:
  Optimizer(std::vector<runtime::Param>& params, OptimizerOptions options) : params_(params), options_(options) {}
  float decay_for(const runtime::Param& p) const {
    if (std::find(options_.no_decay.begin(), options_.no_decay.end(), p.name) != options_.no_decay.end()) return 0.f;
    return (options_.decay_1d_params || p.value.rank() > 1) ? options_.weight_decay : 0.f;
  }
  std::vector<runtime::Param>& params_;
  OptimizerOptions options_;
  std::vector<Tensor> state_;
  int64_t steps_ = 0;
};

// Throws Error(usage) on an unknown kind or a bad setting.
std::unique_ptr<Optimizer> make_optimizer(std::vector<runtime::Param>& params, const OptimizerOptions& options);

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
// before clipping.
float clip_grad_norm(std::vector<runtime::Param>& params, float max_norm);

}  // namespace leancnn::train
