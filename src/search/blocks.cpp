// Building blocks the spaces share (spaces.h).
#include <string>

#include "leancnn/core/error.h"
#include "spaces.h"

namespace leancnn::search {

ir::ValueId conv_bn(ir::Builder& b, ir::ValueId x, int64_t oc, int64_t k, int64_t stride, int64_t groups,
                    const std::string& act, int64_t dilation, const std::string& name) {
  ir::ValueId y = b.batch_norm(b.conv(x, oc, k, stride, -1, groups, false, dilation, name), 1e-5f, 0.9f,
                               name == "conv" ? "bn" : name + "_bn");
  if (act == "relu") return b.relu(y);
  if (act == "relu6") return b.clip(y, 0.f, 6.f);
  return y;
}

void classifier_head(ir::Builder& b, ir::Graph& g, ir::ValueId x, int64_t classes) {
  ir::ValueId logits = b.linear(b.flatten(b.global_avg_pool(x)), classes, true, "fc");
  g.rename_value(logits, "logits");
  b.output(logits);
}

ir::ValueId add_cross_entropy(ir::Graph& g, const ir::OpTable& ops) {
  ir::Builder b(g, ops);
  const ir::ValueId labels = b.input("labels", {1}, DType::s64);
  const ir::ValueId loss = b.op("SoftmaxCrossEntropy", {g.outputs().at(0), labels}, {}, 1, ir::kLeancnnDomain, "loss")[0];
  b.output(loss);
  return loss;
}

ir::ValueId add_distillation(ir::Graph& g, const ir::OpTable& ops, int64_t classes) {
  ir::Builder b(g, ops);
  const ir::ValueId logits = g.outputs().at(0);
  const ir::ValueId teacher = b.input("teacher_logits", {1, classes}, DType::f32);
  const ir::ValueId loss = b.op("KLDivergence", {logits, teacher}, {}, 1, ir::kLeancnnDomain, "loss")[0];
  b.output(loss);
  return loss;
}

void check_input(const models::ModelConfig& cfg, int64_t min_hw, const std::string& space) {
  if (cfg.input.size() != 3) fail(ErrorKind::usage, "search space '", space, "': input must be CxHxW");
  if (cfg.input[1] < min_hw || cfg.input[2] < min_hw)
    fail(ErrorKind::bad_input, "search space '", space, "' needs inputs of at least ", min_hw, "x", min_hw, ", got ",
         cfg.input[1], "x", cfg.input[2]);
  if (cfg.classes < 1) fail(ErrorKind::usage, "classes must be >= 1, got ", cfg.classes);
}

std::vector<std::string> labels(const std::vector<int64_t>& values) {
  std::vector<std::string> out;
  for (int64_t v : values) out.push_back(std::to_string(v));
  return out;
}

int64_t number_at(const SearchSpace& s, const Architecture& a, size_t i) {
  return std::stoll(s.decisions()[i].options[static_cast<size_t>(a.choices[i])]);
}

}  // namespace leancnn::search
