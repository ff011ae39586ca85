// `leancnn search` as a user runs it: --help and --list, bad flags (exit 2) and bad settings
// (exit 3) before any data is read, --decode to ONNX, and the worker protocol through a pipe.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "../pipeline/tiny_data.h"
#include "cli_run.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;

using testing::cli::Result;

std::string test_dir() { return testing::cli::test_dir("search_cli"); }

// `args` may hold a pipe: the shell runs it.
Result run_cli(const std::string& args) { return testing::cli::run_shell(args, test_dir()); }

const std::string kBin = LEANCNN_BIN;

TEST(SearchCli, HelpAndList) {
  Result h = run_cli(kBin + " search --help");
  EXPECT_EQ(h.code, 0);
  for (const char* flag : {"--space", "--strategy", "--budget", "--objective", "--max-latency", "--worker", "--decode",
                           "--codesign", "--codesign-max-pes", "--codesign-max-kb", "--darts-epochs", "--darts-warmup",
                           "--oneshot-epochs", "--oneshot-candidates"})
    EXPECT_NE(h.out.find(flag), std::string::npos) << flag;
  Result l = run_cli(kBin + " search --list --json");
  ASSERT_EQ(l.code, 0) << l.err;
  const nlohmann::json j = nlohmann::json::parse(l.out);
  EXPECT_EQ(j["spaces"].size(), 3u);
  EXPECT_EQ(j["strategies"],
            nlohmann::json({"random", "evolution", "tpe", "reinforce", "predictor", "darts", "oneshot"}));
}

// --codesign on a folder that holds no search: a bad-input error naming the file, nothing written.
TEST(SearchCli, CodesignNeedsAFinishedSearch) {
  const std::string dir = test_dir() + "/empty";
  std::filesystem::create_directories(dir);
  const Result r = run_cli(kBin + " search --codesign " + dir);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find(dir + "/search.json' does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/codesign.json"));
}

TEST(SearchCli, BadFlagsAndSettingsFailBeforeAnyWork) {
  const std::string dir = test_dir();
  const std::string base = kBin + " search -o " + dir + "/run --data " + dir + "/no_data";
  Result r = run_cli(base + " --space tiny");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--space"), std::string::npos);
  r = run_cli(base + " --strategy annealing");
  EXPECT_EQ(r.code, 2);
  r = run_cli(base + " --objective mnasnet");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("target latency"), std::string::npos);
  r = run_cli(base + " --accel warp-drive");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("unknown architecture 'warp-drive'"), std::string::npos);
  r = run_cli(base);  // the data folder is missing: bad input, named
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("no_data"), std::string::npos);
  r = run_cli(kBin + " search --data " + dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("-o,--out"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir + "/run/cache.jsonl"));
}

TEST(SearchCli, DecodeWritesAnOnnxModel) {
  const std::string dir = test_dir();
  fs::create_directories(dir);
  io::write_file_atomic(dir + "/arch.yaml", "space: macro\nchoices:\n  stage0.depth: 2\n  stage1.width: 48\n");
  Result r = run_cli(kBin + " search --decode " + dir + "/arch.yaml -o " + dir + "/m.onnx --input 1x28x28");
  ASSERT_EQ(r.code, 0) << r.err;
  const ir::Graph g = io::load_onnx(dir + "/m.onnx", ops::op_table());
  EXPECT_EQ(g.value(g.outputs().at(0)).shape.back(), 10);
  io::write_file_atomic(dir + "/bad.yaml", "space: macro\nchoices: {stage0.kernel: 4}\n");
  r = run_cli(kBin + " search --decode " + dir + "/bad.yaml -o " + dir + "/b.onnx");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("bad.yaml"), std::string::npos);
}

TEST(SearchCli, WorkerServesPrintedRequests) {
  const std::string dir = test_dir();
  const std::string data = pipeline::testing::write_tiny_idx(dir + "/data", 160, 32);
  const std::string settings = " --data " + data + " --train-images 96 --val-images 64 --test-images 32 --epochs 1"
                               " --batch 32 --latency-iters 2 --space macro";
  Result r = run_cli(kBin + " search --print-request --seed 3" + settings + " | " + kBin + " search --worker --cache " +
                     dir + "/cache.jsonl");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["id"], 3);
  EXPECT_EQ(j["error"], "");
  EXPECT_GT(j["params"].get<int64_t>(), 0);
  EXPECT_GT(j["latency_ms"].get<double>(), 0.0);
  EXPECT_TRUE(fs::exists(dir + "/cache.jsonl"));
}

}  // namespace
}  // namespace leancnn
