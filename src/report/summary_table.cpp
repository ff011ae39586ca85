// The terminal summary table of a report (report.h).
#include <cstdio>

#include "leancnn/core/json_native.h"
#include "leancnn/report/report.h"

namespace leancnn::report {

namespace {
std::string num(const nlohmann::json& v, const char* key, const char* fmt, double scale = 1.0) {
  if (!v.contains(key) || !v[key].is_number()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v[key].get<double>() * scale);
  return buf;
}

std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s + " " : std::string(w - s.size(), ' ') + s; }
}  // namespace

std::string summary_table(const Json& report_json) {
  const nlohmann::json& report = native(report_json);
  std::vector<std::string> presets;
  for (const auto& v : report["variants"])
    if (v.contains("accel"))
      for (const auto& a : v["accel"]) {
        const std::string p = a.value("preset", "");
        if (std::find(presets.begin(), presets.end(), p) == presets.end()) presets.push_back(p);
      }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"variant", "step", "bits W/A", "test_acc", "params", "nonzero", "file_kB", "MMACs",
                                   "latency_ms", "p90_ms", "img/s"};
  for (const std::string& p : presets) {
    head.push_back(p + " kcycles");
    head.push_back(p + " uJ");
  }
  rows.push_back(head);
  for (const auto& v : report["variants"]) {
    std::string bits = "-";
    if (v.contains("weight_bits"))
      bits = std::to_string(v["weight_bits"].get<int>()) + "/" + std::to_string(v.value("activation_bits", 32));
    std::vector<std::string> r = {v.value("name", "?"), v.value("step", "?"), bits,
                                  num(v, "test_acc", "%.4f"), num(v, "params", "%.0f"), num(v, "nonzero_params", "%.0f"),
                                  num(v, "bytes", "%.1f", 1e-3), num(v, "macs", "%.2f", 1e-6), num(v, "latency_ms", "%.4f"),
                                  num(v, "p90_ms", "%.4f"), num(v, "images_per_s", "%.0f")};
    for (const std::string& p : presets) {
      std::string cyc = "-", uj = "-";
      if (v.contains("accel"))
        for (const auto& a : v["accel"])
          if (a.value("preset", "") == p) {
            cyc = num(a, "cycles", "%.1f", 1e-3);
            uj = num(a, "energy_pj", "%.2f", 1e-6);
          }
      r.push_back(cyc);
      r.push_back(uj);
    }
    rows.push_back(r);
  }
  std::vector<size_t> width(head.size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size() + 2);
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t c = 0; c < rows[i].size(); ++c) {
      const std::string& s = rows[i][c];
      out += c < 2 ? s + std::string(width[c] - std::min(width[c], s.size()), ' ') : pad(s, width[c]);
    }
    out += "\n";
  }
  return out;
}

}  // namespace leancnn::report
