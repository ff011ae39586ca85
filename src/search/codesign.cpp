// Accelerator co-design (codesign.h).
#include "leancnn/search/codesign.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "leancnn/accel/network.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::search {

std::string knobs_label(const AccelKnobs& k) {
  char s[96];
  std::snprintf(s, sizeof s, "%s %lldx%lld %lldkB", accel::dataflow_name(k.dataflow), static_cast<long long>(k.pe_x),
                static_cast<long long>(k.pe_y), static_cast<long long>(k.buffer_kb));
  return s;
}

std::vector<AccelKnobs> accel_space(const AccelSpaceOptions& o) {
  for (int64_t v : o.pe_sides)
    if (v < 1) fail(ErrorKind::usage, "co-design: PE array sides must be >= 1, got ", v);
  for (int64_t v : o.buffer_kb)
    if (v < 1) fail(ErrorKind::usage, "co-design: buffer sizes must be >= 1 kB, got ", v);
  std::vector<AccelKnobs> out;
  for (accel::Dataflow d : o.dataflows)
    for (int64_t x : o.pe_sides)
      for (int64_t y : o.pe_sides)
        for (int64_t kb : o.buffer_kb)
          if (x * y <= o.max_pes && kb <= o.max_buffer_kb) out.push_back({d, x, y, kb});
  if (out.empty())
    fail(ErrorKind::usage, "co-design: no accelerator of the space fits the budget (", o.max_pes, " PEs, ", o.max_buffer_kb,
         " kB)");
  return out;
}

accel::Architecture build_accel(const AccelKnobs& k) {
  const char* base = k.dataflow == accel::Dataflow::ws ? "tpu-like" : k.dataflow == accel::Dataflow::os ? "shidiannao-like" : "eyeriss-like";
  if (k.dataflow == accel::Dataflow::is) fail(ErrorKind::usage, "co-design: dataflow 'is' has no dense preset to start from");
  accel::Architecture a = accel::preset(base);
  if (a.num_levels() < 3) fail(ErrorKind::internal, "co-design: preset ", base, " has no global buffer level");
  accel::StorageLevel& glb = a.levels[1];
  glb.fanout.x = k.pe_x;
  glb.fanout.y = k.pe_y;
  glb.capacity_words = k.buffer_kb * 1024 * 8 / glb.word_bits;
  glb.read_energy = glb.write_energy = glb.update_energy = -1;  // from the energy table at the new size
  a.name = std::string(base) + " (" + knobs_label(k) + ")";
  a.resolve_energies();
  a.validate();
  return a;
}

namespace {

// Indices of `idx` not dominated within them (accuracy higher, energy lower; equal both: kept).
std::vector<size_t> front(const std::vector<CoDesignPoint>& pts, const std::vector<double>& acc, const std::vector<size_t>& idx) {
  std::vector<size_t> out;
  for (size_t i : idx) {
    bool dominated = false;
    for (size_t j : idx)
      if (j != i && acc[j] >= acc[i] && pts[j].energy_pj <= pts[i].energy_pj &&
          (acc[j] > acc[i] || pts[j].energy_pj < pts[i].energy_pj)) {
        dominated = true;
        break;
      }
    if (!dominated) out.push_back(i);
  }
  return out;
}

}  // namespace

