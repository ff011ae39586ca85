// What every search space shares (space.h): validation, sampling and mutation over the
// decision list, the registry, content hashes and the YAML form.
#include "leancnn/search/space.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "leancnn/core/error.h"
#include "spaces.h"

namespace leancnn::search {

std::string SearchSpace::describe(const Architecture& a) const {
  std::string s;
  for (size_t i = 0; i < decisions_.size(); ++i) {
    if (!s.empty()) s += ' ';
    s += decisions_[i].options[static_cast<size_t>(a.choices[i])];
  }
  return s;
}

void SearchSpace::validate(const Architecture& a) const {
  if (a.space != name()) fail(ErrorKind::bad_input, "architecture of space '", a.space, "' given to space '", name(), "'");
  if (a.choices.size() != decisions_.size())
    fail(ErrorKind::bad_input, "space '", name(), "' has ", decisions_.size(), " decisions, the architecture ",
         a.choices.size());
  for (size_t i = 0; i < decisions_.size(); ++i)
    if (a.choices[i] < 0 || a.choices[i] >= static_cast<int>(decisions_[i].options.size()))
      fail(ErrorKind::bad_input, "decision '", decisions_[i].name, "': choice ", a.choices[i], " is not in [0, ",
           decisions_[i].options.size(), ")");
}

Architecture SearchSpace::sample(Rng& rng) const {
  Architecture a{name(), {}};
  for (const Decision& d : decisions_) a.choices.push_back(static_cast<int>(rng.below(static_cast<int64_t>(d.options.size()))));
  return a;
}

Architecture SearchSpace::mutate(const Architecture& a, Rng& rng, int count) const {
  Architecture m = a;
  // Mutating a decision the network does not use would change nothing; pick among the ones
  // that reach it (those where changing the choice changes the canonical form) when possible.
  const Architecture canon = canonical(a);
  for (int k = 0; k < count; ++k) {
    std::vector<size_t> live;
    for (size_t i = 0; i < decisions_.size(); ++i) {
      if (decisions_[i].options.size() < 2) continue;
      Architecture probe = canon;
      probe.choices[i] = (probe.choices[i] + 1) % static_cast<int>(decisions_[i].options.size());
      if (canonical(probe) != canon) live.push_back(i);
    }
    if (live.empty()) break;
    const size_t i = live[static_cast<size_t>(rng.below(static_cast<int64_t>(live.size())))];
    const int n = static_cast<int>(decisions_[i].options.size());
    m.choices[i] = (m.choices[i] + 1 + static_cast<int>(rng.below(n - 1))) % n;
  }
  return m;
}

int SearchSpace::find(const std::string& decision) const {
  for (size_t i = 0; i < decisions_.size(); ++i)
    if (decisions_[i].name == decision) return static_cast<int>(i);
  return -1;
}

double SearchSpace::log2_size() const {
  double s = 0;
  for (const Decision& d : decisions_) s += std::log2(static_cast<double>(d.options.size()));
  return s;
}

std::vector<std::string> space_names() { return {"mobile", "macro", "cell"}; }

std::unique_ptr<SearchSpace> make_space(const std::string& name) {
  if (name == "mobile") return make_mobile_space();
  if (name == "macro") return make_macro_space();
  if (name == "cell") return make_cell_space();
  fail(ErrorKind::usage, "unknown search space '", name, "' (known: mobile, macro, cell)");
}

std::string content_hash(const std::string& text) {
  // Two FNV-1a 64-bit hashes with different offset bases: 128 bits, no dependency.
  uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
  for (unsigned char c : text) {
    h1 = (h1 ^ c) * 0x100000001b3ull;
    h2 = (h2 ^ static_cast<unsigned char>(c + 0x5bu)) * 0x100000001b3ull;
  }
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(h1),
                static_cast<unsigned long long>(h2));
  return buf;
}

std::string arch_hash(const SearchSpace& space, const Architecture& a) {
  space.validate(a);
  const Architecture c = space.canonical(a);
  std::string text = c.space + ":";
  for (int x : c.choices) text += std::to_string(x) + ",";
  return content_hash(text);
}

std::string to_yaml(const SearchSpace& space, const Architecture& a) {
  space.validate(a);
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "space" << YAML::Value << a.space;
  out << YAML::Key << "hash" << YAML::Value << arch_hash(space, a);
  out << YAML::Key << "choices" << YAML::Value << YAML::BeginMap;
  for (size_t i = 0; i < a.choices.size(); ++i)
    out << YAML::Key << space.decisions()[i].name << YAML::Value
        << space.decisions()[i].options[static_cast<size_t>(a.choices[i])];
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Architecture from_yaml(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail(ErrorKind::bad_input, "architecture YAML: ", e.what());
  }
  if (!root.IsMap() || !root["space"]) fail(ErrorKind::bad_input, "architecture YAML: no 'space' key (mobile, macro or cell)");
  const std::string space_name = root["space"].as<std::string>();
  std::unique_ptr<SearchSpace> space;
  try {
    space = make_space(space_name);
  } catch (Error& e) {
    fail(ErrorKind::bad_input, "architecture YAML: ", e.what());
  }
  Architecture a{space_name, std::vector<int>(space->decisions().size(), 0)};
  const YAML::Node choices = root["choices"];
  if (choices && !choices.IsMap()) fail(ErrorKind::bad_input, "architecture YAML: 'choices' must be a map of decision: option");
  if (choices) {
    for (const auto& kv : choices) {
      const std::string key = kv.first.as<std::string>(), label = kv.second.as<std::string>();
      const int i = space->find(key);
      if (i < 0) fail(ErrorKind::bad_input, "architecture YAML: space '", space_name, "' has no decision '", key, "'");
      const auto& opts = space->decisions()[static_cast<size_t>(i)].options;
      int found = -1;
      for (size_t k = 0; k < opts.size(); ++k)
        if (opts[k] == label) found = static_cast<int>(k);
      if (found < 0) {
        std::string list;
        for (const auto& o : opts) list += (list.empty() ? "" : ", ") + o;
        fail(ErrorKind::bad_input, "architecture YAML: decision '", key, "': '", label, "' is not one of ", list);
      }
      a.choices[static_cast<size_t>(i)] = found;
    }
  }
  if (root["hash"] && root["hash"].as<std::string>() != arch_hash(*space, a))
    fail(ErrorKind::bad_input, "architecture YAML: the recorded hash ", root["hash"].as<std::string>(),
         " is not the hash of its choices (", arch_hash(*space, a), "): edited by hand? delete the 'hash' line");
  return a;
}

Architecture load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::bad_input, "cannot read architecture file '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return from_yaml(ss.str());
  } catch (Error& e) {
    e.add_context(str_cat("file '", path, "'"));
    throw;
  }
}

std::string choices_json(const SearchSpace& space, const Architecture& a) {
  std::string s = "{";
  for (size_t i = 0; i < a.choices.size(); ++i) {
    if (i) s += ",";
    s += str_cat("\"", space.decisions()[i].name, "\":\"", space.decisions()[i].options[static_cast<size_t>(a.choices[i])], "\"");
  }
  return s + "}";
}

}  // namespace leancnn::search
