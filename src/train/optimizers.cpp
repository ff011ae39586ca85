// SGD and Adam/AdamW (PyTorch's formulations), gradient-norm clipping.
#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/train/optimizer.h"

namespace leancnn::train {

namespace {
// v = mu*v + (g + wd*p); p -= lr * (nesterov ? g + wd*p + mu*v : v)   (torch.optim.SGD)
class Sgd final : public Optimizer {
 public:
  Sgd(std::vector<runtime::Param>& params, OptimizerOptions o) : Optimizer(params, o) {
    for (const auto& p : params_) state_.push_back(Tensor::zeros(p.value.shape()));
  }
  void step() override {
    ++steps_;
    for (size_t k = 0; k < params_.size(); ++k) {
      runtime::Param& p = params_[k];
      if (!p.grad.defined()) continue;
      const float wd = decay_for(p), lr = options_.lr, mu = options_.momentum;
      float* w = p.value.data<float>();
      const float* g = p.grad.data<float>();
      float* v = state_[k].data<float>();
      for (int64_t i = 0, n = p.value.numel(); i < n; ++i) {
        const float d = g[i] + wd * w[i];
        if (mu == 0.f) {
          w[i] -= lr * d;
          continue;
        }
        v[i] = mu * v[i] + d;
        w[i] -= lr * (options_.nesterov ? d + mu * v[i] : v[i]);
      }
    }
  }
};

// Adam (Kingma & Ba) with bias correction; AdamW (Loshchilov & Hutter) decays the weights
// directly (p -= lr*wd*p) instead of adding wd*p to the gradient.
class Adam final : public Optimizer {
 public:
  Adam(std::vector<runtime::Param>& params, OptimizerOptions o, bool decoupled)
      : Optimizer(params, o), decoupled_(decoupled) {
    for (const auto& p : params_) {
      state_.push_back(Tensor::zeros(p.value.shape()));  // m
      state_.push_back(Tensor::zeros(p.value.shape()));  // v
    }
  }
  void step() override {
    ++steps_;
    const float b1 = options_.beta1, b2 = options_.beta2, lr = options_.lr;
    const float c1 = 1.f - std::pow(b1, static_cast<float>(steps_)), c2 = 1.f - std::pow(b2, static_cast<float>(steps_));
    for (size_t k = 0; k < params_.size(); ++k) {
      runtime::Param& p = params_[k];
      if (!p.grad.defined()) continue;
      const float wd = decay_for(p);
      float* w = p.value.data<float>();
      const float* g = p.grad.data<float>();
      float* m = state_[2 * k].data<float>();
      float* v = state_[2 * k + 1].data<float>();
      for (int64_t i = 0, n = p.value.numel(); i < n; ++i) {
        if (decoupled_) w[i] -= lr * wd * w[i];
        const float d = decoupled_ ? g[i] : g[i] + wd * w[i];
        m[i] = b1 * m[i] + (1.f - b1) * d;
        v[i] = b2 * v[i] + (1.f - b2) * d * d;
        w[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + options_.eps);
      }
    }
  }

 private:
  bool decoupled_;
};
}  // namespace

std::unique_ptr<Optimizer> make_optimizer(std::vector<runtime::Param>& params, const OptimizerOptions& o) {
  if (!(o.lr > 0.f)) fail(ErrorKind::usage, "learning rate must be > 0, got ", o.lr);
  if (o.weight_decay < 0.f) fail(ErrorKind::usage, "weight decay must be >= 0, got ", o.weight_decay);
  if (o.kind == "sgd") {
    if (o.momentum < 0.f || o.momentum >= 1.f) fail(ErrorKind::usage, "momentum must be in [0, 1), got ", o.momentum);
    if (o.nesterov && o.momentum == 0.f) fail(ErrorKind::usage, "Nesterov momentum needs momentum > 0");
    return std::make_unique<Sgd>(params, o);
  }
  if (o.kind == "adam" || o.kind == "adamw") {
    if (o.beta1 < 0.f || o.beta1 >= 1.f || o.beta2 < 0.f || o.beta2 >= 1.f)
      fail(ErrorKind::usage, "Adam betas must be in [0, 1)");
    return std::make_unique<Adam>(params, o, o.kind == "adamw");
  }
  fail(ErrorKind::usage, "unknown optimizer '", o.kind, "' (sgd, adam or adamw)");
}

float clip_grad_norm(std::vector<runtime::Param>& params, float max_norm) {
  double sq = 0;
  for (const auto& p : params) {
    if (!p.grad.defined()) continue;
    const float* g = p.grad.data<float>();
    for (int64_t i = 0, n = p.grad.numel(); i < n; ++i) sq += static_cast<double>(g[i]) * g[i];
  }
  const float norm = static_cast<float>(std::sqrt(sq));
  if (max_norm > 0.f && norm > max_norm) {
    const float scale = max_norm / (norm + 1e-6f);
    for (auto& p : params) {
      if (!p.grad.defined()) continue;
      float* g = p.grad.data<float>();
      for (int64_t i = 0, n = p.grad.numel(); i < n; ++i) g[i] *= scale;
    }
  }
  return norm;
}

}  // namespace leancnn::train
