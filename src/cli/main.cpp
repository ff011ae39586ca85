// leancnn: the command-line entry point. Errors become exit codes (DESIGN.md §3a):
// 0 success, 1 failure while running, 2 usage error, 3 bad input.
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>

#include "commands.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::cli {

void add_common_options(CLI::App& cmd, CommonOptions& common) {
  cmd.add_option("--threads", common.threads, "Threads for kernels (0 = all cores)")->check(CLI::NonNegativeNumber);
  cmd.add_option("--seed", common.seed, "Seed for every random choice (same seed + threads = same result)");
  cmd.add_flag("--json", common.json, "Print the result as one JSON document on stdout (logs go to stderr)");
}

void add_model_options(CLI::App& cmd, ModelOptions& model) {
  cmd.add_option("--model", model.model, "Zoo model name (see `leancnn info --list`)")->capture_default_str();
  cmd.add_option("--input", model.input, "Input shape CxHxW")->capture_default_str();
  cmd.add_option("--classes", model.classes, "Number of classes")->capture_default_str()->check(CLI::PositiveNumber);
}

ir::Graph load_model(const std::string& file, const ModelOptions& model, uint64_t seed) {
  if (!file.empty()) return io::load_onnx(file, ops::op_table());
  return models::build_model(model.model, {models::parse_chw(model.input), model.classes, seed}, ops::op_table());
}

}  // namespace leancnn::cli

int main(int argc, char** argv) {
  using namespace leancnn;
  CLI::App app{"leancnn: train, compress, search, deploy and model the hardware cost of CNNs", "leancnn"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "leancnn 0.1.0");
  cli::CommonOptions common;
  std::map<CLI::App*, cli::Runner> runners;
  auto add = [&](cli::Runner r) { runners[app.get_subcommands({}).back()] = std::move(r); };
  add(cli::register_info(app, common));
  add(cli::register_demo(app, common));
  add(cli::register_train(app, common));
  add(cli::register_eval(app, common));
  add(cli::register_export(app, common));
  add(cli::register_accel(app, common));
  add(cli::register_bench(app, common));
  add(cli::register_infer(app, common));
  add(cli::register_quantize(app, common));
  add(cli::register_prune(app, common));
  add(cli::register_decompose(app, common));
  add(cli::register_search(app, common));
  add(cli::register_binarize(app, common));
  add(cli::register_distill(app, common));
  add(cli::register_run(app, common));
  add(cli::register_report(app, common));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, version or the usage error
    return code == 0 ? 0 : 2;
  }
  try {
    set_num_threads(common.threads);
    max_cpu_isa();  // a bad LEANCNN_MAX_CPU_ISA / ONEDNN_MAX_CPU_ISA is a usage error before any work
    for (CLI::App* sub : app.get_subcommands())
      if (runners.count(sub)) return runners[sub]();
    return 2;
  } catch (const Error& e) {
    std::cerr << "leancnn: error: " << e.what() << "\n";
    return exit_code(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "leancnn: internal error: " << e.what() << "\n";
    return 1;
  }
}
