// The step registry (step.h): the available kinds and those later issues bring.
#include "leancnn/pipeline/step.h"

namespace leancnn::pipeline {

namespace {
StepKind unavailable(const std::string& name, const std::string& description, const std::string& why) {
  StepKind k;
  k.name = name;
  k.description = description;
  k.keys = [] { return std::vector<KeySpec>{}; };
  k.defaults = [](const Recipe&) { return Json::object(); };
  k.unavailable = why;
  return k;
}
}  // namespace

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
