// `leancnn export`: a zoo model (or a re-written ONNX model) to an ONNX file.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

#include "commands.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::cli {

namespace {
struct ExportOptions {
  std::string model_file;
  ModelOptions model;
  std::string out;
};

int run_export(const ExportOptions& o, const CommonOptions& common) {
  ir::Graph g = load_model(o.model_file, o.model, common.seed);
  io::save_onnx(g, o.out);
  const ir::Summary s = ir::summarize(g, ops::op_table());
  const auto bytes = std::filesystem::file_size(o.out);
  if (common.json) {
    std::cout << nlohmann::json{{"model", g.name}, {"file", o.out}, {"bytes", bytes}, {"params", s.params}, {"macs", s.macs}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "wrote " << o.out << " (" << g.name << ", " << s.params << " params, " << bytes << " bytes)\n";
  }
  return 0;
}
}  // namespace

Runner register_export(CLI::App& app, CommonOptions& common) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a zoo model (freshly initialised from --seed) as an ONNX file");
  cmd->add_option("model_file", o->model_file, "An ONNX model to re-write instead of a zoo model");
  add_model_options(*cmd, o->model);
  add_common_options(*cmd, common);
  cmd->add_option("-o,--out", o->out, "Output .onnx file (a name ending in .gz: gzip-compressed)")->required();
  cmd->footer(
      "Examples:\n"
      "  leancnn export --model resnet20 --input 1x28x28 --classes 10 -o resnet20.onnx\n"
      "  leancnn export quantized.onnx -o quantized.onnx.gz   # Deep Compression's coding stage (gzip)");
  return [o, &common] { return run_export(*o, common); };
}

}  // namespace leancnn::cli
