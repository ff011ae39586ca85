// Mixed precision: per-layer weight bit-widths chosen from a sensitivity table under a size
// budget (bytes of weight storage) or a latency budget (a cost of MACs x bits per layer), greedily:
// from every layer at the high bit-width, the layer whose move to the low bit-width costs the
// least accuracy drop per unit saved moves first, until the budget is met.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "leancnn/compress/quantize/sensitivity.h"

namespace leancnn::compress::quantize {

enum class BudgetKind { bytes, latency };

struct MixedPrecisionOptions {
  BudgetKind kind = BudgetKind::bytes;
  // bytes: weight storage of the quantizable layers (params x bits / 8) must be <= budget.
  // latency: sum over layers of MACs x bits must be <= budget (in MAC-bits).
  double budget = 0;
  int high_bits = 8;
  int low_bits = 4;
};

struct MixedPrecisionResult {
  std::map<std::string, int> layer_bits;  // every layer of the table
  double cost = 0;                        // of the choice, in the budget's unit
  double high_cost = 0;                   // every layer at high_bits
  double low_cost = 0;                    // every layer at low_bits (the least reachable)
  double predicted_drop = 0;              // sum of the chosen layers' sensitivities
  bool met = false;                       // false: even all at low_bits exceeds the budget (all low then)
  std::vector<std::string> order;         // layers moved to low_bits, in the order chosen
};

// The layer costs come from the table (params for bytes, macs for latency).
MixedPrecisionResult choose_bits(const SensitivityResult& table, const MixedPrecisionOptions& options);

}  // namespace leancnn::compress::quantize
