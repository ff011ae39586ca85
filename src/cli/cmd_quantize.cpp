// `leancnn quantize`: post-training quantization of an ONNX model to a QDQ ONNX file (W8A8, W4A8,
// power-of-two weights, mixed precision under a budget), with fp32, fake-quant and deployed
// (integer plan) accuracy and the file sizes (docs/quantization.md). The flags only fill a
// compress::quantize::Spec; quantize.h's run() does the work, as for the recipe's quantize step.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "leancnn/compress/quantize/quantize.h"
#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/data_loader.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/predict.h"

namespace leancnn::cli {

namespace {
namespace q = compress::quantize;

struct QuantizeCli {
  std::string model_file;
  std::string out;
  std::string data = "fashion-mnist";
  int64_t calib = 512;
  std::string calib_data = "train";  // train | random | a folder (images, .pb tensors, IDX)
  std::string calib_format = "auto";
  bool resize = true;
  bool no_scale = false;
  std::string mean, std_dev;
  std::string channel_order = "rgb";
  std::string method = "minmax";
  double percentile = 99.99;
  std::string weights = "8";
  std::string weight_method = "minmax";
  int act_bits = 8;
  bool per_tensor = false;
  std::string rounding = "nearest";
  bool bias_correction = false;
  bool unpacked_int4 = false;
  std::vector<std::string> layer_bits;
  bool mixed = false;
  double budget_bytes = 0;
  double budget_ratio = 0;
  double budget_latency = 0;
  bool sensitivity = false;
  int64_t sens_images = 1000;
  int64_t test_images = 0;  // 0: all
  bool no_eval = false;
};

void progress(const std::string& line) { std::cerr << line << "\n"; }

// A progress callback that prints "what done/total" on stderr every `every` images.
std::function<void(int64_t, int64_t)> counter(const std::string& what) {
  return [what](int64_t done, int64_t total) {
    if (done == total || done % 2000 < 250) std::fprintf(stderr, "\r%s %lld/%lld", what.c_str(), (long long)done, (long long)total);
    if (done == total) std::fprintf(stderr, "\n");
  };
}

int64_t file_bytes(const std::string& path) { return static_cast<int64_t>(std::filesystem::file_size(path)); }

std::map<std::string, int> parse_layer_bits(const std::vector<std::string>& items) {
  std::map<std::string, int> out;
  for (const std::string& item : items) {
    const size_t eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      fail(ErrorKind::usage, "--layer-bits: expected NAME=BITS, got '", item, "'");
    try {
      out[item.substr(0, eq)] = std::stoi(item.substr(eq + 1));
    } catch (const std::exception&) {
      fail(ErrorKind::usage, "--layer-bits: '", item.substr(eq + 1), "' is not a number in '", item, "'");
    }
  }
  return out;
}

q::PtqOptions ptq_options(const QuantizeCli& c, const CommonOptions& common) {
  q::PtqOptions o;
  if (c.weights == "8" || c.weights == "4") {
    o.weight_bits = std::stoi(c.weights);
  } else if (c.weights == "log") {
    o.weight_scheme = q::WeightScheme::log2;
  } else {
    fail(ErrorKind::usage, "--weights must be 8, 4 or log, got '", c.weights, "'");
  }
  o.per_channel = !c.per_tensor;
  o.weight_method = q::range_method_from_name(c.weight_method);
  o.rounding = q::rounding_from_name(c.rounding);
  o.act_bits = c.act_bits;
  o.act_observer.method = q::range_method_from_name(c.method);
  o.act_observer.percentile = c.percentile;
  o.calib_images = c.calib;
  o.bias_correction = c.bias_correction;
  o.pack_int4 = !c.unpacked_int4;
  o.layer_bits = parse_layer_bits(c.layer_bits);
  o.seed = common.seed;
  o.log = progress;
  return o;
}

nlohmann::json layers_json(const std::vector<q::LayerReport>& layers) {
  nlohmann::json a = nlohmann::json::array();
  for (const q::LayerReport& l : layers)
    a.push_back({{"name", l.name}, {"op_type", l.op_type}, {"weight_bits", l.weight_bits}, {"scheme", l.scheme},
                 {"params", l.params}, {"macs", l.macs}, {"weight_sqnr_db", l.weight_sqnr_db},
                 {"bias_correction", l.bias_correction}, {"input_scale", l.input_scale},
                 {"input_zero_point", l.input_zero_point}, {"output_scale", l.output_scale},
                 {"output_zero_point", l.output_zero_point}});
  return a;
}

nlohmann::json sensitivity_json(const q::SensitivityResult& s) {
  nlohmann::json a = nlohmann::json::array();
  for (const q::LayerSensitivity& l : s.layers)
    a.push_back({{"name", l.name}, {"op_type", l.op_type}, {"params", l.params}, {"macs", l.macs},
                 {"baseline_bytes", l.baseline_bytes}, {"probe_bytes", l.probe_bytes}, {"accuracy", l.accuracy},
                 {"drop", l.drop}});
  return {{"float_acc", s.float_accuracy}, {"baseline_acc", s.baseline_accuracy}, {"layers", a}};
}

void print_sensitivity(const q::SensitivityResult& s, int probe_bits) {
  std::printf("sensitivity (one layer at %d-bit, the rest 8-bit; baseline accuracy %.4f):\n", probe_bits,
              s.baseline_accuracy);
  std::printf("  %-32s %-5s %10s %12s %9s %10s\n", "layer", "op", "params", "MACs", "accuracy", "drop (pt)");
  for (const q::LayerSensitivity& l : s.layers)
    std::printf("  %-32s %-5s %10lld %12lld %9.4f %+10.2f\n", l.name.c_str(), l.op_type.c_str(), (long long)l.params,
                (long long)l.macs, l.accuracy, 100.0 * l.drop);
}

train::CalibrationData calibration_data(const QuantizeCli& c) {
  train::Preprocess pre;
  pre.resize = c.resize;
  pre.scale = !c.no_scale;
  pre.mean = train::parse_floats(c.mean, "--mean");
  pre.std = train::parse_floats(c.std_dev, "--std");
  pre.order = train::parse_channel_order(c.channel_order);
  return train::calibration_data_from(c.calib_data, c.calib_format, pre);
}

int run_quantize(const QuantizeCli& c, const CommonOptions& common) {
  if (c.out.empty()) fail(ErrorKind::usage, "quantize needs -o OUT.onnx");
  const ir::OpTable& ops = ops::op_table();
  const ir::Graph model = io::load_onnx(c.model_file, ops);
  const int64_t classes = model.value(model.outputs().at(0)).shape.back();
  const train::CalibrationData calib = calibration_data(c);
  // The --data dataset calibrates (by default) and scores the result; a model calibrated on its
  // own data is not scored on it (its test data is not ours to know).
  const bool use_dataset = calib.kind == train::CalibrationKind::dataset;
  const std::string dir = use_dataset ? train::resolve_data_dir(c.data) : "";
  train::Dataset train_set;
  if (use_dataset) train_set = train::load_idx_dataset(dir, train::Split::train, classes);
  q::PtqOptions o = ptq_options(c, common);

  nlohmann::json j = {{"model", model.name}, {"model_file", c.model_file}, {"out_file", c.out},
                      {"method", c.method}, {"weights", c.weights}, {"weight_method", c.weight_method},
                      {"act_bits", c.act_bits}, {"per_channel", o.per_channel}, {"rounding", c.rounding},
                      {"bias_correction", c.bias_correction}};
  const bool budgeted = c.budget_bytes > 0 || c.budget_ratio > 0 || c.budget_latency > 0;
  if (c.mixed && !budgeted) fail(ErrorKind::usage, "--mixed needs a budget: --budget-bytes, --budget-ratio or --budget-latency");
  if (budgeted && !c.mixed) fail(ErrorKind::usage, "a budget applies to --mixed; add --mixed");
  if (c.mixed && o.weight_scheme != q::WeightScheme::uniform) fail(ErrorKind::usage, "--mixed chooses between 8 and 4 bits; use --weights 8");
  q::Spec spec;
  spec.ptq = o;
  spec.calibration = calib;
  spec.sensitivity = c.sensitivity;
  spec.protocol = {c.sens_images, common.seed};
  if (c.mixed) {
    spec.budget_form = c.budget_latency > 0  ? q::BudgetForm::mac_bits_ratio_of_8bit
                       : c.budget_bytes > 0 ? q::BudgetForm::bytes
                                            : q::BudgetForm::bytes_ratio_of_fp32;
    spec.budget = c.budget_latency > 0 ? c.budget_latency : c.budget_bytes > 0 ? c.budget_bytes : c.budget_ratio;
  }
  const q::Report report = q::run(model, train_set, spec);
  j["calibration"] = report.calibration;
  j["calib_images"] = report.calibration_images;
  j["synthetic_calibration"] = report.synthetic_calibration;
  j["preprocess"] = calib.preprocess.describe();
  if (report.sensitivity) {
    j["sensitivity"] = sensitivity_json(*report.sensitivity);
    if (!common.json) print_sensitivity(*report.sensitivity, report.sensitivity_probe_bits);
  }
  if (report.mixed) {
    const q::MixedPrecisionResult& m = *report.mixed;
    const q::MixedPrecisionOptions& mo = report.mixed_options;
    j["mixed"] = {{"budget_kind", mo.kind == q::BudgetKind::bytes ? "bytes" : "latency"}, {"budget", mo.budget},
                  {"cost", m.cost}, {"high_cost", m.high_cost}, {"low_cost", m.low_cost}, {"met", m.met},
                  {"predicted_drop", m.predicted_drop}, {"layer_bits", m.layer_bits}};
  }
  const q::PtqResult& r = report.ptq;
  io::save_onnx(r.graph, c.out);
  const int64_t float_file = file_bytes(c.model_file), quant_file = file_bytes(c.out);
  j["float_bytes"] = float_file;
  j["bytes"] = quant_file;
  j["size_ratio"] = static_cast<double>(quant_file) / static_cast<double>(std::max<int64_t>(float_file, 1));
  j["quantized_activations"] = r.quantized_activations;
  j["layers"] = layers_json(r.layers);

  const bool evaluate = !c.no_eval && use_dataset;
  j["evaluated"] = evaluate;
  if (evaluate) {
    const train::Dataset test_set = train::load_idx_dataset(dir, train::Split::test, classes);
    const ir::Graph saved = io::load_onnx(c.out, ops);  // evaluate what was written
    const train::Predictions fp = train::predict(model, test_set, train::Engine::plan, c.test_images, 250, counter("fp32      "));
    const train::Predictions fake = train::predict(saved, test_set, train::Engine::executor, c.test_images, 250, counter("fake-quant"));
    const train::Predictions dep = train::predict(saved, test_set, train::Engine::plan, c.test_images, 250, counter("deployed  "));
    j["test_images"] = static_cast<int64_t>(fp.top1.size());
    j["float_acc"] = fp.accuracy;
    j["fake_quant_acc"] = fake.accuracy;
    j["deployed_acc"] = dep.accuracy;
    j["drop"] = fp.accuracy - dep.accuracy;
    j["agreement"] = train::agreement(fake, dep);
  }
  if (common.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("quantized %s -> %s: weights %s%s, activations %s, %s\n", c.model_file.c_str(), c.out.c_str(),
              c.weights.c_str(), o.per_channel ? " per-channel" : " per-tensor",
              c.act_bits ? ("u8 (" + c.method + ")").c_str() : "float", c.rounding.c_str());
  std::printf("  calibration: %s, %lld inputs (%s)\n", report.calibration.c_str(), (long long)report.calibration_images,
              calib.preprocess.describe().c_str());
  if (report.synthetic_calibration)
    std::printf("  SYNTHETIC CALIBRATION: random inputs; use this model for speed measurements only, not for accuracy\n");
  std::printf("  file: %lld -> %lld bytes (%.3fx)\n", (long long)float_file, (long long)quant_file,
              j["size_ratio"].get<double>());
  if (!c.no_eval && !use_dataset)
    std::printf("  test accuracy: not evaluated (calibrated on data other than --data; evaluate on the model's own "
                "test data)\n");
  if (evaluate)
    std::printf("  test accuracy on %lld images: fp32 %.4f, fake-quant %.4f, deployed %.4f (drop %.2f points); "
                "fake vs deployed top-1 agreement %.4f\n",
                (long long)j["test_images"].get<int64_t>(), j["float_acc"].get<double>(), j["fake_quant_acc"].get<double>(),
                j["deployed_acc"].get<double>(), 100.0 * j["drop"].get<double>(), j["agreement"].get<double>());
  return 0;
}
}  // namespace

Runner register_quantize(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<QuantizeCli>();
  CLI::App* cmd = app.add_subcommand("quantize", "Post-training quantization of an ONNX model to a QDQ ONNX file");
  cmd->add_option("model_file", c->model_file, "Float ONNX model (BatchNormalization is folded first)")->required();
  cmd->add_option("-o,--out", c->out, "Output QDQ ONNX file")->required();
  cmd->add_option("--data", c->data, "Dataset: fashion-mnist, or a folder of IDX files (calibration: train split; "
                                      "accuracy: test split)")->capture_default_str();
  cmd->add_option("--calib", c->calib, "Calibration images (a seeded sample of the calibration data)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--calib-data", c->calib_data,
                  "Calibration data: train (the --data training split), a folder of images (PNG/JPEG), of .pb "
                  "TensorProto files or of IDX files, or random (synthetic: speed measurements only)")
      ->capture_default_str();
  cmd->add_option("--calib-format", c->calib_format, "Format of --calib-data PATH: auto, images, tensors or idx")
      ->capture_default_str()->check(CLI::IsMember({"auto", "images", "tensors", "idx"}));
  cmd->add_flag("--resize,!--no-resize", c->resize, "Resize calibration images to the model's input HxW (default on)");
  cmd->add_flag("--no-scale", c->no_scale, "Feed pixels as 0-255 instead of scaled to [0, 1]");
  cmd->add_option("--mean", c->mean, "Per-channel mean subtracted after scaling, e.g. 0.485,0.456,0.406");
  cmd->add_option("--std", c->std_dev, "Per-channel std divided by after the mean, e.g. 0.229,0.224,0.225");
  cmd->add_option("--channel-order", c->channel_order, "The model's channel order: rgb or bgr")
      ->capture_default_str()->check(CLI::IsMember({"rgb", "bgr"}));
  cmd->add_option("--method", c->method, "Activation range: minmax, ema, percentile, entropy (KL) or mse")->capture_default_str();
  cmd->add_option("--percentile", c->percentile, "Percentile kept by --method percentile")->capture_default_str();
  cmd->add_option("--weights", c->weights, "Weights: 8 (s8), 4 (packed 4-bit, [-7, 7]) or log (power-of-two levels on s8)")
      ->capture_default_str();
  cmd->add_option("--weight-method", c->weight_method, "Weight range: minmax or mse (percentile/entropy also accepted)")
      ->capture_default_str();
  cmd->add_option("--act-bits", c->act_bits, "Activation bits: 8 (u8) or 0 (float: weight-only)")->capture_default_str();
  cmd->add_flag("--per-tensor,!--per-channel", c->per_tensor, "One weight scale per tensor (default: per output channel)");
  cmd->add_option("--rounding", c->rounding, "Weight rounding: nearest (half to even) or stochastic (seeded)")
      ->capture_default_str();
  cmd->add_flag("--bias-correction", c->bias_correction, "Subtract the expected output error E[Wq x] - E[W x] from biases");
  cmd->add_flag("--unpacked-int4", c->unpacked_int4, "Store 4-bit weights as s8 (ONNX Runtime lacks ai.leancnn UnpackInt4)");
  cmd->add_option("--layer-bits", c->layer_bits, "Per-layer weight bits NAME=BITS (8, 4 or 0 = float); repeatable");
  cmd->add_flag("--mixed", c->mixed, "Choose 8 or 4 bits per layer from a sensitivity analysis under a budget");
  cmd->add_option("--budget-bytes", c->budget_bytes, "Mixed: weight bytes of the Conv/Gemm layers at most this");
  cmd->add_option("--budget-ratio", c->budget_ratio, "Mixed: weight bytes at most this fraction of their fp32 bytes");
  cmd->add_option("--budget-latency", c->budget_latency, "Mixed: sum of MACs x bits at most this fraction of all-8-bit");
  cmd->add_flag("--sensitivity", c->sensitivity, "Print the per-layer 4-bit sensitivity table");
  cmd->add_option("--sens-images", c->sens_images, "Held-out training images for the sensitivity analysis")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--test-images", c->test_images, "Evaluate on the first N test images (0 = all)")->capture_default_str();
  cmd->add_flag("--no-eval", c->no_eval, "Skip the accuracy evaluation");
  add_common_options(*cmd, common);
  return [c, &common] { return run_quantize(*c, common); };
}

}  // namespace leancnn::cli
