// SGD with momentum / Nesterov / weight decay.
#include "leancnn/train/sgd.h"

namespace leancnn::train {

Sgd::Sgd(std::vector<runtime::Param>& params, SgdOptions options) : params_(params), options_(options) {
  for (const auto& p : params_) velocity_.push_back(Tensor::zeros(p.value.shape()));
}

void Sgd::step() {
  for (size_t k = 0; k < params_.size(); ++k) {
    runtime::Param& p = params_[k];
    if (!p.grad.defined()) continue;
    const bool decay = options_.weight_decay != 0.f && (options_.decay_1d_params || p.value.rank() > 1);
    const float wd = decay ? options_.weight_decay : 0.f;
    const float lr = options_.lr, mu = options_.momentum;
    float* w = p.value.data<float>();
    const float* g = p.grad.data<float>();
    float* v = velocity_[k].data<float>();
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

}  // namespace leancnn::train
