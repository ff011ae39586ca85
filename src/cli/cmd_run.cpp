// `leancnn run`: a recipe (YAML; none = the built-in default) through its steps, every variant
// evaluated, then report.json + report.html in the output folder and the summary table.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json.h"
#include "leancnn/pipeline/recipe.h"
#include "leancnn/pipeline/runner.h"
#include "leancnn/report/report.h"

namespace leancnn::cli {

namespace {
struct RunCli {
  std::string recipe;
  std::string out;
  bool force = false;
  bool reevaluate = false;
  bool print_default = false;
  bool check = false;
  bool no_progress = false;
};

int run_run(const RunCli& c, const CommonOptions& common) {
  if (c.print_default) {
    std::cout << pipeline::default_recipe_text();
    return 0;
  }
  // Everything is validated before any work: the recipe, then the page's libraries.
  const pipeline::Recipe recipe = c.recipe.empty() ? pipeline::default_recipe() : pipeline::load_recipe(c.recipe);
  if (c.check) {
    // The steps' settings against the model too (layer names, ...): no data, no training.
    pipeline::check_steps(recipe, pipeline::build_input_model(recipe));
    if (common.json) std::cout << recipe.to_json().dump(2) << "\n";
    else std::cout << "recipe '" << recipe.source << "': valid, " << recipe.steps.size() << " step(s)\n";
    return 0;
  }
  const report::WebLibs libs = report::load_web_libs();
  pipeline::RunOptions o;
  o.out_dir = c.out;
  o.force = c.force;
  o.reevaluate = c.reevaluate;
  o.progress = !c.no_progress;
  const pipeline::RunResult run = pipeline::run_recipe(recipe, o);
  const Json rep = report::build_report(run);
  report::write_report(run.out_dir, rep, libs);
  if (common.json) {
    std::cout << rep.dump(2) << "\n";
  } else {
    std::cout << "\n" << report::summary_table(rep) << "\nrun took " << static_cast<int64_t>(run.seconds + 0.5)
              << " s; report: " << run.out_dir << "/report.html (data: " << run.out_dir << "/report.json)\n";
  }
  return 0;
}

}  // namespace

Runner register_run(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<RunCli>();
  CLI::App* cmd = app.add_subcommand("run", "Run a recipe: train, compress, evaluate every variant, write the report");
  cmd->add_option("recipe", c->recipe, "Recipe YAML file (default: the built-in recipe, see --print-default)");
  cmd->add_option("-o,--out", c->out, "Output folder (default: the recipe's output, else runs/recipe)");
  // No --seed: the recipe's seed decides (it is part of every step's key).
  cmd->add_option("--threads", common.threads, "Threads for training and evaluation (0 = all cores; latency uses "
                                               "evaluate.latency.threads)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", common.json, "Print report.json on stdout (progress goes to stderr)");
  cmd->add_flag("--force", c->force, "Rerun every step and evaluation even when unchanged");
  cmd->add_flag("--reevaluate", c->reevaluate, "Rerun the evaluations (e.g. to re-measure latency), reuse the steps");
  cmd->add_flag("--check", c->check, "Only validate the recipe and its steps' settings against the model (with --json: "
                                     "print it with every default filled in)");
  cmd->add_flag("--print-default", c->print_default, "Print the built-in default recipe and exit");
  cmd->add_flag("--no-progress", c->no_progress, "No progress lines on stderr");
  cmd->footer(
      "Each step writes <name>.onnx and <name>.settings.json into the output folder; a rerun skips the steps whose "
      "input model, settings and data are unchanged (content hashes), so an interrupted run resumes. The folder "
      "ends with report.json (docs/report.md) and report.html (self-contained, opens offline). Recipe keys: "
      "docs/recipes.md. A bad recipe is exit code 3, before any work.\n"
      "Examples:\n  leancnn run                       # the default: small CNN on Fashion-MNIST, float and int8\n"
      "  leancnn run recipes/tiny.yaml -o runs/tiny --threads 2\n  leancnn run my.yaml --check --json");
  return [c, &common] { return run_run(*c, common); };
}

}  // namespace leancnn::cli
