// Accuracy of a classifier graph on a labelled dataset, run two ways: the reference executor
// (for a QDQ graph: fake-quant, float ops on dequantized values) and the compiled runtime::Plan
// (for a QDQ graph: the deployed integer model after lower_qdq); and the agreement of two runs.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"

namespace leancnn::train {

enum class Engine { executor, plan };

struct Predictions {
  std::vector<int32_t> top1;  // per image
  double accuracy = 0;        // fraction of top1 equal to the label
};

// Top-1 predictions of `g` (input pixels / 255, one output of logits) over the first `limit`
// images of `data` (all when limit <= 0), in batches of `batch`. `progress` (may be empty) gets
// (images done, total).
Predictions predict(const ir::Graph& g, const train::Dataset& data, Engine engine, int64_t limit = 0,
                    int64_t batch = 250, const std::function<void(int64_t, int64_t)>& progress = {});

// Rows of logits [N, K] whose largest entry (the first of equals) is the row's label (s64 [N]):
// the trainer's and the supernets' running accuracy.
int64_t count_correct(const Tensor& logits, const Tensor& labels);

// Fraction of positions where a and b agree (Error(internal) when their sizes differ).
double agreement(const Predictions& a, const Predictions& b);

}  // namespace leancnn::train
