// The per-layer latency table (docs/nas.md §3.2; ProxylessNAS and FBNet's lookup tables):
// measured medians of runtime plan steps, keyed by what decides a step's time (op type, the
// selected kernel, MACs and output shape, thread count). A candidate whose every step is in the
// table gets its latency as the sum of its steps without being run; others are measured and
// their steps added. Stored as JSON lines {"key": ..., "ms": ..., "n": ...}.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "leancnn/runtime/plan.h"

namespace leancnn::search {

class LatencyTable {
 public:
  LatencyTable() = default;
  explicit LatencyTable(std::string path);  // loads it when it exists ("" = memory only)

  static std::string step_key(const runtime::PlanStep& step, int threads);
  // Σ of the steps' times when every step is known, else a negative number.
  double estimate(const std::vector<runtime::PlanStep>& steps, int threads) const;
  // Adds one measurement of a step (the running mean is kept) and appends it to the file.
  void add(const runtime::PlanStep& step, int threads, double ms);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    double ms = 0;
    int64_t n = 0;
  };
  std::string path_;
  std::map<std::string, Entry> entries_;
};

}  // namespace leancnn::search
