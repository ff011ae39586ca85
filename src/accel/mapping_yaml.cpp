// Mapping files: YAML lists of per-level loop factors, resolved against an architecture.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "leancnn/accel/mapping.h"
#include "leancnn/core/error.h"
#include "yaml_util.h"

namespace leancnn::accel {

namespace {
using detail::YamlPlace;
using detail::yaml_fail;
using detail::yaml_known_keys;
using detail::yaml_string;

MappingSpec parse_spec(const YAML::Node& list, const std::string& source, const std::string& where) {
  const YamlPlace at{source, where};
  if (!list.IsSequence()) yaml_fail(at, "mapping", list, "expected a list of {level, temporal, spatial_x, spatial_y}");
  MappingSpec spec;
  spec.source = where.empty() ? source : str_cat(source, ": ", where);
  for (const auto& e : list) {
    if (!e.IsMap()) yaml_fail(at, "mapping", e, "each entry must be a map");
    YamlPlace eat{source, where};
    MappingSpec::Entry entry;
    entry.level = yaml_string(e, "level", eat, "");
    if (entry.level.empty()) yaml_fail(eat, "level", e, "every entry names its architecture level");
    eat.where = str_cat(where.empty() ? "" : where + ": ", "level '", entry.level, "'");
    yaml_known_keys(e, {"level", "temporal", "spatial_x", "spatial_y"}, eat);
    entry.temporal = yaml_string(e, "temporal", eat, "");
    entry.spatial_x = yaml_string(e, "spatial_x", eat, "");
    entry.spatial_y = yaml_string(e, "spatial_y", eat, "");
    entry.line = e.Mark().line + 1;
    spec.entries.push_back(std::move(entry));
  }
  return spec;
}

// "K32 P16" → factors and the order of appearance. Throws naming the place and field.
void parse_factors(const std::string& text, const std::string& place, const char* field, DimFactors& factors,
                   std::vector<Dim>* order) {
  std::istringstream in(text);
  std::string tok;
  bool seen[kNumDims] = {false};
  while (in >> tok) {
    Dim d;
    if (tok.size() < 2 || !dim_from_letter(tok[0], d))
      fail(ErrorKind::bad_input, place, ": field '", field, "': '", tok,
           "' is not a factor like M16 (dimensions N, G, M/K, C, P, Q, R, S)");
    int64_t f = 0;
    try {
      size_t used = 0;
      f = std::stoll(tok.substr(1), &used);
      if (used != tok.size() - 1) f = 0;
    } catch (const std::exception&) {
      f = 0;
    }
    if (f < 1) fail(ErrorKind::bad_input, place, ": field '", field, "': '", tok, "' needs a factor >= 1");
    if (seen[static_cast<int>(d)]) fail(ErrorKind::bad_input, place, ": field '", field, "': dimension ", dim_letter(d), " appears twice");
    seen[static_cast<int>(d)] = true;
    factors[static_cast<int>(d)] = f;
    if (order) order->push_back(d);
  }
}

}  // namespace

const MappingSpec* MappingFile::find(const std::string& layer) const {
  auto it = layers.find(layer);
  if (it != layers.end()) return &it->second;
  return all_layers ? &*all_layers : nullptr;
}

MappingFile parse_mapping_file(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail(ErrorKind::bad_input, source, ": not valid YAML: ", e.what());
  }
  const YamlPlace at{source, ""};
  if (!root.IsMap()) fail(ErrorKind::bad_input, source, ": expected a map with 'mapping' or 'layers'");
  yaml_known_keys(root, {"mapping", "layers"}, at);
  MappingFile f;
  f.source = source;
  if (root["mapping"].IsDefined()) f.all_layers = parse_spec(root["mapping"], source, "");
  if (root["layers"].IsDefined()) {
    const YAML::Node layers = root["layers"];
    if (!layers.IsMap()) yaml_fail(at, "layers", layers, "expected a map from layer name to a mapping list");
    for (const auto& kv : layers) {
      const std::string name = kv.first.Scalar();
      f.layers[name] = parse_spec(kv.second, source, str_cat("layer '", name, "'"));
    }
  }
  if (!f.all_layers && f.layers.empty()) fail(ErrorKind::bad_input, source, ": has neither 'mapping' nor 'layers'");
  return f;
}

MappingFile load_mapping_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::bad_input, "cannot open mapping file '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_mapping_file(ss.str(), str_cat("mapping file '", path, "'"));
}

Mapping resolve_mapping(const MappingSpec& spec, const Architecture& arch) {
  Mapping m = empty_mapping(arch.num_levels());
  std::vector<bool> seen(static_cast<size_t>(arch.num_levels()), false);
  for (const MappingSpec::Entry& e : spec.entries) {
    int index = -1;
    for (int i = 0; i < arch.num_levels(); ++i)
      if (arch.levels[static_cast<size_t>(i)].name == e.level) index = i;
    const std::string place = str_cat(spec.source, " (line ", e.line, "): level '", e.level, "'");
    if (index < 0) {
      std::string names;
      for (const StorageLevel& l : arch.levels) names += (names.empty() ? "" : ", ") + l.name;
      fail(ErrorKind::bad_input, place, ": field 'level': architecture '", arch.name, "' has no such level (it has ", names, ")");
    }
    if (seen[static_cast<size_t>(index)]) fail(ErrorKind::bad_input, place, ": field 'level': the level appears twice");
    seen[static_cast<size_t>(index)] = true;
    LevelMapping& l = m.levels[static_cast<size_t>(index)];
    std::vector<Dim> order;
    parse_factors(e.temporal, place, "temporal", l.temporal, &order);
    parse_factors(e.spatial_x, place, "spatial_x", l.spatial_x, nullptr);
    parse_factors(e.spatial_y, place, "spatial_y", l.spatial_y, nullptr);
    // Listed dimensions first (outermost first), then the rest (factor 1, order irrelevant).
    for (Dim d : kAllDims)
      if (std::find(order.begin(), order.end(), d) == order.end()) order.push_back(d);
    std::copy(order.begin(), order.end(), l.order.begin());
  }
  return m;
}

}  // namespace leancnn::accel
