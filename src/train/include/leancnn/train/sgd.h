// Stochastic gradient descent with momentum, Nesterov and decoupled-from-BN weight decay
// (PyTorch's formulation: v = mu*v + (g + wd*p); p -= lr * (nesterov ? g + wd*p + mu*v : v)).
#pragma once
#include <vector>

#include "leancnn/runtime/executor.h"

namespace leancnn::train {

struct SgdOptions {
  float lr = 0.1f;
  float momentum = 0.9f;
  bool nesterov = false;
  float weight_decay = 0.f;
  bool decay_1d_params = true;  // false exempts biases and BN scale/shift (rank-1 params)
};

class Sgd {
 public:
  Sgd(std::vector<runtime::Param>& params, SgdOptions options);
  // One update from the gradients the last backward left in params; a parameter without a
  // gradient is left unchanged.
  void step();
  void set_lr(float lr) { options_.lr = lr; }
  const SgdOptions& options() const { return options_; }

 private:
  std::vector<runtime::Param>& params_;
  SgdOptions options_;
  std::vector<Tensor> velocity_;
};

}  // namespace leancnn::train
