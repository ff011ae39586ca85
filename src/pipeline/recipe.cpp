// Recipe parsing and validation (recipe.h): YAML → checked, defaults-filled JSON sections,
// every error naming the recipe, the line and the key.
#include "leancnn/pipeline/recipe.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/models/zoo.h"
#include "leancnn/pipeline/step.h"

namespace leancnn::pipeline {

namespace fs = std::filesystem;

namespace {

// Where a problem is: the recipe and a path inside it ("steps[2] (quantize)").
struct Place {
  const std::string* source;
  std::string path;
};

[[noreturn]] void recipe_fail(const Place& at, const YAML::Node& node, const std::string& key, const std::string& why) {
  std::string line;
  if (node.IsDefined() && node.Mark().line >= 0) line = str_cat(", line ", node.Mark().line + 1);
  std::string where = at.path.empty() ? "" : at.path + ": ";
  fail(ErrorKind::bad_input, "recipe '", *at.source, "'", line, ": ", where, key.empty() ? "" : "key '" + key + "': ", why);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string scalar_of(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : std::string(n.IsMap() ? "<a map>" : "<a list>"); }

nlohmann::json read_section(const YAML::Node& map, const std::vector<KeySpec>& keys, const Place& at,
                            const nlohmann::json& base = nlohmann::json::object(), const std::set<std::string>& skip = {});

// A value of a key, converted and checked against its spec.
nlohmann::json read_value(const KeySpec& k, const YAML::Node& n, const Place& at) {
  auto bad = [&](const std::string& why) { recipe_fail(at, n, k.name, why); };
  auto range_problem = [&](double v) -> std::string {
    const bool low = k.min_exclusive ? !(v > k.min) : !(v >= k.min);
    const bool high = k.max_exclusive ? !(v < k.max) : v > k.max;
    if (!std::isnan(v) && !low && !high) return "";
    std::string range = str_cat(k.min_exclusive ? "> " : ">= ", k.min);
    if (std::isinf(k.min)) range.clear();
    if (!std::isinf(k.max)) range += str_cat(range.empty() ? "" : " and ", k.max_exclusive ? "< " : "<= ", k.max);
    return str_cat(" out of range: must be ", range);
  };
  auto check_range = [&](double v) {
    const std::string why = range_problem(v);
    if (!why.empty()) bad(str_cat("value ", scalar_of(n), why));
  };
  auto check_choice = [&](const std::string& s) {
    if (!k.choices.empty() && std::find(k.choices.begin(), k.choices.end(), s) == k.choices.end())
      bad(str_cat("'", s, "' is not one of: ", join(k.choices)));
  };
  switch (k.type) {
    case KeyType::integer: {
      int64_t v = 0;
      if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v)) bad(str_cat("expected an integer, got '", scalar_of(n), "'"));
      check_range(static_cast<double>(v));
      check_choice(std::to_string(v));
      return v;
    }
    case KeyType::number: {
      double v = 0;
      if (!n.IsScalar() || !YAML::convert<double>::decode(n, v)) bad(str_cat("expected a number, got '", scalar_of(n), "'"));
      check_range(v);
      return v;
    }
    case KeyType::boolean: {
      bool v = false;
      if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) bad(str_cat("expected true or false, got '", scalar_of(n), "'"));
      return v;
    }
    case KeyType::string: {
      if (!n.IsScalar() || n.Scalar().empty()) bad(str_cat("expected a non-empty string, got '", scalar_of(n), "'"));
      check_choice(n.Scalar());
      return n.Scalar();
    }
    case KeyType::number_map: {
      nlohmann::json map = nlohmann::json::object();
      if (!n.IsMap()) bad(str_cat("expected a map of names to numbers ({a: 0.3, b: 0.5}), got '", scalar_of(n), "'"));
      for (const auto& kv : n) {
        const std::string name = kv.first.Scalar();
        double v = 0;
        if (!kv.second.IsScalar() || !YAML::convert<double>::decode(kv.second, v))
          recipe_fail(at, kv.second, k.name, str_cat(name, ": expected a number, got '", scalar_of(kv.second), "'"));
        const std::string why = range_problem(v);
        if (!why.empty()) recipe_fail(at, kv.second, k.name, str_cat(name, ": value ", kv.second.Scalar(), why));
        if (map.contains(name)) recipe_fail(at, kv.first, k.name, str_cat("'", name, "' is listed twice"));
        map[name] = v;
      }
      return map;
    }
    case KeyType::section: {
      if (!k.keys.empty()) {
        if (!n.IsMap()) bad(str_cat("expected a map of keys (", k.name, ": {key: value, ...}), got '", scalar_of(n), "'"));
        return read_section(n, k.keys, Place{at.source, at.path + (at.path.empty() ? "" : " ") + k.name});
      }
      // Without keys: scalars only; the step checks the keys and their values.
      nlohmann::json map = nlohmann::json::object();
      if (!n.IsMap()) bad(str_cat("expected a map of settings, got '", scalar_of(n), "'"));
      for (const auto& kv : n) {
        const std::string name = kv.first.Scalar();
        if (!kv.second.IsScalar()) recipe_fail(at, kv.second, k.name, str_cat(name, ": expected a single value"));
        if (map.contains(name)) recipe_fail(at, kv.first, k.name, str_cat("'", name, "' is listed twice"));
        int64_t i = 0;
        double d = 0;
        bool b = false;
        if (YAML::convert<int64_t>::decode(kv.second, i)) map[name] = i;
        else if (YAML::convert<double>::decode(kv.second, d)) map[name] = d;
        else if (YAML::convert<bool>::decode(kv.second, b)) map[name] = b;
        else map[name] = kv.second.Scalar();
      }
      return map;
    }
    case KeyType::string_list: {
      nlohmann::json list = nlohmann::json::array();
      if (n.IsScalar()) {  // one item may be written without brackets
        check_choice(n.Scalar());
        list.push_back(n.Scalar());
        return list;
      }
      if (!n.IsSequence()) bad("expected a list of strings");
      std::set<std::string> seen;
      for (const YAML::Node& item : n) {
        if (!item.IsScalar()) recipe_fail(at, item, k.name, "expected a list of strings");
        if (!k.choices.empty() && std::find(k.choices.begin(), k.choices.end(), item.Scalar()) == k.choices.end())
          recipe_fail(at, item, k.name, str_cat("'", item.Scalar(), "' is not one of: ", join(k.choices)));
        if (!seen.insert(item.Scalar()).second) recipe_fail(at, item, k.name, str_cat("'", item.Scalar(), "' is listed twice"));
        list.push_back(item.Scalar());
      }
      return list;
    }
  }
  return nullptr;
}

