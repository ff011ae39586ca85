// `leancnn search`: neural architecture search (docs/nas.md). The flags only fill a
// search::SearchSpec; run_search() does the work, as for the recipe's search step. Also the
// evaluation worker (--worker: EvalRequest JSON lines on stdin, EvalResult lines on stdout),
// a request printer for feeding workers (--print-request) and an architecture exporter
// (--decode ARCH.yaml -o MODEL.onnx).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/search/codesign.h"
#include "leancnn/search/search.h"

namespace leancnn::cli {

namespace {
namespace s = search;

struct SearchCli {
  std::string space = "mobile", strategy = "evolution", out, cache, table;
  int64_t budget = 20;
  std::string objective = "accuracy";
  double target_latency = 0, latency_weight = -0.07;
  bool hard_target = false;
  double max_latency = 0, max_energy = 0;
  std::string reference;  // a zoo model trained with the candidates' settings
  bool within_reference = false;
  double latency_ratio = 1.0;  // with within_reference: the cap on latency / the reference's
  int64_t max_params = 0, max_macs = 0;
  std::string data = "fashion-mnist", input = "1x28x28";
  int64_t classes = 10;
  int64_t train_images = 2000, val_images = 1000, test_images = 1000, epochs = 3, patience = 1, batch = 64;
  double lr = 0.05;
  int64_t latency_iters = 30;
  int latency_threads = 1;
  bool no_latency_table = false;
  std::vector<std::string> accel = {"eyeriss-like"};
  bool no_accel = false;
  uint64_t eval_seed = 0;
  int population = 16, sample_size = 4;
  s::DartsOptions darts;
  s::OneShotOptions oneshot;
  bool worker = false, print_request = false, list = false;
  std::string decode;
  std::string codesign;  // a finished search's folder
  int64_t codesign_max_pes = 576, codesign_max_kb = 256;
};

s::EvalSettings eval_settings(const SearchCli& c) {
  s::EvalSettings e;
  e.data = c.data;
  e.input = models::parse_chw(c.input);
  e.classes = c.classes;
  e.train_images = c.train_images;
  e.val_images = c.val_images;
  e.test_images = c.test_images;
  e.epochs = c.epochs;
  e.patience = c.patience;
  e.batch = c.batch;
  e.lr = c.lr;
  e.latency_iters = c.latency_iters;
  e.latency_threads = c.latency_threads;
  e.latency_table = !c.no_latency_table;
  e.accel_presets = c.no_accel ? std::vector<std::string>{} : c.accel;
  e.seed = c.eval_seed;
  return s::EvalSettings::from_json(e.to_json());  // validates (preset names) before any work
}

int list_spaces(bool json) {
  nlohmann::json j = nlohmann::json::array();
  for (const std::string& n : s::space_names()) {
    const auto sp = s::make_space(n);
    j.push_back({{"space", n}, {"description", sp->description()}, {"decisions", sp->decisions().size()},
                 {"log2_size", sp->log2_size()}});
  }
  if (json) {
    std::cout << nlohmann::json({{"spaces", j}, {"strategies", s::search_strategy_names()}}).dump(2) << "\n";
    return 0;
  }
  for (const auto& e : j)
    std::printf("%-7s %3d decisions, 2^%.1f architectures: %s\n", e["space"].get<std::string>().c_str(),
                e["decisions"].get<int>(), e["log2_size"].get<double>(), e["description"].get<std::string>().c_str());
  std::printf("strategies: random, evolution, tpe (alias bo), reinforce (alias rl)\n");
  return 0;
}

int decode(const SearchCli& c, const CommonOptions& common) {
  if (c.out.empty()) fail(ErrorKind::usage, "--decode needs -o MODEL.onnx");
  const s::Architecture a = s::load_yaml_file(c.decode);
  const auto sp = s::make_space(a.space);
  const ir::Graph g = sp->build(a, {models::parse_chw(c.input), c.classes, common.seed}, ops::op_table());
  io::save_onnx(g, c.out);
  std::fprintf(stderr, "%s (%s, hash %s) -> %s\n", c.decode.c_str(), a.space.c_str(), s::arch_hash(*sp, a).c_str(),
               c.out.c_str());
  return 0;
}

// Co-design over a finished search's networks (docs/nas.md §5): writes DIR/codesign.json and
// prints the joint front with what each fixed search reaches.
int codesign(const SearchCli& c, const CommonOptions& common) {
  s::AccelSpaceOptions o;
  o.max_pes = c.codesign_max_pes;
  o.max_buffer_kb = c.codesign_max_kb;
  const std::vector<s::CoDesignNet> nets = s::searched_networks(c.codesign);
  const s::AccelKnobs fixed{accel::Dataflow::rs, 14, 12, 108};  // eyeriss-like
  std::fprintf(stderr, "co-design: %zu networks x %zu accelerators (%lld PEs, %lld kB at most) ...\n", nets.size(),
               s::accel_space(o).size(), static_cast<long long>(o.max_pes), static_cast<long long>(o.max_buffer_kb));
  const s::CoDesignResult r = s::codesign(nets, o, fixed);
  const Json j = s::codesign_json(nets, r);
  io::write_file_atomic((std::filesystem::path(c.codesign) / "codesign.json").string(), j.dump(2) + "\n");
  if (common.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("joint front of accuracy vs energy (%lld pairs; fixed accelerator %s, fixed network %s):\n",
              static_cast<long long>(r.points.size()), s::knobs_label(r.fixed_accel).c_str(),
              nets[static_cast<size_t>(r.fixed_net)].name.c_str());
  std::printf("  %-36s %-20s %8s %12s %12s  %s\n", "network", "accelerator", "val acc", "energy uJ", "cycles", "reached by");
  std::vector<const s::CoDesignPoint*> front;
  for (const s::CoDesignPoint& p : r.points)
    if (p.joint_front) front.push_back(&p);
  std::sort(front.begin(), front.end(), [](auto* a, auto* b) { return a->energy_pj < b->energy_pj; });
  for (const s::CoDesignPoint* p : front) {
    const std::string by = p->beyond_fixed ? "co-design only"
                           : p->fixed_accel_front && p->fixed_net_front ? "both fixed searches"
                           : p->fixed_accel_front ? "fixed accelerator"
                           : p->fixed_net_front ? "fixed network"
                                                : "a fixed search (dominating)";
    std::printf("  %-36s %-20s %8.4f %12.3f %12lld  %s\n", nets[static_cast<size_t>(p->net)].name.substr(0, 36).c_str(),
                s::knobs_label(p->accel).c_str(), nets[static_cast<size_t>(p->net)].accuracy, p->energy_pj / 1e6,
                static_cast<long long>(p->cycles), by.c_str());
  }
  std::printf("written: %s\n", (std::filesystem::path(c.codesign) / "codesign.json").string().c_str());
  return 0;
}

int run_search_cli(const SearchCli& c, const CommonOptions& common) {
  if (c.list) return list_spaces(common.json);
  if (!c.decode.empty()) return decode(c, common);
  if (!c.codesign.empty()) return codesign(c, common);
  if (c.print_request) {
    const auto sp = s::make_space(c.space);
    Rng rng(common.seed);
    s::EvalRequest r;
    r.id = static_cast<int64_t>(common.seed);
    r.arch = sp->sample(rng);
    r.settings = eval_settings(c);
    std::cout << r.to_json_line() << "\n";
    return 0;
  }
  if (c.worker) {
    s::EvaluatorOptions eo;
    eo.cache_file = c.cache;
    eo.table_file = c.table;
    if (!c.out.empty()) eo.models_dir = c.out + "/models", eo.work_dir = c.out + "/work";
    s::Evaluator ev(eo);
    const int64_t n = s::run_worker(std::cin, std::cout, ev);
    std::fprintf(stderr, "worker: %lld requests served\n", static_cast<long long>(n));
    return 0;
  }
  if (c.out.empty()) fail(ErrorKind::usage, "-o,--out FOLDER is required for a search");
  s::SearchSpec spec;
  spec.space = c.space;
  spec.strategy = c.strategy;
  spec.budget = c.budget;
  spec.seed = common.seed;
  spec.eval = eval_settings(c);
  spec.objective.kind = c.objective;
  spec.objective.target_latency_ms = c.target_latency;
  spec.objective.latency_weight = c.latency_weight;
  spec.objective.hard_target = c.hard_target;
  spec.objective.max_latency_ms = c.max_latency;
  spec.objective.max_energy_pj = c.max_energy;
  spec.objective.max_params = c.max_params;
  spec.objective.max_macs = c.max_macs;
  spec.strategy_options.population = c.population;
  spec.strategy_options.sample_size = c.sample_size;
  spec.darts = c.darts;
  spec.oneshot = c.oneshot;
  spec.out_dir = c.out;
  spec.cache_file = c.cache;
  spec.table_file = c.table;
  spec.reference = c.reference;
  spec.within_reference = c.within_reference;
  spec.reference_latency_ratio = c.latency_ratio;
  if (!common.json) spec.log = [](const std::string& line) { std::cerr << line << "\n"; };
  const s::SearchReport r = s::run_search(spec);
  if (common.json) {
    std::cout << r.to_json().dump(2) << "\n";
    return 0;
  }
  std::printf("%s search over the %s space: %zu evaluations (%lld from the cache) in %.1f s -> %s/search.json\n",
              c.strategy.c_str(), c.space.c_str(), r.trajectory.size(), static_cast<long long>(r.cache_hits), r.seconds,
              c.out.c_str());
  std::printf("Pareto front (val accuracy vs latency vs energy):\n");
  std::printf("  %-4s %-10s %8s %8s %10s %12s %9s\n", "step", "hash", "val_acc", "test_acc", "latency_ms", "energy_uJ", "MMAC");
  for (size_t i : r.pareto) {
    const s::EvalResult& e = r.trajectory[i];
    std::printf("  %-4zu %-10s %8.4f %8.4f %10.3f %12.3f %9.2f\n", i + 1, e.arch_hash.substr(0, 8).c_str(), e.val_acc,
                e.test_acc, e.latency_ms, e.energy_pj() * 1e-6, static_cast<double>(e.macs) * 1e-6);
  }
  if (r.best >= 0) {
    const s::EvalResult& b = r.trajectory[static_cast<size_t>(r.best)];
    std::printf("best (score %.4f): %s\n  %s\n  -> %s/best.yaml%s\n", r.scores[static_cast<size_t>(r.best)],
                b.arch_hash.c_str(), b.summary.c_str(), c.out.c_str(), r.best_model.empty() ? "" : ", best.onnx");
  } else {
    std::printf("no architecture met the constraints\n");
  }
  if (r.has_reference()) {
    const s::EvalResult& f = r.reference;
    std::printf("reference %s (same training): val %.4f, test %.4f, %.3f ms, %.2f MMAC\n", f.summary.c_str(), f.val_acc,
                f.test_acc, f.latency_ms, static_cast<double>(f.macs) * 1e-6);
    if (r.best_latency_ratio() > 0) {
      const s::EvalResult& b = r.trajectory[static_cast<size_t>(r.best)];
      std::printf("  best vs reference: val %+.2f points at %.2fx its latency%s\n", 100 * (b.val_acc - f.val_acc),
                  r.best_latency_ratio(), b.anchor_latency_ms > 0 ? " (timed beside it)" : "");
    }
  }
  return 0;
}
}  // namespace

Runner register_search(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<SearchCli>();
  CLI::App* cmd = app.add_subcommand("search", "Neural architecture search over a space with a strategy (docs/nas.md)");
  cmd->footer(
      "Examples:\n"
      "  leancnn search --space mobile --strategy evolution --budget 20 -o runs/nas\n"
      "  leancnn search --space macro --strategy tpe --objective mnasnet --target-latency 0.3 -o runs/nas_tpe\n"
      "  leancnn search --space cell --strategy darts --darts-epochs 6 -o runs/darts\n"
      "  leancnn search --space mobile --strategy oneshot --oneshot-candidates 200 --budget 2 -o runs/oneshot\n"
      "  leancnn search --space mobile --reference small_cnn --within-reference -o runs/beat_small_cnn\n"
      "  leancnn search --print-request --space cell | leancnn search --worker --cache cache.jsonl\n"
      "  leancnn search --decode runs/nas/best.yaml -o found.onnx");
  cmd->add_option("--space", c->space, "Search space: mobile, macro or cell")->capture_default_str()
      ->check(CLI::IsMember({"mobile", "macro", "cell"}));
  cmd->add_option("--strategy", c->strategy,
                  "random, evolution, tpe (bo), reinforce (rl), predictor (evolution guided by a learned predictor), or "
                  "darts (cell space: one differentiable supernet, then its derived cell trained; --budget unused), or "
                  "oneshot (mobile space: a weight-sharing supernet scores sub-nets; the --budget best are trained)")
      ->capture_default_str()
      ->check(CLI::IsMember({"random", "evolution", "tpe", "bo", "reinforce", "rl", "predictor", "darts", "oneshot"}));
  cmd->add_option("--budget", c->budget, "Evaluations")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("-o,--out", c->out, "Output folder (search, worker) or ONNX file (--decode)");
  cmd->add_option("--cache", c->cache, "Evaluation cache, JSON lines (default OUT/cache.jsonl; share it between runs)");
  cmd->add_option("--latency-table", c->table, "Per-layer latency table, JSON lines (default OUT/latency_table.jsonl)");
  cmd->add_option("--objective", c->objective, "accuracy, or mnasnet: acc x (latency/target)^w")->capture_default_str()
      ->check(CLI::IsMember({"accuracy", "mnasnet"}));
  cmd->add_option("--target-latency", c->target_latency, "mnasnet: target latency in ms")->check(CLI::NonNegativeNumber);
  cmd->add_option("--latency-weight", c->latency_weight, "mnasnet: the exponent w")->capture_default_str();
  cmd->add_flag("--hard-target", c->hard_target, "mnasnet: no reward below the target (w = 0 there)");
  cmd->add_option("--max-latency", c->max_latency, "Constraint: latency in ms (0 = none)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--reference", c->reference,
                  "A zoo model (e.g. small_cnn) trained and measured with the candidates' settings first; search.json "
                  "compares the best with it");
  cmd->add_flag("--within-reference", c->within_reference,
                "Constraint: latency at most the reference's, each candidate timed beside it (a ratio cap of 1)");
  cmd->add_option("--latency-ratio", c->latency_ratio,
                  "With --within-reference: the cap on latency over the reference's (0.7 = at least 30 % faster)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-energy", c->max_energy, "Constraint: accelerator energy in pJ, first preset (0 = none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-params", c->max_params, "Constraint: parameters (0 = none)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-macs", c->max_macs, "Constraint: MACs per image (0 = none)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--data", c->data, "Dataset: fashion-mnist, mnist folder, or a folder of IDX files")->capture_default_str();
  cmd->add_option("--input", c->input, "Input shape CxHxW")->capture_default_str();
  cmd->add_option("--classes", c->classes, "Classes")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--train-images", c->train_images, "Training images per candidate (0 = all but validation)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--val-images", c->val_images, "Validation images (the end of the training split)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--test-images", c->test_images, "Test images (0 = all, -1 = no test accuracy)")->capture_default_str()
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40));
  cmd->add_option("--epochs", c->epochs, "Training epochs per candidate at most")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--patience", c->patience, "Early stopping: epochs without a better validation accuracy (0 = off)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", c->batch, "Training batch")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", c->lr, "Learning rate (SGD, momentum 0.9, cosine)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--latency-iters", c->latency_iters, "Timed runs per latency measurement")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--latency-threads", c->latency_threads, "Threads of the measured plan")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-latency-table", c->no_latency_table, "Measure every candidate (no per-layer table estimates)");
  cmd->add_option("--accel", c->accel, "Accelerator preset for energy/cycles; repeatable (the first one is the objective's)")
      ->capture_default_str();
  cmd->add_flag("--no-accel", c->no_accel, "No accelerator figures");
  cmd->add_option("--eval-seed", c->eval_seed, "Seed of the candidates' initialisation and training (part of the cache key)")
      ->capture_default_str();
  cmd->add_option("--population", c->population, "evolution: population size")->capture_default_str()->check(CLI::Range(2, 100000));
  cmd->add_option("--sample-size", c->sample_size, "evolution: tournament size")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--darts-epochs", c->darts.epochs, "darts: supernet epochs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--darts-warmup", c->darts.warmup_epochs, "darts: first epochs with the architecture weights frozen")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--darts-channels", c->darts.channels, "darts: the supernet's channels (8, 12 or 16)")->capture_default_str();
  cmd->add_option("--darts-repeats", c->darts.repeats, "darts: normal cells per stage (1 or 2)")->capture_default_str();
  cmd->add_option("--darts-lr", c->darts.weight_lr, "darts: the supernet weights' learning rate (SGD, cosine)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--darts-alpha-lr", c->darts.alpha_lr, "darts: the architecture weights' learning rate (Adam)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--oneshot-epochs", c->oneshot.epochs, "oneshot: supernet epochs")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--oneshot-candidates", c->oneshot.candidates, "oneshot: sub-nets scored with inherited weights")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--oneshot-calibration", c->oneshot.calibration_images,
                  "oneshot: training images that re-estimate each sub-net's BatchNorm statistics")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--oneshot-pool", c->oneshot.pool,
                  "oneshot, with caps: the supernet trains only sub-nets within them, up to this many distinct random "
                  "ones, each shrunk until it meets them, measured first (0 = uniform over the space)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--oneshot-sandwich", c->oneshot.sandwich,
                  "oneshot: 0 = one sampled sub-net per batch; N = the sandwich rule: the largest sub-net on the labels, "
                  "the smallest and N sampled ones distilled from it, one step on their summed gradients")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_flag("--worker", c->worker, "Evaluation worker: EvalRequest JSON lines on stdin, EvalResult lines on stdout");
  cmd->add_flag("--print-request", c->print_request, "Print an evaluation request for a random architecture (--seed) and exit");
  cmd->add_option("--decode", c->decode, "Architecture YAML to build and save as ONNX (-o)");
  cmd->add_option("--codesign", c->codesign, "Co-design: pair every network a finished search (this folder) trained with "
                                             "every accelerator of the space (dataflow, PE array, buffer); writes codesign.json");
  cmd->add_option("--codesign-max-pes", c->codesign_max_pes, "--codesign: most PEs an accelerator may have")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--codesign-max-kb", c->codesign_max_kb, "--codesign: largest global buffer, kB")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--list", c->list, "List the spaces and strategies");
  add_common_options(*cmd, common);
  return [c, &common] { return run_search_cli(*c, common); };
}

}  // namespace leancnn::cli
