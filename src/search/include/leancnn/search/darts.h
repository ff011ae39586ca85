// DARTS: differentiable architecture search (Liu, Simonyan, Yang, ICLR 2019) over the cell space
// (docs/nas.md §2). Every edge of a cell (node j from each earlier state) becomes a mixed
// operation, the softmax-weighted sum of every candidate operation and "none"; the weights'
// logits (alpha, one vector per edge, shared by all cells of a kind) are trainable initializers
// of one supernet graph. As in DARTS's search network, the cells' BatchNorms have no learnt
// scale and shift (affine=False) and every pooling is followed by one. Training alternates,
// batch by batch, an alpha step on one half of the training images (Adam) and a weight step on
// the other half (SGD): the first-order approximation of the paper's bi-level problem. The
// derived cell keeps, for each node, the two
// incoming edges whose strongest operation other than "none" weighs most, each with that
// operation: exactly an architecture of the cell space, which the search then trains from
// scratch (the evaluator) for its accuracy.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "leancnn/core/json.h"
#include "leancnn/search/evaluator.h"
#include "leancnn/search/space.h"

namespace leancnn::search {

struct DartsOptions {
  int64_t epochs = 6;         // supernet epochs (each: every image of the weight half once)
  // Epochs that train the weights only, alphas frozen (PC-DARTS, Xu et al. ICLR 2020): an
  // untrained supernet's parametric operations lose to pooling and skips, which then win for good.
  int64_t warmup_epochs = 2;
  int64_t channels = 8;       // the supernet's C: one of the cell space's "channels" options
  int64_t repeats = 1;        // normal cells per stage: one of its "repeats" options
  double weight_lr = 0.025;   // SGD, momentum 0.9, cosine to 0, gradient norm clipped to 5
  double weight_decay = 3e-4;
  // Adam, betas (0.5, 0.999). The paper's 3e-4 over its ~20,000 alpha steps; a search here makes
  // ~100 (6 epochs of 2,000 images, 2 warm-up): at 3e-4 the operation weights stayed within
  // 0.125 +- 0.006 and the derived cell was noise, so the default is ten times the paper's.
  double alpha_lr = 3e-3;
  double alpha_decay = 1e-3;
  Json to_json() const;
};

// One mixed edge: node `node` of the normal or reduce cell, from state `input` (0, 1: the cell's
// inputs; 2 + k: node k).
struct DartsEdge {
  std::string cell;
  int node = 0;
  int input = 0;
  std::string alpha;  // its initializer's name
};

struct DartsEpoch {
  int64_t epoch = 0;  // 1-based
  double weight_loss = 0, weight_acc = 0;  // on the weight half, while training
  double alpha_loss = 0, alpha_acc = 0;    // on the alpha half, while training
  double seconds = 0;
  std::vector<std::vector<double>> weights;  // per edge, softmax(alpha): cell_ops() then "none"
};

struct DartsResult {
  Architecture arch;  // the derived cell, an architecture of the cell space
  std::vector<std::string> ops;  // the mixed operations' order: cell_ops(), then "none"
  std::vector<DartsEdge> edges;
  std::vector<DartsEpoch> epochs;
  int64_t supernet_params = 0, supernet_macs = 0;
  double seconds = 0;
  Json to_json() const;
};

// Error(usage) for options the cell space cannot take (channels, repeats), before any work.
void check(const DartsOptions& o);

// The supernet of the cell space at `channels` x `repeats` with one alpha vector per edge
// (zeros: uniform weights); `edges` receives the edges in alpha order.
ir::Graph build_darts_supernet(const DartsOptions& o, const models::ModelConfig& cfg, const ir::OpTable& ops,
                               std::vector<DartsEdge>* edges);

// The derived architecture from per-edge operation weights (DartsEpoch::weights' layout).
Architecture derive_darts_cell(const DartsOptions& o, const std::vector<DartsEdge>& edges,
                               const std::vector<std::vector<double>>& weights);

// The search on `data` (load_eval_data(eval), or the evaluator's copy): its training images,
// split in halves (weights, alpha); its validation and test images are not touched. `eval`
// gives the input shape, classes, batch and seed.
DartsResult run_darts(const EvalSettings& eval, const EvalData& data, const DartsOptions& o,
                      const std::function<void(const std::string&)>& log = {});

}  // namespace leancnn::search