// A map section: unknown keys are errors, known keys are checked, absent keys come from `base`
// (when it has them) or from the spec's default. `skip` keys are read by the caller.
nlohmann::json read_section(const YAML::Node& map, const std::vector<KeySpec>& keys, const Place& at,
                            const nlohmann::json& base, const std::set<std::string>& skip) {
  nlohmann::json out = nlohmann::json::object();
  for (const KeySpec& k : keys) {
    if (base.contains(k.name)) out[k.name] = base[k.name];
    else if (!k.def.is_null()) out[k.name] = native(k.def);
  }
  if (!map.IsDefined() || map.IsNull()) return out;
  if (!map.IsMap()) recipe_fail(at, map, "", "expected a map of keys");
  std::map<std::string, const KeySpec*> by_name;
  for (const KeySpec& k : keys) by_name[k.name] = &k;
  for (const auto& kv : map) {
    const std::string name = kv.first.Scalar();
    if (skip.count(name)) continue;
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      std::vector<std::string> known;
      for (const KeySpec& k : keys) known.push_back(k.name);
      for (const std::string& s : skip) known.push_back(s);
      recipe_fail(at, kv.first, name, str_cat("unknown key; known keys: ", known.empty() ? "(none)" : join(known)));
    }
    if (kv.second.IsNull()) recipe_fail(at, kv.first, name, str_cat("no value; expected ", key_type_name(it->second->type)));
    out[name] = read_value(*it->second, kv.second, at);
  }
  return out;
}

std::string resolve_path(const std::string& base_dir, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute() || base_dir.empty()) return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

// A key read outside a section table (seed, output, kind, name).
KeySpec plain_key(const char* name, KeyType type, double min = -std::numeric_limits<double>::infinity()) {
  KeySpec k;
  k.name = name;
  k.type = type;
  k.min = min;
  return k;
}

bool valid_step_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return s != "input" && s != "report";
}

}  // namespace

Json Recipe::to_json() const {
  nlohmann::json steps_json = nlohmann::json::array();
  for (const StepSpec& s : steps) steps_json.push_back({{"kind", s.kind}, {"name", s.name}, {"settings", native(s.settings)}});
  return from_native({{"source", source}, {"model", native(model)}, {"data", native(data)}, {"train", native(train)},
                      {"steps", steps_json}, {"evaluate", native(evaluate)}, {"seed", seed}, {"output", output}});
}

