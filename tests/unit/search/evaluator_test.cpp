// The evaluator on a tiny synthetic dataset: figures of a real (short) training, latency and
// accelerator cost; the on-disk cache (reuse, a torn last line, a new process); the latency
// table's estimates; early stopping; the worker protocol's JSON lines.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../pipeline/tiny_data.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/search/evaluator.h"
#include "leancnn/search/search.h"

namespace leancnn::search {
namespace {

namespace fs = std::filesystem;

std::string test_dir() {
  const std::string d = ::testing::TempDir() + "/search_" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

EvalSettings tiny_settings(const std::string& dir) {
  EvalSettings s;
  s.data = pipeline::testing::write_tiny_idx(dir + "/data", 192, 48);
  s.train_images = 128;
  s.val_images = 64;
  s.test_images = 0;
  s.epochs = 2;
  s.patience = 0;
  s.batch = 32;
  s.latency_iters = 3;
  s.latency_warmup = 1;
  return s;
}

// The space's smallest architecture (every first option) unless a seed samples one: training
// stays quick on a loaded machine.
EvalRequest request(const EvalSettings& s, const std::string& space = "macro", uint64_t seed = 0) {
  const auto sp = make_space(space);
  EvalRequest r;
  r.arch = {space, std::vector<int>(sp->decisions().size(), 0)};
  if (seed != 0) {
    Rng rng(seed);
    r.arch = sp->sample(rng);
  }
  r.settings = s;
  return r;
}

TEST(Evaluator, EvaluatesAndCachesOnDisk) {
  const std::string dir = test_dir();
  const EvalRequest req = request(tiny_settings(dir));
  EvaluatorOptions eo;
  eo.cache_file = dir + "/cache.jsonl";
  eo.work_dir = dir + "/work";
  eo.models_dir = dir + "/models";
  EvalResult first;
  {
    Evaluator ev(eo);
    first = ev.evaluate(req);
    ASSERT_TRUE(first.ok()) << first.error;
    EXPECT_FALSE(first.cached);
    EXPECT_EQ(first.epochs_run, 2);
    EXPECT_GE(first.val_acc, 0.0);
    EXPECT_LE(first.val_acc, 1.0);
    EXPECT_GE(first.test_acc, 0.0);
    EXPECT_GT(first.params, 1000);
    EXPECT_GT(first.macs, first.params);
    EXPECT_GT(first.latency_ms, 0.0);
    EXPECT_FALSE(first.latency_estimated);
    ASSERT_EQ(first.accel.size(), 1u);
    EXPECT_GT(first.accel[0].energy_pj, 0.0);
    EXPECT_GT(first.accel[0].cycles, 0);
    EXPECT_TRUE(fs::exists(dir + "/models/" + first.arch_hash + ".onnx"));
    EXPECT_FALSE(fs::exists(dir + "/work/" + first.arch_hash.substr(0, 16)));  // checkpoints cleaned up
    const EvalResult again = ev.evaluate(req);
    EXPECT_TRUE(again.cached);
    EXPECT_EQ(again.val_acc, first.val_acc);
  }
  // A torn last line (a crash mid-write) is skipped; the earlier evaluation is still there.
  { std::ofstream(dir + "/cache.jsonl", std::ios::app) << "{\"key\": \"abc"; }
  Evaluator ev(eo);
  EXPECT_EQ(ev.cache().torn_lines(), 1);
  const EvalResult reloaded = ev.evaluate(req);
  EXPECT_TRUE(reloaded.cached);
  EXPECT_EQ(reloaded.key, first.key);
  EXPECT_DOUBLE_EQ(reloaded.latency_ms, first.latency_ms);
  EXPECT_EQ(reloaded.summary, first.summary);
}

TEST(Evaluator, LatencyTableEstimatesKnownLayers) {
  const std::string dir = test_dir();
  EvalSettings s = tiny_settings(dir);
  s.epochs = 1;
  s.accel_presets.clear();
  EvaluatorOptions eo;
  eo.table_file = dir + "/table.jsonl";
  eo.work_dir = dir + "/work";
  Evaluator ev(eo);
  const EvalRequest req = request(s);
  const EvalResult measured = ev.evaluate(req);
  ASSERT_TRUE(measured.ok()) << measured.error;
  EXPECT_FALSE(measured.latency_estimated);
  EXPECT_GT(ev.latency_table().size(), 3u);
  // The same network under another training seed: a new key, the same layers.
  EvalRequest other = req;
  other.settings.seed = 7;
  const EvalResult estimated = ev.evaluate(other);
  EXPECT_TRUE(estimated.latency_estimated);
  EXPECT_GT(estimated.latency_ms, 0.0);
  // The table persists.
  EXPECT_GT(LatencyTable(dir + "/table.jsonl").size(), 3u);
}

TEST(Evaluator, EarlyStoppingEndsTrainingWithoutProgress) {
  const std::string dir = test_dir();
  EvalSettings s = tiny_settings(dir);
  // Every label 0: the model reaches validation accuracy 1 at once and can never do better,
  // so with patience 1 the second epoch is the last.
  {
    std::fstream f(s.data + "/train-labels-idx1-ubyte", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    const std::string zeros(192, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  s.epochs = 6;
  s.patience = 1;
  s.lr = 0.1;
  s.accel_presets.clear();
  EvaluatorOptions eo;
  eo.work_dir = dir + "/work";
  Evaluator ev(eo);
  const EvalResult r = ev.evaluate(request(s));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_DOUBLE_EQ(r.val_acc, 1.0);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_LT(r.epochs_run, 6);
}

TEST(Evaluator, RequestsAndResultsAreJsonLines) {
  const std::string dir = test_dir();
  EvalRequest req = request(tiny_settings(dir), "cell", 4);
  req.id = 17;
  const EvalRequest back = EvalRequest::from_json_line(req.to_json_line());
  EXPECT_EQ(back.id, 17);
  EXPECT_EQ(back.arch, req.arch);
  EXPECT_EQ(back.settings.to_json(), req.settings.to_json());
  EXPECT_EQ(request_key(back), request_key(req));
  EvalRequest other = req;
  other.settings.epochs = 5;
  EXPECT_NE(request_key(other), request_key(req));
  EXPECT_THROW(EvalRequest::from_json_line("{\"arch\": {\"space\": \"macro\", \"choices\": [1]}}"), Error);
  EXPECT_THROW(EvalRequest::from_json_line("not json"), Error);
  EXPECT_THROW(EvalSettings::from_json(from_native({{"epoch", 3}})), Error);  // a typo'd key
  EXPECT_THROW(EvalSettings::from_json(from_native({{"accel_presets", {"warp-drive"}}})), Error);
  try {
    EvalSettings::from_json(from_native({{"latency_anchor", "small_cnnn"}}));
    ADD_FAILURE() << "an unknown anchor model was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("latency_anchor"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("small_cnn"), std::string::npos) << e.what();  // the known names
  }
}

TEST(Evaluator, WorkerAnswersEveryLine) {
  const std::string dir = test_dir();
  EvalSettings s = tiny_settings(dir);
  s.epochs = 1;
  EvalRequest req = request(s);
  req.id = 3;
  std::istringstream in(req.to_json_line() + "\n{\"broken\": true}\n");
  std::ostringstream out;
  EvaluatorOptions eo;
  eo.work_dir = dir + "/work";
  Evaluator ev(eo);
  EXPECT_EQ(run_worker(in, out, ev), 2);
  std::istringstream lines(out.str());
  std::string l1, l2;
  std::getline(lines, l1);
  std::getline(lines, l2);
  const EvalResult r1 = EvalResult::from_json_line(l1);
  EXPECT_EQ(r1.id, 3);
  EXPECT_TRUE(r1.ok()) << r1.error;
  EXPECT_EQ(r1.arch, req.arch);
  const nlohmann::json j2 = nlohmann::json::parse(l2);
  EXPECT_EQ(j2["id"], -1);
  EXPECT_NE(j2["error"].get<std::string>().find("no 'arch'"), std::string::npos);
}

TEST(Search, RunsWritesItsFilesAndResumesFromTheCache) {
  const std::string dir = test_dir();
  SearchSpec spec;
  spec.space = "macro";
  spec.strategy = "evolution";
  spec.strategy_options.population = 2;
  spec.strategy_options.sample_size = 2;
  spec.budget = 3;
  spec.seed = 5;
  spec.eval = tiny_settings(dir);
  spec.eval.epochs = 1;
  spec.out_dir = dir + "/run";
  const SearchReport r = run_search(spec);
  ASSERT_EQ(r.trajectory.size(), 3u);
  ASSERT_GE(r.best, 0);
  EXPECT_FALSE(r.pareto.empty());
  EXPECT_TRUE(fs::exists(spec.out_dir + "/search.json"));
  EXPECT_TRUE(fs::exists(spec.out_dir + "/best.yaml"));
  EXPECT_TRUE(fs::exists(spec.out_dir + "/best.onnx"));
  EXPECT_EQ(load_yaml_file(spec.out_dir + "/best.yaml"), r.trajectory[static_cast<size_t>(r.best)].arch);
  const nlohmann::json j = nlohmann::json::parse(r.to_json().dump());
  EXPECT_EQ(j["trajectory"].size(), 3u);
  EXPECT_EQ(j["strategy"], "evolution");
  // The same search again: every evaluation comes from the cache, in the same order.
  const SearchReport again = run_search(spec);
  EXPECT_EQ(again.cache_hits, 3);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(again.trajectory[i].cached);
    EXPECT_EQ(again.trajectory[i].key, r.trajectory[i].key);
  }
  // Settings problems are named before any evaluation.
  SearchSpec bad = spec;
  bad.eval.accel_presets = {"warp-drive"};
  EXPECT_THROW(run_search(bad), Error);
  bad = spec;
  bad.objective.kind = "mnasnet";
  EXPECT_THROW(run_search(bad), Error);
}

// A random macro-space search of `budget` one-epoch evaluations on the tiny data, into dir/run.
SearchSpec random_search(const std::string& dir, int64_t budget, uint64_t seed) {
  SearchSpec spec;
  spec.space = "macro";
  spec.strategy = "random";
  spec.budget = budget;
  spec.seed = seed;
  spec.eval = tiny_settings(dir);
  spec.eval.epochs = 1;
  spec.out_dir = dir + "/run";
  return spec;
}

TEST(Search, JudgesTheBestAgainstAReferenceTrainedTheSameWay) {
  const std::string dir = test_dir();
  SearchSpec spec = random_search(dir, 2, 3);
  spec.eval.latency_table = false;  // every candidate measured, as the reference is
  spec.reference = "small_cnn";
  spec.within_reference = true;
  spec.reference_latency_ratio = 1.5;  // at most 1.5x the reference's latency
  const SearchReport r = run_search(spec);
  ASSERT_TRUE(r.has_reference());
  EXPECT_EQ(r.reference.summary, "small_cnn");
  EXPECT_TRUE(r.reference.ok());
  EXPECT_GT(r.reference.latency_ms, 0);
  EXPECT_GT(r.reference.macs, 0);
  EXPECT_GE(r.reference.val_acc, 0);
  EXPECT_EQ(r.reference.epochs_run, 1);
  // Every latency was timed beside the reference's, and the cap is on their ratio: a feasible
  // candidate is at most 1.5x slower than the reference timed at the same moment.
  EXPECT_EQ(r.spec.objective.max_latency_ratio, 1.5);
  EXPECT_EQ(r.spec.objective.max_latency_ms, 0.0);
  EXPECT_GT(r.reference.anchor_latency_ms, 0);
  for (const EvalResult& e : r.trajectory) {
    ASSERT_GT(e.anchor_latency_ms, 0) << e.summary;
    EXPECT_EQ(feasible(r.spec.objective, e), e.ok() && e.trained && e.latency_ms <= 1.5 * e.anchor_latency_ms) << e.summary;
  }
  const nlohmann::json j = nlohmann::json::parse(r.to_json().dump());
  ASSERT_TRUE(j.contains("reference"));
  EXPECT_EQ(j["reference"]["model"], "small_cnn");
  EXPECT_EQ(j["objective"]["max_latency_ratio"].get<double>(), 1.5);
  EXPECT_EQ(j["eval"]["latency_anchor"], "small_cnn");
  if (r.best >= 0) {
    const EvalResult& b = r.trajectory[static_cast<size_t>(r.best)];
    EXPECT_NEAR(j["best_vs_reference"]["val_acc_delta"].get<double>(), b.val_acc - r.reference.val_acc, 1e-12);
    EXPECT_LE(j["best_vs_reference"]["latency_ratio"].get<double>(), 1.5);
  } else {
    EXPECT_FALSE(j.contains("best_vs_reference"));
  }
  // Run again: the reference comes from the cache with the same figures.
  const SearchReport again = run_search(spec);
  EXPECT_TRUE(again.reference.cached);
  EXPECT_EQ(again.reference.val_acc, r.reference.val_acc);
  EXPECT_EQ(again.reference.latency_ms, r.reference.latency_ms);
  // Bad settings fail before anything is trained or written.
  SearchSpec bad = spec;
  bad.out_dir = dir + "/bad";
  bad.reference = "no_such_model";
  EXPECT_THROW(run_search(bad), Error);
  bad.reference.clear();
  EXPECT_THROW(run_search(bad), Error);  // within_reference without a reference
  bad.reference = "small_cnn";
  bad.reference_latency_ratio = 0;
  EXPECT_THROW(run_search(bad), Error);  // a ratio cap must be > 0
  bad.reference_latency_ratio = 0.7;
  bad.within_reference = false;
  EXPECT_THROW(run_search(bad), Error);  // a ratio cap without the reference timed beside
  EXPECT_FALSE(fs::exists(bad.out_dir));
}

TEST(Search, CandidatesOverACapAreMeasuredNotTrained) {
  const std::string dir = test_dir();
  SearchSpec spec = random_search(dir, 3, 7);
  spec.objective.max_macs = 1;  // no network is this small
  const SearchReport r = run_search(spec);
  ASSERT_EQ(r.trajectory.size(), 3u);
  EXPECT_EQ(r.best, -1);
  EXPECT_TRUE(r.pareto.empty());
  for (size_t i = 0; i < 3; ++i) {
    const EvalResult& e = r.trajectory[i];
    EXPECT_FALSE(e.trained);
    EXPECT_EQ(e.epochs_run, 0);
    EXPECT_GT(e.macs, 1);
    EXPECT_GT(e.latency_ms, 0);
    EXPECT_FALSE(e.accel.empty());
    // Scored by the excess alone, as a trained infeasible candidate would be.
    EXPECT_DOUBLE_EQ(r.scores[i], -1.0 - (static_cast<double>(e.macs) - 1.0));
    EXPECT_FALSE(fs::exists(spec.out_dir + "/models/" + e.arch_hash + ".onnx"));
  }
  // Resuming replays the measurements from the cache.
  const SearchReport again = run_search(spec);
  EXPECT_EQ(again.cache_hits, 3);
  EXPECT_EQ(again.trajectory[0].latency_ms, r.trajectory[0].latency_ms);
  // Without the cap the same candidates are trained (a precheck never stands for a result).
  spec.objective.max_macs = 0;
  const SearchReport open = run_search(spec);
  EXPECT_EQ(open.cache_hits, 0);
  for (const EvalResult& e : open.trajectory) EXPECT_TRUE(e.trained);
  EXPECT_GE(open.best, 0);
  // With a cap every candidate meets, the candidates are prechecked and then trained.
  spec.objective.max_macs = int64_t{1} << 40;
  const SearchReport roomy = run_search(spec);
  for (const EvalResult& e : roomy.trajectory) EXPECT_TRUE(e.trained && e.cached);  // the trained results are reused
}

}  // namespace
}  // namespace leancnn::search
