// What the compression commands (prune, decompose) report about accuracy: the float model and
// the compressed one on the same test images through the inference plan, as JSON fields and a
// one-line summary.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"

namespace leancnn::cli {

// Sets j's test_images, float_acc, `after_key` (e.g. "pruned_acc") and drop (float - after),
// on the first `limit` test images (0 = all).
void add_before_after(nlohmann::json& j, const ir::Graph& before, const ir::Graph& after, const train::Dataset& test,
                      int64_t limit, const std::string& after_key);

// Error(usage), before any work, when the images of `data` (the --data value) do not have the
// model's input shape: it names both shapes and the way out (matching data, or the flags that
// need no data).
void check_images_fit(const ir::Graph& model, const train::Dataset& d, const std::string& data);

// The training and test splits of `data` (the --data value; classes from the model's output),
// checked by check_images_fit; two empty datasets, nothing read, unless `needed`.
struct TrainTest {
  train::Dataset train, test;
};
TrainTest load_data_if(bool needed, const ir::Graph& model, const std::string& data);

// "  test accuracy on N images: before A, after B (drop D points)" from those fields.
void print_before_after(const nlohmann::json& j, const std::string& after_key);

}  // namespace leancnn::cli
