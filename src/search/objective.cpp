// Objectives, constraints and the Pareto front (objective.h).
#include "leancnn/search/objective.h"

#include <algorithm>
#include <cmath>

#include "leancnn/core/error.h"

namespace leancnn::search {

void validate(const Objective& o) {
  if (o.kind != "accuracy" && o.kind != "mnasnet")
    fail(ErrorKind::usage, "objective must be accuracy or mnasnet, got '", o.kind, "'");
  if (o.kind == "mnasnet" && o.target_latency_ms <= 0)
    fail(ErrorKind::usage, "the mnasnet objective needs a target latency (target_latency_ms > 0)");
  if (o.max_latency_ms < 0 || o.max_latency_ratio < 0 || o.max_energy_pj < 0 || o.max_params < 0 || o.max_macs < 0)
    fail(ErrorKind::usage, "constraints must be >= 0 (0 = none)");
}

namespace {
double excess(double value, double cap) { return cap > 0 && value > cap ? (value - cap) / cap : 0.0; }
double total_excess(const Objective& o, const EvalResult& r) {
  // Without an anchor timed beside it (settings without latency_anchor) the ratio cap cannot be
  // shown to hold.
  const double ratio = r.anchor_latency_ms > 0 ? r.latency_ms / r.anchor_latency_ms : 1e9;
  return excess(r.latency_ms, o.max_latency_ms) + (o.max_latency_ratio > 0 ? excess(ratio, o.max_latency_ratio) : 0.0) +
         excess(r.energy_pj(), o.max_energy_pj) +
         excess(static_cast<double>(r.params), static_cast<double>(o.max_params)) +
         excess(static_cast<double>(r.macs), static_cast<double>(o.max_macs));
}
}  // namespace

bool has_caps(const Objective& o) {
  return o.max_latency_ms > 0 || o.max_latency_ratio > 0 || o.max_energy_pj > 0 || o.max_params > 0 || o.max_macs > 0;
}
bool within_caps(const Objective& o, const EvalResult& r) { return total_excess(o, r) == 0.0; }

bool feasible(const Objective& o, const EvalResult& r) { return r.ok() && r.trained && total_excess(o, r) == 0.0; }

double score(const Objective& o, const EvalResult& r) {
  if (!r.ok()) return -10.0;
  const double ex = total_excess(o, r);
  if (ex > 0) return -1.0 - ex;
  if (!r.trained) return -1.0;  // no accuracy to score (a precheck within the caps is trained next)
  if (o.kind == "mnasnet") {
    const double ratio = std::max(r.latency_ms, 1e-9) / o.target_latency_ms;
    const double w = ratio > 1 ? o.latency_weight : (o.hard_target ? 0.0 : o.latency_weight);
    return r.val_acc * std::pow(ratio, w);
  }
  return r.val_acc;
}

std::vector<size_t> pareto_front(const std::vector<EvalResult>& results) {
  auto dominates = [](const EvalResult& a, const EvalResult& b) {
    const bool ge = a.val_acc >= b.val_acc && a.latency_ms <= b.latency_ms && a.energy_pj() <= b.energy_pj();
    const bool gt = a.val_acc > b.val_acc || a.latency_ms < b.latency_ms || a.energy_pj() < b.energy_pj();
    return ge && gt;
  };
  std::vector<size_t> front;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok() || !results[i].trained) continue;
    bool dominated = false;
    for (size_t j = 0; j < results.size() && !dominated; ++j)
      dominated = j != i && results[j].ok() && results[j].trained && dominates(results[j], results[i]);
    // The same architecture evaluated twice (a cache hit) appears once.
    for (size_t k : front)
      if (results[k].key == results[i].key) dominated = true;
    if (!dominated) front.push_back(i);
  }
  std::stable_sort(front.begin(), front.end(), [&](size_t a, size_t b) { return results[a].latency_ms < results[b].latency_ms; });
  return front;
}

}  // namespace leancnn::search
