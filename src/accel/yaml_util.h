// YAML helpers shared by the architecture and mapping loaders (internal to accel): typed
// field reads whose errors name the file, the place (level, layer) and the field.
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <string>

#include "leancnn/core/error.h"

namespace leancnn::accel::detail {

struct YamlPlace {
  std::string source;  // "architecture file 'a.yaml'"
  std::string where;   // "level 'GlobalBuffer'" (may be empty)
};

[[noreturn]] inline void yaml_fail(const YamlPlace& at, const std::string& field, const YAML::Node& node,
                                   const std::string& why) {
  std::string line;
  if (node.IsDefined() && node.Mark().line >= 0) line = str_cat(" (line ", node.Mark().line + 1, ")");
  fail(ErrorKind::bad_input, at.source, line, ": ", at.where.empty() ? "" : at.where + ": ", "field '", field, "': ", why);
}

inline std::string scalar_text(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : std::string("<not a scalar>"); }

inline double yaml_number(const YAML::Node& map, const char* key, const YamlPlace& at, double def) {
  const YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) return def;
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
    return n.as<double>();
  } catch (const YAML::Exception&) {
    yaml_fail(at, key, n, str_cat("expected a number, got '", scalar_text(n), "'"));
  }
}

inline int64_t yaml_int(const YAML::Node& map, const char* key, const YamlPlace& at, int64_t def) {
  const YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) return def;
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
    return n.as<int64_t>();
  } catch (const YAML::Exception&) {
    yaml_fail(at, key, n, str_cat("expected an integer, got '", scalar_text(n), "'"));
  }
}

inline bool yaml_bool(const YAML::Node& map, const char* key, const YamlPlace& at, bool def) {
  const YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) return def;
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
    return n.as<bool>();
  } catch (const YAML::Exception&) {
    yaml_fail(at, key, n, str_cat("expected true or false, got '", scalar_text(n), "'"));
  }
}

inline std::string yaml_string(const YAML::Node& map, const char* key, const YamlPlace& at, const std::string& def) {
  const YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) return def;
  if (!n.IsScalar()) yaml_fail(at, key, n, "expected a string");
  return n.Scalar();
}

// Rejects keys outside `known` (catches typos such as 'capacty').
inline void yaml_known_keys(const YAML::Node& map, const std::set<std::string>& known, const YamlPlace& at) {
  if (!map.IsMap()) return;
  for (const auto& kv : map) {
    const std::string k = kv.first.Scalar();
    if (!known.count(k)) {
      std::string list;
      for (const auto& s : known) list += (list.empty() ? "" : ", ") + s;
      yaml_fail(at, k, kv.first, str_cat("unknown field; known fields: ", list));
    }
  }
}

}  // namespace leancnn::accel::detail
