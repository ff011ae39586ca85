// `leancnn prune --structured`: the structured-pruning branch of the prune command
// (compress/structured/structured.h). cmd_prune.cpp registers the shared flags (model, -o,
// --data, --schedule, --rounds, --exclude, --epochs, --batch, --lr, --test-images, --no-eval)
// and hands them here with the structured ones.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "commands.h"

namespace leancnn::cli {

struct StructuredCli {
  bool on = false;
  std::string criterion = "l1";
  double remove_flops = 0, remove_params = 0, remove_latency = 0;  // one of them, in (0, 1)
  double max_ratio = 0.9;
  int64_t round_to = 1;
  int64_t calib_images = 256;
  int64_t thinet_samples = 4096;
  bool no_reconstruct = false;
  double slimming_lambda = 1e-4;
  double group_lasso_lambda = 1e-3;
  int64_t prune_epochs = 0;
  bool from_scratch = false;
  int64_t bench_iters = 50;
};

// The shared flags cmd_prune.cpp owns.
struct PruneShared {
  std::string model_file, out, data, schedule;
  std::string ratios = "uniform";  // uniform | sensitivity | latency (gmm is unstructured only)
  int64_t sens_images = 1000;
  int rounds = 3;
  std::vector<std::string> exclude;
  int64_t epochs = 1, batch = 128;
  float lr = 0.01f;
  int64_t test_images = 0;
  bool no_eval = false;
};

void add_structured_options(CLI::App& cmd, StructuredCli& s);
int run_structured_prune(const PruneShared& p, const StructuredCli& s, const CommonOptions& common);

}  // namespace leancnn::cli
