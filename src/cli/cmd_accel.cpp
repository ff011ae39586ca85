// `leancnn accel`: what a model costs on an accelerator (per layer and in total: MACs,
// cycles, utilisation, accesses per level, energy breakdown, the chosen mapping), and
// --compare to set architectures and dataflows side by side.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "commands.h"
#include "leancnn/accel/architecture.h"
#include "leancnn/accel/network.h"
#include "leancnn/accel/scale_sim_topology.h"
#include "leancnn/accel/workload.h"
#include "leancnn/core/error.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/activation_stats.h"
#include "leancnn/train/data_loader.h"
#include "leancnn/train/dataset.h"

namespace leancnn::cli {

namespace {
struct AccelOptions {
  std::string model_file;
  ModelOptions model;
  std::vector<std::string> archs;
  std::vector<std::string> dataflows;
  std::string mapping;
  std::string objective = "energy";
  bool compare = false;
  bool use_template = false;
  bool list = false;
  int weight_bits = 0;
  int activation_bits = 0;
  double weight_density = 0;
  double activation_density = 0;
  int64_t calibrate = 0;
  std::string data = "fashion-mnist";
  std::string output_fill = "every-arrival";
  std::string topology;              // a SCALE-Sim layer table instead of a model
  std::string output_size = "ceil";  // its output-size convention
};

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pad(const std::string& s, size_t width, bool right = true) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

nlohmann::json operand_json(const accel::OperandAccess& o) {
  return {{"reads", o.reads},
          {"fills", o.fills},
          {"updates", o.updates},
          {"multicasts", o.multicasts},
          {"spatial_reductions", o.spatial_reductions}};
}

nlohmann::json level_json(const std::string& name, const std::array<accel::OperandAccess, accel::kNumOperands>& ops,
                          double reads, double writes, double energy) {
  int64_t r = 0, f = 0, u = 0, mc = 0, red = 0;
  nlohmann::json per;
  for (accel::Operand t : accel::kAllOperands) {
    const accel::OperandAccess& o = ops[static_cast<size_t>(t)];
    r += o.reads;
    f += o.fills;
    u += o.updates;
    mc += o.multicasts;
    red += o.spatial_reductions;
    per[accel::operand_name(t)] = operand_json(o);
  }
  return {{"name", name},  {"reads", r},           {"fills", f},          {"updates", u},
          {"multicasts", mc}, {"spatial_reductions", red},
          {"accesses", reads + writes}, {"read_accesses", reads}, {"write_accesses", writes},
          {"energy_pj", energy}, {"operands", per}};
}

nlohmann::json result_json(const accel::NetworkCost& n, const accel::Architecture& arch) {
  nlohmann::json levels = nlohmann::json::array();
  for (const accel::LevelTotals& l : n.levels)
    levels.push_back(level_json(l.name, l.operand, l.read_accesses, l.write_accesses, l.energy_pj));
  nlohmann::json layers = nlohmann::json::array();
  for (const accel::LayerCost& lc : n.layers) {
    const accel::Cost& c = lc.cost;
    nlohmann::json ll = nlohmann::json::array();
    for (size_t i = 0; i < c.levels.size(); ++i)
      ll.push_back(level_json(arch.levels[i].name, c.levels[i].operand, c.levels[i].read_accesses,
                              c.levels[i].write_accesses, c.levels[i].energy_pj));
    nlohmann::json layer = {{"name", lc.problem.name},
                            {"op", lc.problem.op},
                            {"shape", lc.problem.shape_string()},
                            {"weight_bits", lc.problem.bits[0]},
                            {"input_bits", lc.problem.bits[1]},
                            {"weight_density", lc.problem.weight_density},
                            {"input_density", lc.problem.input_density},
                            {"macs", c.macs},
                            {"effective_macs", c.effective_macs},
                            {"cycles", c.cycles},
                            {"compute_cycles", c.compute_cycles},
                            {"mac_units_used", c.mac_units_used},
                            {"utilization", c.utilization},
                            {"energy_pj", c.energy_pj},
                            {"mac_energy_pj", c.mac_energy_pj},
                            {"network_energy_pj", c.network_energy_total_pj()},
                            {"levels", ll},
                            {"mapping", lc.mapping.to_string(arch)},
                            {"mapping_source", lc.mapping_source}};
    if (arch.compute.kind == accel::ComputeKind::systolic) {
      layer["mapping_efficiency"] = c.mapping_efficiency;
      layer["systolic_compute_utilization"] = c.systolic_compute_utilization;
    }
    layers.push_back(layer);
  }
  return {{"arch", n.arch},
          {"dataflow", accel::dataflow_name(n.dataflow)},
          {"objective", accel::objective_name(n.objective)},
          {"output_fill", accel::output_fill_name(n.output_fill)},
          {"mac_units", n.num_macs},
          {"macs", n.macs},
          {"cycles", n.cycles},
          {"utilization", n.utilization()},
          {"energy_pj", n.energy_pj},
          {"energy_per_mac_pj", n.energy_per_mac()},
          {"mac_energy_pj", n.mac_energy_pj},
          {"network_energy_pj", n.network_energy_pj},
          {"dram_accesses", n.levels.empty() ? 0.0 : n.levels.front().accesses()},
          {"dram_accesses_per_mac", n.dram_accesses_per_mac()},
          {"levels", levels},
          {"layers", layers}};
}

void print_network(const accel::NetworkCost& n, const accel::Architecture& arch, const std::string& model) {
  std::cout << "leancnn accel: " << model << " on " << n.arch << " (dataflow " << accel::dataflow_name(n.dataflow)
            << ", objective " << accel::objective_name(n.objective) << ", output fills " << accel::output_fill_name(n.output_fill)
            << ", " << n.num_macs << " MAC units)\n\n";
  std::cout << pad("layer", 28, false) << pad("shape", 30, false) << pad("MACs", 12) << pad("cycles", 11) << pad("util", 7)
            << pad("energy_uJ", 11) << pad("pJ/MAC", 8) << pad("DRAM/MAC", 10) << "\n";
  for (const accel::LayerCost& lc : n.layers) {
    const accel::Cost& c = lc.cost;
    std::cout << pad(lc.problem.name, 28, false) << pad(lc.problem.shape_string(), 30, false) << pad(std::to_string(c.macs), 12)
              << pad(std::to_string(c.cycles), 11) << pad(fixed(100 * c.utilization, 1) + "%", 7)
              << pad(fixed(c.energy_pj / 1e6, 3), 11) << pad(fixed(c.energy_per_mac(), 2), 8)
              << pad(fixed(c.macs ? c.dram_accesses() / static_cast<double>(c.macs) : 0.0, 4), 10) << "\n";
  }
  std::cout << pad("total", 58, false) << pad(std::to_string(n.macs), 12) << pad(std::to_string(n.cycles), 11)
            << pad(fixed(100 * n.utilization(), 1) + "%", 7) << pad(fixed(n.energy_pj / 1e6, 3), 11)
            << pad(fixed(n.energy_per_mac(), 2), 8) << pad(fixed(n.dram_accesses_per_mac(), 4), 10) << "\n\n";
  std::cout << pad("level", 16, false) << pad("reads", 14) << pad("fills", 14) << pad("updates", 14) << pad("accesses", 14)
            << pad("energy_uJ", 12) << pad("share", 8) << pad("multicasts", 14) << pad("reductions", 14) << "\n";
  auto share = [&](double e) { return pad(fixed(n.energy_pj > 0 ? 100 * e / n.energy_pj : 0.0, 1) + "%", 8); };
  for (const accel::LevelTotals& l : n.levels) {
    int64_t r = 0, f = 0, u = 0, mc = 0, red = 0;
    for (const accel::OperandAccess& o : l.operand) {
      r += o.reads;
      f += o.fills;
      u += o.updates;
      mc += o.multicasts;
      red += o.spatial_reductions;
    }
    std::cout << pad(l.name, 16, false) << pad(std::to_string(r), 14) << pad(std::to_string(f), 14) << pad(std::to_string(u), 14)
              << pad(fixed(l.accesses(), 0), 14) << pad(fixed(l.energy_pj / 1e6, 3), 12) << share(l.energy_pj)
              << pad(std::to_string(mc), 14) << pad(std::to_string(red), 14) << "\n";
  }
  std::cout << pad("network", 72, false) << pad(fixed(n.network_energy_pj / 1e6, 3), 12) << share(n.network_energy_pj) << "\n";
  std::cout << pad(arch.compute.kind == accel::ComputeKind::pim ? "crossbars" : "MACs", 72, false)
            << pad(fixed(n.mac_energy_pj / 1e6, 3), 12) << share(n.mac_energy_pj) << "\n\nmappings (outermost level first):\n";
  for (const accel::LayerCost& lc : n.layers)
    std::cout << "  " << lc.problem.name << " [" << lc.mapping_source << "]: " << lc.mapping.to_string(arch) << "\n";
}

// Input-activation densities of every Conv / Gemm on the first n test images of a dataset.
std::map<std::string, double> calibrated_density(const ir::Graph& model, const std::string& data, int64_t n) {
  train::Dataset test = train::load_idx_dataset(train::resolve_data_dir(data), train::Split::test);
  const Shape& in = model.value(model.inputs().at(0)).shape;
  const Shape& img = test.images.shape();
  if (in.size() != 4 || in[1] != img[1] || in[2] != img[2] || in[3] != img[3])
    fail(ErrorKind::usage, "--calibrate: the model takes ", shape_str(in), " but '", data, "' has images of ",
         img[1], "x", img[2], "x", img[3], "; use a model built for the dataset (e.g. --input 1x28x28)");
  train::DataLoader loader(test, {.batch = std::min(n, test.size()), .shuffle = false, .prefetch = false});
  ir::Graph g = model;
  return runtime::measure_input_density(g, ops::op_table(), loader.next()->images);
}

int run_accel(const AccelOptions& o, const CommonOptions& common) {
  if (o.list) {
    if (common.json) {
      std::cout << nlohmann::json(accel::preset_names()).dump(2) << "\n";
    } else {
      for (const auto& n : accel::preset_names()) {
        const accel::Architecture a = accel::preset(n);
        std::cout << pad(n, 18, false) << accel::dataflow_name(a.dataflow) << "  " << a.num_macs() << " MAC units\n";
      }
    }
    return 0;
  }
  // The layers: a model's Conv / Gemm nodes, or the rows of a SCALE-Sim layer table.
  std::string model_name;
  nlohmann::json model_input;
  std::vector<accel::Problem> layers;
  if (!o.topology.empty()) {
    if (!o.model_file.empty() || o.calibrate > 0)
      fail(ErrorKind::usage, "--topology gives the layers: it takes no model file and no --calibrate");
    layers = accel::load_scale_sim_topology(o.topology, accel::parse_output_size(o.output_size));
    model_name = o.topology;
    model_input = nullptr;
    for (accel::Problem& p : layers) {
      if (o.weight_bits > 0) p.bits[0] = o.weight_bits;
      if (o.activation_bits > 0) p.bits[1] = o.activation_bits;
    }
  } else {
    const ir::Graph g = load_model(o.model_file, o.model, common.seed);
    accel::WorkloadOptions wopts;
    wopts.weight_bits = o.weight_bits;
    wopts.input_bits = o.activation_bits;
    if (o.calibrate > 0) wopts.activation_density = calibrated_density(g, o.data, o.calibrate);
    layers = accel::extract_workload(g, ops::op_table(), wopts);
    model_name = g.name;
    model_input = g.value(g.inputs().at(0)).shape;
  }
  for (accel::Problem& p : layers) {
    if (o.weight_density > 0) p.weight_density = o.weight_density;
    if (o.activation_density > 0) p.input_density = o.activation_density;
    p.validate();
  }
  std::optional<accel::MappingFile> mappings;
  if (!o.mapping.empty()) mappings = accel::load_mapping_file(o.mapping);

  std::vector<std::string> archs = o.archs;
  if (archs.empty()) archs = o.compare ? accel::preset_names() : std::vector<std::string>{"eyeriss-like"};
  if (!o.compare && (archs.size() > 1 || o.dataflows.size() > 1))
    fail(ErrorKind::usage, "several --arch or --dataflow values need --compare");
  accel::NetworkOptions nopts;
  nopts.mapper.objective = accel::parse_objective(o.objective);
  nopts.mapper.output_fill = accel::parse_output_fill(o.output_fill);
  nopts.template_only = o.use_template;
  if (mappings) nopts.mappings = &*mappings;

  nlohmann::json results = nlohmann::json::array();
  bool any_failed = false;
  if (o.compare && !common.json)
    std::cout << "leancnn accel --compare: " << model_name << " (" << layers.size() << " layers)\n\n"
              << pad("arch", 18, false) << pad("dataflow", 9, false) << pad("cycles", 12) << pad("util", 7) << pad("energy_uJ", 12)
              << pad("pJ/MAC", 9) << pad("DRAM/MAC", 10) << pad("MAC share", 10) << "\n";
  for (const std::string& spec : archs) {
    const accel::Architecture arch = accel::architecture_from_spec(spec);
    std::vector<std::optional<accel::Dataflow>> dfs;
    for (const std::string& d : o.dataflows) dfs.push_back(accel::parse_dataflow(d));
    if (dfs.empty()) dfs.push_back(std::nullopt);
    for (const auto& df : dfs) {
      nopts.mapper.dataflow = df;
      if (!o.compare) {
        const accel::NetworkCost n = accel::evaluate_network(layers, arch, nopts);
        if (common.json) results.push_back(result_json(n, arch));
        else print_network(n, arch, model_name);
        continue;
      }
      try {
        const accel::NetworkCost n = accel::evaluate_network(layers, arch, nopts);
        if (common.json) {
          results.push_back(result_json(n, arch));
        } else {
          std::cout << pad(arch.name, 18, false) << pad(accel::dataflow_name(n.dataflow), 9, false)
                    << pad(std::to_string(n.cycles), 12) << pad(fixed(100 * n.utilization(), 1) + "%", 7)
                    << pad(fixed(n.energy_pj / 1e6, 3), 12) << pad(fixed(n.energy_per_mac(), 3), 9)
                    << pad(fixed(n.dram_accesses_per_mac(), 4), 10)
                    << pad(fixed(n.energy_pj > 0 ? 100 * n.mac_energy_pj / n.energy_pj : 0.0, 1) + "%", 10) << "\n";
        }
      } catch (const Error& e) {
        any_failed = true;
        if (common.json)
          results.push_back({{"arch", arch.name}, {"dataflow", df ? accel::dataflow_name(*df) : accel::dataflow_name(arch.dataflow)},
                             {"error", e.what()}});
        else
          std::cout << pad(arch.name, 18, false) << "error: " << e.what() << "\n";
      }
    }
  }
  if (common.json)
    std::cout << nlohmann::json{{"model", model_name}, {"input", model_input}, {"results", results}}.dump(2) << "\n";
  return any_failed ? 1 : 0;
}
}  // namespace

Runner register_accel(CLI::App& app, CommonOptions& common) {
  auto opts = std::make_shared<AccelOptions>();
  CLI::App* cmd = app.add_subcommand(
      "accel", "Model a network on an accelerator: cycles, utilisation, accesses per level, energy, mapping");
  cmd->add_option("model_file", opts->model_file, "ONNX model (default: the zoo model of --model)");
  add_model_options(*cmd, opts->model);
  add_common_options(*cmd, common);
  cmd->add_option("--arch", opts->archs, "Preset (see --list) or architecture YAML file; repeat with --compare");
  cmd->add_option("--dataflow", opts->dataflows, "ws, is, os or rs (default: the architecture's); repeat with --compare")
      ->check(CLI::IsMember({"ws", "is", "os", "rs"}));
  cmd->add_option("--mapping", opts->mapping, "YAML file of explicit mappings (all layers, or per layer name)");
  cmd->add_option("--objective", opts->objective, "What the mapper minimises: energy, delay or edp")
      ->capture_default_str()
      ->check(CLI::IsMember({"energy", "delay", "edp"}));
  cmd->add_flag("--compare", opts->compare, "Run every --arch x --dataflow (default: all presets) side by side");
  cmd->add_flag("--template", opts->use_template, "Use the dataflow's template mapping instead of searching");
  cmd->add_flag("--list", opts->list, "List the preset architectures");
  cmd->add_option("--weight-bits", opts->weight_bits, "Model weights at this precision (default: from the model)")
      ->check(CLI::Range(1, 32));
  cmd->add_option("--activation-bits", opts->activation_bits, "Model activations at this precision (default: from the model)")
      ->check(CLI::Range(1, 32));
  cmd->add_option("--weight-density", opts->weight_density,
                  "Override every layer's weight density (default: non-zeros of the model's weights)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--calibrate", opts->calibrate, "Measure each layer's input-activation density on N test images")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--data", opts->data, "Dataset for --calibrate: fashion-mnist or a folder of IDX files")
      ->capture_default_str();
  cmd->add_option("--output-fill", opts->output_fill,
                  "Output fills: every-arrival (the first, zero-initialised arrival counts; Timeloop's tutorial "
                  "figures) or first-touch (Timeloop v3: only partial sums coming back fill)")
      ->capture_default_str()
      ->check(CLI::IsMember({"every-arrival", "first-touch"}));
  cmd->add_option("--topology", opts->topology, "A SCALE-Sim layer table (topology CSV) instead of a model");
  cmd->add_option("--output-size", opts->output_size,
                  "Output size of --topology layers: ceil (SCALE-Sim's, (H-R+s)/s rounded up) or floor (ONNX's)")
      ->capture_default_str()
      ->check(CLI::IsMember({"ceil", "floor"}));
  cmd->add_option("--activation-density", opts->activation_density, "Input activation density of every layer (default 1)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->footer(
      "Examples:\n"
      "  leancnn accel --model resnet20 --input 3x32x32 --classes 10 --arch eyeriss-like\n"
      "  leancnn accel --model resnet20 --compare --dataflow ws --dataflow is --dataflow os --dataflow rs --json\n"
      "  leancnn accel --topology alexnet.csv --arch tpu-like --dataflow os --template   # SCALE-Sim's layer table");
  return [opts, &common] { return run_accel(*opts, common); };
}

}  // namespace leancnn::cli
