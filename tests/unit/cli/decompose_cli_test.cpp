// `leancnn decompose` as a user runs it: bad flags and impossible settings fail before any data
// is read (the data folder here does not exist) with exit code 2 and the reason; a data-free
// decomposition (no fine-tuning, no evaluation) writes a smaller model and reports each layer's
// method and ranks as JSON. Regression: a rank rule that does not apply to the method (vbmf for
// cp) used to be reported only after the data was read.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "cli_run.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;

using testing::cli::Result;

std::string test_dir() { return testing::cli::test_dir("decompose_cli"); }

Result run_cli(const std::string& args) { return testing::cli::run_leancnn(args, test_dir()); }

class DecomposeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_dir();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    model_ = dir_ + "/small_cnn.onnx";
    io::save_onnx(models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 1}, ops::op_table()), model_);
  }
  std::string dir_, model_;
};

TEST_F(DecomposeCli, BadSettingsFailBeforeTheData) {
  const std::string base = "decompose " + model_ + " -o " + dir_ + "/out.onnx --data " + dir_ + "/no_data ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--rank-rule vbmf --method cp", "the vbmf rank rule does not apply to cp"},
      {"--exclude fc9", "exclude: 'fc9' is not a Conv or Gemm layer"},
      {"--no-fc --no-convs", "nothing to decompose"},
      {"--method svd", "--method"},
      {"--fc-method tt --tt-cores 9", "--tt-cores"},
      {"--budget 1.5 --rank-rule budget", "--budget"},
      {"--round-to 0", "--round-to"},
  };
  for (const auto& [flags, message] : cases) {
    const Result r = run_cli(base + flags);
    EXPECT_EQ(r.code, 2) << flags << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << flags << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir_ + "/out.onnx")) << flags;
  }
}

TEST_F(DecomposeCli, DataFreeTuckerAndTensorTrainWriteASmallerModel) {
  const std::string out = dir_ + "/tt.onnx";
  const Result r = run_cli("decompose " + model_ + " -o " + out + " --data " + dir_ + "/no_data --method tucker2 --fc-method tt " +
                           "--rank-rule ratio --rank-ratio 0.3 --no-eval --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["method"], "tucker2");
  EXPECT_EQ(j["fc_method"], "tt");
  EXPECT_LT(j["params_after"].get<int64_t>(), j["params"].get<int64_t>());
  bool tucker = false, tt = false;
  for (const nlohmann::json& l : j["layers"]) {
    tucker = tucker || l["method"] == "tucker2";
    tt = tt || l["method"] == "tt";
  }
  EXPECT_TRUE(tucker && tt) << j.dump(2);
  const ir::Graph g = io::load_onnx(out, ops::op_table());
  EXPECT_EQ(ir::summarize(g, ops::op_table()).params, j["params_after"].get<int64_t>());
}

// --round-to 8: every Tucker-2 rank a multiple of 8 (the small CNN's 32 -> 64 conv at ratio 0.3
// would take ceil(0.3 * 32) = 10 and 20).
TEST_F(DecomposeCli, RoundToKeepsRanksInWholeVectors) {
  const std::string out = dir_ + "/r8.onnx";
  const Result r = run_cli("decompose " + model_ + " -o " + out + " --data " + dir_ + "/no_data --method tucker2 --no-fc " +
                           "--rank-rule ratio --rank-ratio 0.3 --round-to 8 --no-eval --json");
  ASSERT_EQ(r.code, 0) << r.err;
  int decomposed = 0;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  for (const nlohmann::json& l : j["layers"]) {
    if (l["method"] != "tucker2") continue;
    ++decomposed;
    for (const nlohmann::json& rank : l["ranks"]) EXPECT_EQ(rank.get<int64_t>() % 8, 0) << l.dump();
  }
  EXPECT_GT(decomposed, 0) << r.out;
}

}  // namespace
}  // namespace leancnn
