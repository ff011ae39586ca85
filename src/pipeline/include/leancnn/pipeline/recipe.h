// Recipes: the YAML file that names a model, its data, the training settings, an ordered list
// of steps and the evaluations run on every variant (docs/recipes.md has every key). Parsing
// validates everything before any work starts: an unknown key or a bad value is
// Error(bad_input) naming the recipe, the line and the key.
#pragma once
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "leancnn/core/json.h"

namespace leancnn::pipeline {

// number_map: a map from names to numbers ({conv1: 0.3, fc1: 0.9}); min/max apply to each number.
// section: a nested map. With KeySpec::keys, checked against them (defaults filled in), e.g. a
// step's `distill:`, and with a null default absent from the settings unless given; without
// keys, a map of scalar settings the step checks itself (prune's `structured:` block).
enum class KeyType { integer, number, boolean, string, string_list, number_map, section };
const char* key_type_name(KeyType t);

// One key of a recipe section: its type, default, allowed values and one line of help.
struct KeySpec {
  std::string name;
  KeyType type = KeyType::string;
  Json def;  // the default; null = no default (the key must be given or is optional, see doc)
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;         // numbers: value must be > min instead of >=
  std::vector<std::string> choices;   // strings and list items: the allowed values (empty: any)
  std::string doc;
  bool max_exclusive = false;         // numbers: value must be < max instead of <=
  std::vector<KeySpec> keys = {};     // section: its keys
};

// The fixed sections (every key documented in docs/recipes.md).
const std::vector<KeySpec>& model_keys();     // model:
const std::vector<KeySpec>& data_keys();      // data:
const std::vector<KeySpec>& train_keys();     // train: (and the train / finetune steps)
const std::vector<KeySpec>& evaluate_keys();  // evaluate: (accuracy, limit_test)
const std::vector<KeySpec>& latency_keys();   // evaluate.latency:
const std::vector<KeySpec>& accel_keys();     // evaluate.accel:

struct StepSpec {
  std::string kind;           // "train", "quantize", "finetune"
  std::string name;           // unique in the recipe; names the files <name>.onnx, <name>.settings.json
  Json settings;              // every key of the kind's schema, defaults filled in (canonical)
  int line = 0;               // 1-based line of the step in the recipe
  std::map<std::string, int> key_lines;  // 1-based line of each key the step gives
};

struct Recipe {
  std::string source;          // the file, or "<default recipe>"
  std::string base_dir;        // relative paths in the recipe are relative to this folder
  Json model;                  // model_keys(), with "file" made absolute when given
  Json data;                   // data_keys(), with "dataset" resolved when it is a folder
  Json train;                  // train_keys(): defaults of the train and finetune steps
  std::vector<StepSpec> steps;
  Json evaluate;               // evaluate_keys() + "latency" (latency_keys() or null = off)
                               // + "accel" (accel_keys() or null = off)
  uint64_t seed = 0;
  std::string output;          // output folder from the recipe ("" = not given)
  // The whole recipe as JSON (for the report and the hashes).
  Json to_json() const;
};

// Parses and validates a recipe. `source` names it in errors; relative paths are taken from
// `base_dir`. Throws Error(bad_input) "recipe 'r.yaml', line 12: steps[2] (quantize): key
// 'metod': unknown key; known keys: ..." for any problem, before anything runs.
Recipe parse_recipe(const std::string& yaml_text, const std::string& source, const std::string& base_dir);
// Reads and parses a recipe file (Error(bad_input) naming the file if it cannot be read).
Recipe load_recipe(const std::string& path);
// The built-in default recipe (recipes/default.yaml, compiled in) and its text.
Recipe default_recipe();
const std::string& default_recipe_text();

}  // namespace leancnn::pipeline
