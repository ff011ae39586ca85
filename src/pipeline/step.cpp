// The step registry (step.h): every step kind (a kind a later issue brings is listed with
// StepKind::unavailable set, so a recipe naming it fails at parse time; none is pending now).
#include "leancnn/pipeline/step.h"

namespace leancnn::pipeline {

const std::vector<StepKind>& step_kinds() {
  static const std::vector<StepKind> kinds = {
      train_step_kind(),
      quantize_step_kind(),
      finetune_step_kind(),
      qat_step_kind(),
      prune_step_kind(),
      decompose_step_kind(),
      distill_step_kind(),
      binarize_step_kind(),
      search_step_kind(),
  };
  return kinds;
}

const StepKind* find_step_kind(const std::string& name) {
  for (const StepKind& k : step_kinds())
    if (k.name == name) return &k;
  return nullptr;
}

}  // namespace leancnn::pipeline
