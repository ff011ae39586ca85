// The per-layer latency table (latency_table.h).
#include "leancnn/search/latency_table.h"

#include <filesystem>
#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"

namespace leancnn::search {

LatencyTable::LatencyTable(std::string path) : path_(std::move(path)) {
  if (path_.empty() || !std::filesystem::exists(path_)) return;
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("key") || !j.contains("ms")) continue;  // torn line
    // Each line is one measurement; the entry is their mean.
    Entry& e = entries_[j["key"].get<std::string>()];
    e.ms = (e.ms * static_cast<double>(e.n) + j["ms"].get<double>()) / static_cast<double>(e.n + 1);
    ++e.n;
  }
}

std::string LatencyTable::step_key(const runtime::PlanStep& step, int threads) {
  std::string shape;
  for (int64_t d : step.output_shape) {
    if (!shape.empty()) shape += 'x';
    shape += std::to_string(d);
  }
  return str_cat(step.op_type, "|", step.kernel, "|", step.macs, "|", shape, "|t", threads);
}

double LatencyTable::estimate(const std::vector<runtime::PlanStep>& steps, int threads) const {
  if (steps.empty()) return -1;
  double total = 0;
  for (const runtime::PlanStep& s : steps) {
    auto it = entries_.find(step_key(s, threads));
    if (it == entries_.end()) return -1;
    total += it->second.ms;
  }
  return total;
}

void LatencyTable::add(const runtime::PlanStep& step, int threads, double ms) {
  const std::string key = step_key(step, threads);
  Entry& e = entries_[key];
  e.ms = (e.ms * static_cast<double>(e.n) + ms) / static_cast<double>(e.n + 1);
  ++e.n;
  if (path_.empty()) return;
  std::ofstream out(path_, std::ios::app);
  out << nlohmann::json({{"key", key}, {"ms", ms}}).dump() << "\n";
}

}  // namespace leancnn::search
