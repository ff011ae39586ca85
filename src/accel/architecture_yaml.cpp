// The architecture YAML loader: every field checked, errors naming the file, level and field.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "leancnn/accel/architecture.h"
#include "leancnn/core/error.h"
#include "yaml_util.h"

namespace leancnn::accel {

namespace {
using detail::YamlPlace;
using detail::yaml_bool;
using detail::yaml_fail;
using detail::yaml_int;
using detail::yaml_known_keys;
using detail::yaml_number;
using detail::yaml_string;

std::vector<Dim> parse_dims(const YAML::Node& n, const char* field, const YamlPlace& at) {
  std::vector<Dim> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) yaml_fail(at, field, n, "expected a list of dimension letters, e.g. [M, C]");
  for (const auto& e : n) {
    Dim d;
    const std::string s = e.IsScalar() ? e.Scalar() : "";
    if (s.size() != 1 || !dim_from_letter(s[0], d))
      yaml_fail(at, field, e, str_cat("'", s, "' is not a dimension (N, G, M, C, P, Q, R, S)"));
    out.push_back(d);
  }
  return out;
}

Operand parse_operand(const YAML::Node& n, const char* field, const YamlPlace& at) {
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  if (s == "weights") return Operand::weights;
  if (s == "inputs") return Operand::inputs;
  if (s == "outputs") return Operand::outputs;
  yaml_fail(at, field, n, str_cat("'", s, "' is not an operand (weights, inputs, outputs)"));
}

double positive(double v, const YAML::Node& map, const char* key, const YamlPlace& at) {
  if (v < 0) yaml_fail(at, key, map[key], str_cat("must be >= 0, got ", v));
  return v;
}

FanOut parse_fanout(const YAML::Node& n, const YamlPlace& at) {
  FanOut f;
  if (!n.IsDefined() || n.IsNull()) return f;
  if (!n.IsMap()) yaml_fail(at, "fanout", n, "expected a map {x, y, multicast, reduction, hop_energy}");
  const YamlPlace fat{at.source, at.where + ": fanout"};
  yaml_known_keys(n, {"x", "y", "multicast", "reduction", "hop_energy", "x_dims", "y_dims"}, fat);
  f.x = yaml_int(n, "x", fat, 1);
  f.y = yaml_int(n, "y", fat, 1);
  if (f.x < 1) yaml_fail(fat, "x", n["x"], str_cat("must be >= 1, got ", f.x));
  if (f.y < 1) yaml_fail(fat, "y", n["y"], str_cat("must be >= 1, got ", f.y));
  f.multicast = yaml_bool(n, "multicast", fat, true);
  f.reduction = yaml_bool(n, "reduction", fat, true);
  f.hop_energy = yaml_number(n, "hop_energy", fat, -1);
  f.x_dims = parse_dims(n["x_dims"], "x_dims", fat);
  f.y_dims = parse_dims(n["y_dims"], "y_dims", fat);
  return f;
}

StorageLevel parse_level(const YAML::Node& n, int index, const std::string& source) {
  YamlPlace at{source, str_cat("level ", index)};
  if (!n.IsMap()) yaml_fail(at, "levels", n, "each level must be a map");
  StorageLevel l;
  l.name = yaml_string(n, "name", at, "");
  if (l.name.empty()) yaml_fail(at, "name", n["name"], "every level needs a name");
  at.where = str_cat("level '", l.name, "'");
  yaml_known_keys(n,
                  {"name", "kind", "capacity_words", "capacity_kb", "word_bits", "vector_width", "read_bandwidth",
                   "write_bandwidth", "read_energy", "write_energy", "update_energy", "keeps", "bypass", "compressed",
                   "fanout"},
                  at);
  const std::string kind = yaml_string(n, "kind", at, "sram");
  if (kind != "dram" && kind != "sram") yaml_fail(at, "kind", n["kind"], str_cat("'", kind, "' is not dram or sram"));
  l.dram = kind == "dram";
  l.word_bits = static_cast<int>(yaml_int(n, "word_bits", at, 16));
  if (l.word_bits < 1) yaml_fail(at, "word_bits", n["word_bits"], "must be >= 1");
  l.vector_width = static_cast<int>(yaml_int(n, "vector_width", at, 1));
  if (l.vector_width < 1) yaml_fail(at, "vector_width", n["vector_width"], "must be >= 1");
  if (n["capacity_words"].IsDefined() && n["capacity_kb"].IsDefined())
    yaml_fail(at, "capacity_kb", n["capacity_kb"], "give capacity_words or capacity_kb, not both");
  l.capacity_words = yaml_int(n, "capacity_words", at, 0);
  if (l.capacity_words < 0) yaml_fail(at, "capacity_words", n["capacity_words"], "must be >= 0");
  const double kb = yaml_number(n, "capacity_kb", at, 0);
  if (kb < 0) yaml_fail(at, "capacity_kb", n["capacity_kb"], "must be >= 0");
  if (kb > 0) l.capacity_words = static_cast<int64_t>(kb * 1024.0 * 8.0 / l.word_bits);
  l.read_bandwidth = positive(yaml_number(n, "read_bandwidth", at, 0), n, "read_bandwidth", at);
  l.write_bandwidth = positive(yaml_number(n, "write_bandwidth", at, 0), n, "write_bandwidth", at);
  l.read_energy = yaml_number(n, "read_energy", at, -1);
  l.write_energy = yaml_number(n, "write_energy", at, -1);
  l.update_energy = yaml_number(n, "update_energy", at, -1);
  if (n["keeps"].IsDefined() && n["bypass"].IsDefined())
    yaml_fail(at, "bypass", n["bypass"], "give keeps or bypass, not both");
  if (n["keeps"].IsDefined()) {
    if (!n["keeps"].IsSequence()) yaml_fail(at, "keeps", n["keeps"], "expected a list of operands");
    l.keeps = {false, false, false};
    for (const auto& e : n["keeps"]) l.keeps[static_cast<int>(parse_operand(e, "keeps", at))] = true;
  }
  if (n["bypass"].IsDefined()) {
    if (!n["bypass"].IsSequence()) yaml_fail(at, "bypass", n["bypass"], "expected a list of operands");
    for (const auto& e : n["bypass"]) l.keeps[static_cast<int>(parse_operand(e, "bypass", at))] = false;
  }
  l.compressed = yaml_bool(n, "compressed", at, false);
  l.fanout = parse_fanout(n["fanout"], at);
  return l;
}

Compute parse_compute(const YAML::Node& n, const std::string& source) {
  Compute c;
  if (!n.IsDefined() || n.IsNull()) return c;
  const YamlPlace at{source, "compute"};
  if (!n.IsMap()) yaml_fail(at, "compute", n, "expected a map");
  yaml_known_keys(n,
                  {"kind", "datapath", "mac_energy", "native_bits", "macs_per_cycle", "sparsity", "sparse_operands",
                   "metadata_bits", "xnor_width", "cell_bits", "dac_bits", "dac_energy", "adc_energy", "cell_energy"},
                  at);
  const std::string kind = yaml_string(n, "kind", at, "mac");
  if (kind == "mac") c.kind = ComputeKind::mac;
  else if (kind == "systolic") c.kind = ComputeKind::systolic;
  else if (kind == "pim") c.kind = ComputeKind::pim;
  else yaml_fail(at, "kind", n["kind"], str_cat("'", kind, "' is not mac, systolic or pim"));
  const std::string dp = yaml_string(n, "datapath", at, "standard");
  if (dp == "standard") c.datapath = Datapath::standard;
  else if (dp == "bit_serial") c.datapath = Datapath::bit_serial;
  else if (dp == "bit_fused") c.datapath = Datapath::bit_fused;
  else if (dp == "xnor") c.datapath = Datapath::xnor;
  else yaml_fail(at, "datapath", n["datapath"], str_cat("'", dp, "' is not standard, bit_serial, bit_fused or xnor"));
  c.mac_energy = yaml_number(n, "mac_energy", at, -1);
  c.native_bits = static_cast<int>(yaml_int(n, "native_bits", at, 16));
  if (c.native_bits < 1) yaml_fail(at, "native_bits", n["native_bits"], "must be >= 1");
  c.macs_per_cycle = yaml_number(n, "macs_per_cycle", at, 1);
  if (!(c.macs_per_cycle > 0)) yaml_fail(at, "macs_per_cycle", n["macs_per_cycle"], "must be > 0");
  const std::string sp = yaml_string(n, "sparsity", at, "none");
  if (sp == "none") c.sparsity = SparsityMode::none;
  else if (sp == "gating") c.sparsity = SparsityMode::gating;
  else if (sp == "skipping") c.sparsity = SparsityMode::skipping;
  else yaml_fail(at, "sparsity", n["sparsity"], str_cat("'", sp, "' is not none, gating or skipping"));
  if (n["sparse_operands"].IsDefined()) {
    if (!n["sparse_operands"].IsSequence()) yaml_fail(at, "sparse_operands", n["sparse_operands"], "expected a list");
    c.sparse_weights = c.sparse_inputs = false;
    for (const auto& e : n["sparse_operands"]) {
      const Operand t = parse_operand(e, "sparse_operands", at);
      if (t == Operand::outputs) yaml_fail(at, "sparse_operands", e, "only weights and inputs can be skipped");
      (t == Operand::weights ? c.sparse_weights : c.sparse_inputs) = true;
    }
  }
  c.metadata_bits = static_cast<int>(yaml_int(n, "metadata_bits", at, 4));
  if (c.metadata_bits < 0) yaml_fail(at, "metadata_bits", n["metadata_bits"], "must be >= 0");
  c.xnor_width = static_cast<int>(yaml_int(n, "xnor_width", at, 32));
  if (c.xnor_width < 1) yaml_fail(at, "xnor_width", n["xnor_width"], "must be >= 1");
  c.cell_bits = static_cast<int>(yaml_int(n, "cell_bits", at, 2));
  if (c.cell_bits < 1) yaml_fail(at, "cell_bits", n["cell_bits"], "must be >= 1");
  c.dac_bits = static_cast<int>(yaml_int(n, "dac_bits", at, 1));
  if (c.dac_bits < 1) yaml_fail(at, "dac_bits", n["dac_bits"], "must be >= 1");
  c.dac_energy = positive(yaml_number(n, "dac_energy", at, 0), n, "dac_energy", at);
  c.adc_energy = positive(yaml_number(n, "adc_energy", at, 0), n, "adc_energy", at);
  c.cell_energy = positive(yaml_number(n, "cell_energy", at, 0), n, "cell_energy", at);
  return c;
}

}  // namespace