CoDesignResult codesign(const std::vector<CoDesignNet>& nets, const AccelSpaceOptions& o, const AccelKnobs& fixed_accel) {
  if (nets.empty()) fail(ErrorKind::usage, "co-design: no networks to pair with accelerators");
  std::vector<AccelKnobs> space = accel_space(o);
  if (std::find(space.begin(), space.end(), fixed_accel) == space.end()) space.push_back(fixed_accel);
  std::vector<accel::Architecture> archs;
  for (const AccelKnobs& k : space) archs.push_back(build_accel(k));
  CoDesignResult r;
  r.fixed_accel = fixed_accel;
  r.accelerators = static_cast<int64_t>(space.size());
  for (size_t n = 0; n < nets.size(); ++n)
    if (nets[n].accuracy > nets[static_cast<size_t>(r.fixed_net)].accuracy) r.fixed_net = static_cast<int64_t>(n);
  accel::NetworkOptions no;
  no.template_only = o.template_mapping;
  std::vector<double> acc;
  for (size_t n = 0; n < nets.size(); ++n)
    for (size_t a = 0; a < space.size(); ++a) {
      const accel::NetworkCost c = accel::evaluate_network(nets[n].layers, archs[a], no);
      r.points.push_back({static_cast<int64_t>(n), space[a], c.energy_pj, c.cycles});
      acc.push_back(nets[n].accuracy);
    }
  std::vector<size_t> all, fixed_a, fixed_n;
  for (size_t i = 0; i < r.points.size(); ++i) {
    all.push_back(i);
    if (r.points[i].accel == fixed_accel) fixed_a.push_back(i);
    if (r.points[i].net == r.fixed_net) fixed_n.push_back(i);
  }
  for (size_t i : front(r.points, acc, all)) r.points[i].joint_front = true;
  const std::vector<size_t> fa = front(r.points, acc, fixed_a), fn = front(r.points, acc, fixed_n);
  for (size_t i : fa) r.points[i].fixed_accel_front = true;
  for (size_t i : fn) r.points[i].fixed_net_front = true;
  for (size_t i : all) {
    if (!r.points[i].joint_front) continue;
    bool reached = false;
    for (const std::vector<size_t>* f : {&fa, &fn})
      for (size_t j : *f)
        reached = reached || (acc[j] >= acc[i] && r.points[j].energy_pj <= r.points[i].energy_pj);
    r.points[i].beyond_fixed = !reached;
  }
  return r;
}

std::vector<CoDesignNet> searched_networks(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path file = fs::path(dir) / "search.json";
  if (!fs::is_regular_file(file))
    fail(ErrorKind::bad_input, "co-design: '", file.string(), "' does not exist: give the output folder of a finished `leancnn search`");
  const nlohmann::json j = nlohmann::json::parse(io::read_file(file.string()), nullptr, false);
  if (j.is_discarded() || !j.contains("trajectory") || !j["trajectory"].is_array())
    fail(ErrorKind::bad_input, "co-design: '", file.string(), "' is not a search result (no trajectory)");
  std::vector<CoDesignNet> nets;
  std::set<std::string> seen;
  for (const nlohmann::json& e : j["trajectory"]) {
    const std::string hash = e.value("arch_hash", std::string());
    if (hash.empty() || !e.value("error", std::string()).empty() || !e.value("trained", true) || !seen.insert(hash).second)
      continue;
    const fs::path model = fs::path(dir) / "models" / (hash + ".onnx");
    if (!fs::is_regular_file(model)) continue;
    const ir::Graph g = io::load_onnx(model.string(), ops::op_table());
    nets.push_back({e.value("summary", hash), e.value("val_acc", 0.0), accel::extract_workload(g, ops::op_table())});
  }
  if (nets.empty())
    fail(ErrorKind::bad_input, "co-design: no trained model of '", file.string(), "' is in ", (fs::path(dir) / "models").string());
  return nets;
}

Json codesign_json(const std::vector<CoDesignNet>& nets, const CoDesignResult& r) {
  nlohmann::json pts = nlohmann::json::array();
  for (const CoDesignPoint& p : r.points)
    pts.push_back({{"net", nets[static_cast<size_t>(p.net)].name}, {"accuracy", nets[static_cast<size_t>(p.net)].accuracy},
                   {"accel", knobs_label(p.accel)}, {"pes", p.accel.pe_x * p.accel.pe_y}, {"buffer_kb", p.accel.buffer_kb},
                   {"energy_pj", p.energy_pj}, {"cycles", p.cycles}, {"joint_front", p.joint_front},
                   {"fixed_accel_front", p.fixed_accel_front}, {"fixed_net_front", p.fixed_net_front},
                   {"beyond_fixed", p.beyond_fixed}});
  return from_native(nlohmann::json{{"networks", nets.size()},
                                    {"accelerators", r.accelerators},
                                    {"fixed_accel", knobs_label(r.fixed_accel)},
                                    {"fixed_net", nets[static_cast<size_t>(r.fixed_net)].name},
                                    {"points", pts}});
}

}  // namespace leancnn::search