Recipe parse_recipe(const std::string& yaml_text, const std::string& source, const std::string& base_dir) {
  Recipe r;
  r.source = source;
  r.base_dir = base_dir;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail(ErrorKind::bad_input, "recipe '", source, "', line ", e.mark.line + 1, ": not valid YAML: ", e.msg);
  }
  const Place top{&r.source, ""};
  if (!root.IsMap()) recipe_fail(top, root, "", "expected a map with the keys model, data, train, steps, evaluate");
  const std::set<std::string> sections = {"model", "data", "train", "steps", "evaluate", "seed", "output", "description"};
  for (const auto& kv : root)
    if (!sections.count(kv.first.Scalar()))
      recipe_fail(top, kv.first, kv.first.Scalar(),
                  "unknown key; known keys: data, description, evaluate, model, output, seed, steps, train");

  // model
  const Place model_at{&r.source, "model"};
  const YAML::Node model = root["model"];
  if (!model.IsDefined()) recipe_fail(top, root, "model", "missing; give model: {zoo: NAME} or model: {file: FILE.onnx}");
  r.model = from_native(read_section(model, model_keys(), model_at));
  nlohmann::json& m = native(r.model);
  const bool has_zoo = m.contains("zoo"), has_file = m.contains("file");
  if (has_zoo == has_file) recipe_fail(model_at, model, "", "give exactly one of zoo (a zoo model) and file (an ONNX file)");
  if (has_file) {
    const std::string path = resolve_path(base_dir, m["file"]);
    if (!fs::is_regular_file(path)) recipe_fail(model_at, model["file"], "file", str_cat("no such file '", path, "'"));
    m["file"] = path;
    m.erase("input");
    m.erase("classes");
  } else {
    try {
      models::parse_chw(m["input"]);
    } catch (const Error&) {
      recipe_fail(model_at, model["input"], "input", str_cat("expected CxHxW such as 1x28x28, got '", m["input"].get<std::string>(), "'"));
    }
  }

  // data
  const Place data_at{&r.source, "data"};
  r.data = from_native(read_section(root["data"], data_keys(), data_at));
  nlohmann::json& d = native(r.data);
  if (d["dataset"] != "fashion-mnist") d["dataset"] = resolve_path(base_dir, d["dataset"]);

  // seed, output
  if (root["seed"].IsDefined())
    r.seed = static_cast<uint64_t>(read_value(plain_key("seed", KeyType::integer, 0), root["seed"], top).get<int64_t>());
  if (root["output"].IsDefined()) r.output = resolve_path(base_dir, read_value(plain_key("output", KeyType::string), root["output"], top));
  if (root["description"].IsDefined()) read_value(plain_key("description", KeyType::string), root["description"], top);

  // train defaults
  r.train = from_native(read_section(root["train"], train_keys(), {&r.source, "train"}));

  // steps
  const YAML::Node steps = root["steps"];
  if (steps.IsDefined() && !steps.IsNull() && !steps.IsSequence())
    recipe_fail(top, steps, "steps", "expected a list of steps (- kind: train ...)");
  std::map<std::string, int> name_count;
  std::set<std::string> names;
  bool quantized = false, trained = false, binarized = false;
  for (size_t i = 0; steps.IsDefined() && i < steps.size(); ++i) {
    const YAML::Node s = steps[i];
    Place at{&r.source, str_cat("steps[", i + 1, "]")};
    if (!s.IsMap()) recipe_fail(at, s, "", "expected a map with a key 'kind'");
    if (!s["kind"].IsDefined()) {
      std::vector<std::string> kinds;
      for (const StepKind& k : step_kinds()) kinds.push_back(k.name);
      recipe_fail(at, s, "kind", str_cat("missing; one of: ", join(kinds)));
    }
    const std::string kind = read_value(plain_key("kind", KeyType::string), s["kind"], at);
    const StepKind* sk = find_step_kind(kind);
    if (!sk) {
      std::vector<std::string> kinds;
      for (const StepKind& k : step_kinds()) kinds.push_back(k.name);
      recipe_fail(at, s["kind"], "kind", str_cat("unknown step kind '", kind, "'; one of: ", join(kinds)));
    }
    if (!sk->run) recipe_fail(at, s["kind"], "kind", str_cat("step kind '", kind, "' is not available yet (", sk->unavailable, ")"));
    at.path += str_cat(" (", kind, ")");
    StepSpec spec;
    spec.kind = kind;
    spec.line = s.Mark().line + 1;
    spec.settings = from_native(read_section(s, sk->keys(), at, native(sk->defaults(r)), {"kind", "name"}));
    for (const auto& kv : s) spec.key_lines[kv.first.Scalar()] = kv.first.Mark().line + 1;
    if (s["name"].IsDefined()) {
      spec.name = read_value(plain_key("name", KeyType::string), s["name"], at).get<std::string>();
      if (!valid_step_name(spec.name))
        recipe_fail(at, s["name"], "name", str_cat("'", spec.name, "' must be 1-64 letters, digits, '_' or '-' (and not 'input' or 'report')"));
      if (names.count(spec.name)) recipe_fail(at, s["name"], "name", str_cat("'", spec.name, "' is used by an earlier step"));
    } else {
      const int n = ++name_count[kind];
      spec.name = n == 1 ? kind : str_cat(kind, "_", n);
      while (names.count(spec.name)) spec.name += "_";
    }
    names.insert(spec.name);
    if ((kind == "train" || kind == "finetune" || kind == "qat") && quantized)
      recipe_fail(at, s["kind"], "kind", str_cat("a ", kind, " step after a quantize or qat step would train a quantized (QDQ) model: "
                                                 "put it before that step, or use one qat step (quantization-aware fine-tuning "
                                                 "of the float model) instead of quantize + ", kind));
    if (kind == "prune" && quantized)
      recipe_fail(at, s["kind"], "kind", "a prune step after a quantize or qat step would prune a quantized (QDQ) model: "
                                         "put it before that step (prune the float model, then quantize)");
    if (kind == "decompose" && quantized)
      recipe_fail(at, s["kind"], "kind", "a decompose step after a quantize or qat step would factorise a quantized (QDQ) model: "
                                         "put it before that step (decompose the float model, then quantize)");
    if (kind == "binarize" && quantized)
      recipe_fail(at, s["kind"], "kind", "a binarize step after a quantize or qat step would binarize a quantized (QDQ) model: "
                                         "binarize the float model instead");
    if (binarized && kind != "binarize")
      recipe_fail(at, s["kind"], "kind", str_cat("a ", kind, " step after a binarize step would work on packed binary "
                                                 "weights: put it before the binarize step (binarize trains itself)"));
    if (kind == "binarize" && binarized)
      recipe_fail(at, s["kind"], "kind", "one binarize step per recipe: its variant is packed (compare methods in separate recipes)");
    if (kind == "prune" && native(spec.settings)["prune_schedule"] == "lottery" && trained)
      recipe_fail(at, s["prune_schedule"], "prune_schedule",
                  "a lottery prune step trains the model it is given from its initialisation (its own epochs; the "
                  "ticket is rewound to rewind_epoch of that training): remove the train or finetune step before it");
    if (kind == "train" || kind == "finetune") trained = true;
    if (kind == "quantize" || kind == "qat") quantized = true;
    if (kind == "binarize") binarized = true;
    r.steps.push_back(spec);
  }

  // evaluate
  const Place eval_at{&r.source, "evaluate"};
  const YAML::Node ev = root["evaluate"];
  nlohmann::json evaluate = read_section(ev, evaluate_keys(), eval_at, nlohmann::json::object(), {"latency", "accel"});
  auto optional_section = [&](const char* key, const std::vector<KeySpec>& keys) -> nlohmann::json {
    const YAML::Node n = ev.IsDefined() && ev.IsMap() ? ev[key] : YAML::Node();
    bool on = true;
    if (n.IsDefined() && n.IsScalar()) {
      if (!YAML::convert<bool>::decode(n, on) || on)
        recipe_fail({&r.source, str_cat("evaluate.", key)}, n, key, "expected a map of settings, or false to switch it off");
      return nullptr;
    }
    return read_section(n, keys, {&r.source, str_cat("evaluate.", key)});
  };
  evaluate["latency"] = optional_section("latency", latency_keys());
  evaluate["accel"] = optional_section("accel", accel_keys());
  r.evaluate = from_native(std::move(evaluate));
  return r;
}

Recipe load_recipe(const std::string& path) {
  std::string text;
  try {
    text = io::read_file(path);
  } catch (const Error&) {
    fail(ErrorKind::bad_input, "recipe '", path, "': cannot read the file");
  }
  return parse_recipe(text, path, fs::path(path).parent_path().string());
}

Recipe default_recipe() { return parse_recipe(default_recipe_text(), "<default recipe>", ""); }

}  // namespace leancnn::pipeline
