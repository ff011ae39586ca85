// `leancnn info`: the model summary (per node output shape, parameters, MACs; totals).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

#include "commands.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::cli {

namespace {
struct InfoOptions {
  std::string model_file;
  ModelOptions model;
  bool list = false;
};

int run_info(const InfoOptions& o, const CommonOptions& common) {
  if (o.list) {
    if (common.json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& e : models::zoo()) j.push_back({{"name", e.name}, {"description", e.description}});
      std::cout << j.dump(2) << "\n";
    } else {
      for (const auto& e : models::zoo()) std::cout << e.name << "  " << e.description << "\n";
    }
    return 0;
  }
  const ir::OpTable& ops = ops::op_table();
  ir::Graph g = load_model(o.model_file, o.model, common.seed);
  ir::Summary s = ir::summarize(g, ops);
  if (!common.json) {
    std::cout << ir::format_summary(g, s);
    return 0;
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& r : s.rows)
    nodes.push_back({{"name", r.name}, {"op", r.op_type}, {"output_shape", r.output_shape}, {"params", r.params},
                     {"macs", r.macs}});
  nlohmann::json j = {{"model", g.name},
                      {"input", g.value(g.inputs().at(0)).shape},
                      {"params", s.params},
                      {"buffers", s.buffers},
                      {"bytes", s.param_bytes},
                      {"macs", s.macs},
                      {"activation_elems", s.activation_elems},
                      {"nodes", nodes}};
  std::cout << j.dump(2) << "\n";
  return 0;
}
}  // namespace

Runner register_info(CLI::App& app, CommonOptions& common) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Print a model's summary: per-node output shape, parameters, MACs");
  cmd->add_option("model_file", opts->model_file, "ONNX model (default: the zoo model of --model)");
  add_model_options(*cmd, opts->model);
  add_common_options(*cmd, common);
  cmd->add_flag("--list", opts->list, "List the zoo's models");
  cmd->footer("Examples:\n  leancnn info --model resnet20 --input 3x32x32 --classes 10\n  leancnn info model.onnx --json");
  return [opts, &common] { return run_info(*opts, common); };
}

}  // namespace leancnn::cli
