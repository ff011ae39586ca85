// The keys of the fixed recipe sections (model, data, train, evaluate): types, defaults, ranges.
#include "leancnn/accel/architecture.h"
#include "leancnn/core/json_native.h"
#include "leancnn/models/zoo.h"
#include "leancnn/pipeline/recipe.h"

namespace leancnn::pipeline {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const auto& e : models::zoo()) names.push_back(e.name);
  return names;
}
}  // namespace

const char* key_type_name(KeyType t) {
  switch (t) {
    case KeyType::integer: return "an integer";
    case KeyType::number: return "a number";
    case KeyType::boolean: return "true or false";
    case KeyType::string: return "a string";
    case KeyType::string_list: return "a list of strings";
    case KeyType::number_map: return "a map of names to numbers";
    case KeyType::section: return "a map of keys";
  }
  return "?";
}

const std::vector<KeySpec>& model_keys() {
  static const std::vector<KeySpec> keys = {
      {"zoo", KeyType::string, {}, -kInf, kInf, false, zoo_names(), "a zoo model (see `leancnn info --list`); or give file"},
      {"file", KeyType::string, {}, -kInf, kInf, false, {}, "an ONNX model file (relative to the recipe's folder); or give zoo"},
      {"input", KeyType::string, from_native("1x28x28"), -kInf, kInf, false, {}, "input shape CxHxW of a zoo model"},
      {"classes", KeyType::integer, from_native(10), 2, kInf, false, {}, "classes of a zoo model"},
  };
  return keys;
}

const std::vector<KeySpec>& data_keys() {
  static const std::vector<KeySpec> keys = {
      {"dataset", KeyType::string, from_native("fashion-mnist"), -kInf, kInf, false, {},
       "fashion-mnist (Debian's dataset-fashion-mnist) or a folder of IDX files (relative to the recipe's folder)"},
      {"limit_train", KeyType::integer, from_native(0), 0, kInf, false, {}, "use only the first N training images (0 = all)"},
      {"limit_test", KeyType::integer, from_native(0), 0, kInf, false, {}, "use only the first N test images (0 = all)"},
  };
  return keys;
}

const std::vector<KeySpec>& train_keys() {
  static const std::vector<KeySpec> keys = {
      {"epochs", KeyType::integer, from_native(4), 1, kInf, false, {}, "epochs"},
      {"batch", KeyType::integer, from_native(128), 1, kInf, false, {}, "batch size"},
      {"optimizer", KeyType::string, from_native("sgd"), -kInf, kInf, false, {"sgd", "adam", "adamw"}, "optimizer"},
      {"lr", KeyType::number, from_native(0.05), 0, kInf, true, {}, "base learning rate"},
      {"momentum", KeyType::number, from_native(0.9), 0, 0.999, false, {}, "SGD momentum"},
      {"nesterov", KeyType::boolean, from_native(false), -kInf, kInf, false, {}, "Nesterov momentum (sgd)"},
      {"weight_decay", KeyType::number, from_native(5e-4), 0, kInf, false, {}, "weight decay"},
      {"decay_1d", KeyType::boolean, from_native(false), -kInf, kInf, false, {}, "also decay biases and BN scale/shift"},
      {"schedule", KeyType::string, from_native("cosine"), -kInf, kInf, false, {"constant", "cosine"}, "learning-rate schedule"},
      {"warmup_epochs", KeyType::integer, from_native(0), 0, kInf, false, {}, "linear warm-up epochs"},
      {"label_smoothing", KeyType::number, from_native(0.0), 0, 0.999, false, {}, "label smoothing"},
      {"clip", KeyType::number, from_native(0.0), 0, kInf, false, {}, "clip the gradient norm to this (0 = off)"},
      {"augment", KeyType::string_list, from_native(nlohmann::json::array()), -kInf, kInf, false, {"crop", "flip", "erase"},
       "augmentations: crop (pad 2 + random crop), flip (horizontal), erase (random erasing)"},
  };
  return keys;
}

const std::vector<KeySpec>& evaluate_keys() {
  static const std::vector<KeySpec> keys = {
      {"accuracy", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "test-set top-1 accuracy of every variant"},
      {"limit_test", KeyType::integer, from_native(0), 0, kInf, false, {}, "evaluate on the first N test images (0 = data.limit_test)"},
  };
  return keys;
}

const std::vector<KeySpec>& latency_keys() {
  static const std::vector<KeySpec> keys = {
      {"batch", KeyType::integer, from_native(1), 1, kInf, false, {}, "images per run"},
      {"threads", KeyType::integer, from_native(2), 0, kInf, false, {}, "threads (0 = all cores)"},
      {"iters", KeyType::integer, from_native(50), 1, kInf, false, {}, "timed runs (median and p90 over these)"},
      {"warmup", KeyType::integer, from_native(10), 0, kInf, false, {}, "untimed runs first"},
      {"profile", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "per-layer times (the report's latency breakdown)"},
  };
  return keys;
}

const std::vector<KeySpec>& accel_keys() {
  static const std::vector<KeySpec> keys = {
      {"presets", KeyType::string_list, from_native(nlohmann::json::array({"eyeriss-like", "tpu-like"})), -kInf, kInf, false,
       accel::preset_names(), "accelerator presets (`leancnn accel --list`)"},
      {"objective", KeyType::string, from_native("energy"), -kInf, kInf, false, {"energy", "delay", "edp"}, "what the mapper minimises"},
      {"template", KeyType::boolean, from_native(false), -kInf, kInf, false, {},
       "use each dataflow's template mapping instead of searching"},
  };
  return keys;
}

}  // namespace leancnn::pipeline
