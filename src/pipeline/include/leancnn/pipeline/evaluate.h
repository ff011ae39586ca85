// The evaluations of one variant (the recipe's evaluate section): accuracy, size figures,
// CPU latency through runtime::Plan and modelled accelerator cost per preset. The result is a
// JSON object (a Json, core/json.h) with the report's keys (docs/report.md): test_acc, params,
// nonzero_params, bytes, macs, effective_macs, latency_ms, p90_ms, images_per_s, accel [...].
#pragma once
#include <functional>
#include <string>

#include "leancnn/core/json.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"

namespace leancnn::pipeline {

struct EvaluateContext {
  std::function<const train::Dataset&()> test_set;  // loaded on first use
  uint64_t seed = 0;
  bool progress = true;
  std::string label;  // "train" (for progress lines)
};

// `evaluate` is Recipe::evaluate; `model_file` the variant's ONNX file (its size is `bytes`).
Json evaluate_variant(const ir::Graph& g, const std::string& model_file, const Json& evaluate, const EvaluateContext& ctx);

// Pieces of evaluate_variant, for tests and other callers.
Json evaluate_size(const ir::Graph& g, const std::string& model_file);
Json evaluate_latency(const ir::Graph& g, const Json& latency, uint64_t seed, bool progress, const std::string& label);
Json evaluate_accel(const ir::Graph& g, const Json& accel);

}  // namespace leancnn::pipeline
