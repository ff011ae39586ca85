// The budget solver every family uses to choose one option per layer (bits, prune ratio, rank,
// binary or not) under a budget of bytes, MACs or measured latency. Each layer lists its options
// from the most costly (where it starts) to the cheapest, each with its cost in the budget's unit
// and its measured accuracy drop (compress/common/sensitivity.h). Greedy: while over the budget,
// the move of one layer to its next option that costs the least drop per unit saved is taken
// (ties: the earlier layer); moves that save nothing are never taken.
#pragma once
#include <string>
#include <vector>

namespace leancnn::compress {

struct BudgetOption {
  std::string label;  // "8-bit", "ratio 0.5", ...
  double cost = 0;    // in the budget's unit
  double drop = 0;    // accuracy drop (fraction) measured with this layer alone at this option
};

struct LayerOptions {
  std::string layer;
  std::vector<BudgetOption> options;  // options[0] is where the layer starts
};

struct BudgetChoice {
  std::vector<int> option;           // per layer, an index into its options
  double cost = 0;                   // of the choice
  double start_cost = 0;             // every layer at its first option
  double least_cost = 0;             // every layer at its last option
  double predicted_drop = 0;         // sum over moved layers of (drop at the choice - drop at the start)
  bool met = false;                  // false: even the least cost exceeds the budget (all cheapest then)
  std::vector<std::string> order;    // the layers moved, one entry per move, in the order chosen
};

// Error(usage) when budget is not positive or a layer has no option.
BudgetChoice solve_budget(const std::vector<LayerOptions>& layers, double budget);

}  // namespace leancnn::compress
