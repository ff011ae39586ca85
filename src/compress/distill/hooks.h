// The loss hooks of each distillation method (train::LossHook), private to compress/distill.
// Each extends the trainer's loss graph with ai.leancnn loss ops (KLDivergence, MSELoss,
// AttentionMap) and standard ops, so the executor's backward gives every gradient.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "leancnn/compress/distill/distill.h"
#include "leancnn/compress/distill/teacher.h"

namespace leancnn::compress::distill {

// The Spec's temperature / alpha / beta with each method's defaults for the unset (<= 0 / < 0) ones.
struct Weights {
  float temperature = 4.f, alpha = 0.9f, beta = 0.f;
};
Weights resolve_weights(const Spec& spec);

// kd / fitnets / attention from a teacher (run once per batch on the plan).
train::LossHook teacher_hook(std::shared_ptr<Teacher> teacher, Method method, const Weights& w,
                             const std::vector<LayerPair>& pairs);
// self_best: the best past epoch's model teaches (soft loss off until the first epoch ends).
train::LossHook self_best_hook(const Weights& w);
// self_aux (BYOT): auxiliary classifiers on `layers` (empty: each stage's last feature map but
// the deepest) learn from the labels and from the final classifier.
train::LossHook self_aux_hook(const Weights& w, const std::vector<LayerPair>& layers);
// dml / kdcl on the peers' combined graph: `peer_logits` names every peer's logits value but the
// first (the graph's output, view.logits).
train::LossHook online_hook(Method method, const Weights& w, const std::vector<std::string>& peer_logits);

}  // namespace leancnn::compress::distill
