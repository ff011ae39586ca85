// Objectives (docs/nas.md §4): an evaluation's score for the strategies, hard constraints
// (latency, energy, size caps), MnasNet's weighted product, and the Pareto front of accuracy
// vs latency vs energy.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/search/evaluator.h"

namespace leancnn::search {

struct Objective {
  // "accuracy": the validation accuracy. "mnasnet": ACC x (LAT / target_latency_ms)^w with
  // w = latency_weight when LAT > target, else w = 0 when hard_target, else latency_weight
  // (Tan et al. 2019, eq. 2: w = -0.07 for a soft constraint).
  std::string kind = "accuracy";
  double target_latency_ms = 0;
  double latency_weight = -0.07;
  bool hard_target = false;
  // Constraints (0 = none): an architecture beyond any of them is infeasible; its score is
  // -1 - (the summed relative excess), below every feasible one but still ordered, so a
  // strategy is led back towards the feasible region.
  double max_latency_ms = 0;
  // Latency over the anchor's timed beside it (EvalResult::anchor_latency_ms; needs
  // EvalSettings::latency_anchor): 1 = no slower than the anchor.
  double max_latency_ratio = 0;
  double max_energy_pj = 0;
  int64_t max_params = 0;
  int64_t max_macs = 0;
};

// Error(usage) naming the field when the objective is inconsistent (mnasnet without target).
void validate(const Objective& o);
// Whether any cap (latency, energy, params, MACs) is set.
bool has_caps(const Objective& o);
// Whether r's size, latency and energy are within every cap (r need not be trained).
bool within_caps(const Objective& o, const EvalResult& r);
bool feasible(const Objective& o, const EvalResult& r);  // an untrained result never is
// Failed evaluations score -10.
double score(const Objective& o, const EvalResult& r);

// Indices (into `results`) of the successful, trained ones that no other such one dominates
// when maximising val_acc and minimising latency_ms and energy (first accel preset; ignored
// when absent). Sorted by latency.
std::vector<size_t> pareto_front(const std::vector<EvalResult>& results);

}  // namespace leancnn::search
