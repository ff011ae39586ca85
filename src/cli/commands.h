// The subcommands of `leancnn`: each registers its options on the CLI11 app and runs one
// library call. Shared option conventions are in DESIGN.md §3a.
#pragma once
#include <functional>
#include <string>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"

namespace CLI {
class App;
}

namespace leancnn::cli {

// Options every command shares.
struct CommonOptions {
  int threads = 0;  // 0: all cores
  uint64_t seed = 0;
  bool json = false;
};

// A model named on the command line: a zoo model with its input shape and class count.
struct ModelOptions {
  std::string model = "resnet20";
  std::string input = "3x32x32";
  int64_t classes = 10;
};

void add_common_options(CLI::App& cmd, CommonOptions& common);
void add_model_options(CLI::App& cmd, ModelOptions& model);

// The model a command works on: the ONNX file when `file` is non-empty, else the zoo model.
ir::Graph load_model(const std::string& file, const ModelOptions& model, uint64_t seed);

// Each returns the process exit code.
using Runner = std::function<int()>;
Runner register_info(CLI::App& app, CommonOptions& common);
Runner register_demo(CLI::App& app, CommonOptions& common);
Runner register_train(CLI::App& app, CommonOptions& common);
Runner register_eval(CLI::App& app, CommonOptions& common);
Runner register_export(CLI::App& app, CommonOptions& common);
Runner register_accel(CLI::App& app, CommonOptions& common);
Runner register_bench(CLI::App& app, CommonOptions& common);
Runner register_infer(CLI::App& app, CommonOptions& common);
Runner register_quantize(CLI::App& app, CommonOptions& common);
Runner register_prune(CLI::App& app, CommonOptions& common);
Runner register_decompose(CLI::App& app, CommonOptions& common);
Runner register_search(CLI::App& app, CommonOptions& common);
Runner register_binarize(CLI::App& app, CommonOptions& common);
Runner register_distill(CLI::App& app, CommonOptions& common);
Runner register_run(CLI::App& app, CommonOptions& common);
Runner register_report(CLI::App& app, CommonOptions& common);

}  // namespace leancnn::cli