Architecture parse_architecture(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail(ErrorKind::bad_input, source, ": not valid YAML: ", e.what());
  }
  const YamlPlace at{source, ""};
  if (!root.IsMap()) fail(ErrorKind::bad_input, source, ": expected a map with name, levels and compute");
  yaml_known_keys(root, {"name", "dataflow", "energy_table", "levels", "compute"}, at);
  Architecture a;
  a.name = yaml_string(root, "name", at, "custom");
  const std::string df = yaml_string(root, "dataflow", at, "ws");
  try {
    a.dataflow = parse_dataflow(df);
  } catch (const Error& e) {
    yaml_fail(at, "dataflow", root["dataflow"], e.message());
  }
  a.energy_table = yaml_string(root, "energy_table", at, "eyeriss");
  const YAML::Node levels = root["levels"];
  if (!levels.IsSequence() || levels.size() == 0)
    yaml_fail(at, "levels", levels, "expected a non-empty list of storage levels, outermost (DRAM) first");
  for (size_t i = 0; i < levels.size(); ++i) a.levels.push_back(parse_level(levels[i], static_cast<int>(i), source));
  a.compute = parse_compute(root["compute"], source);
  try {
    a.resolve_energies();
    a.validate();
  } catch (Error& e) {
    e.add_context(source);
    throw;
  }
  return a;
}

Architecture load_architecture(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::bad_input, "cannot open architecture file '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_architecture(ss.str(), str_cat("architecture file '", path, "'"));
}

}  // namespace leancnn::accel
