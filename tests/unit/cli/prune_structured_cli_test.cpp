// `leancnn prune --structured` as a user runs it: bad flags and impossible targets fail before
// the data is read (the data folder here does not exist) with exit code 2 and the reason; a good
// run writes a smaller model and reports channels, MACs, accuracy and latency.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "../pipeline/tiny_data.h"
#include "cli_run.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;

using testing::cli::Result;

std::string test_dir() { return testing::cli::test_dir("prune_structured_cli"); }

Result run_cli(const std::string& args) { return testing::cli::run_leancnn(args, test_dir()); }

class PruneStructuredCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_dir();
    fs::create_directories(dir_);
    model_ = dir_ + "/resnet20.onnx";
    io::save_onnx(models::build_model("resnet20", {.input = {1, 28, 28}, .classes = 10, .seed = 1}, ops::op_table()), model_);
  }
  std::string dir_, model_;
};

TEST_F(PruneStructuredCli, BadFlagsFailBeforeTheData) {
  const std::string base = "prune " + model_ + " -o " + dir_ + "/out.onnx --data " + dir_ + "/no_data ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--remove-flops 0.5", "add --structured"},
      {"--structured", "needs one target: --remove-flops FRACTION, --remove-params FRACTION or --remove-latency FRACTION"},
      {"--structured --remove-flops 0.5 --remove-params 0.5", "needs one target"},
      {"--structured --remove-flops 0.5 --remove-latency 0.3", "needs one target"},
      {"--structured --remove-latency 1.5", "--remove-latency: 1.5 must be in (0, 1)"},
      {"--structured --remove-flops 0.5 --ratios magic", "--ratios"},
      {"--structured --remove-flops 0.5 --ratios gmm", "--structured takes uniform, sensitivity or latency"},
      {"--structured --remove-flops 0.5 --ratios latency --criterion layer", "the layer criterion removes whole blocks"},
      {"--structured --remove-flops 1.5", "--remove-flops: 1.5 must be in (0, 1)"},
      {"--structured --remove-flops 0.995", "cannot lose channels"},
      {"--structured --remove-flops 0.5 --criterion magic", "--criterion"},
      {"--structured --remove-flops 0.5 --schedule gradual", "not one of: one_shot, iterative"},
      {"--structured --remove-flops 0.5 --exclude fc9", "exclude: 'fc9' is not a Conv or Gemm layer"},
      {"--structured --remove-flops 0.5 --criterion slimming", "trains before it prunes"},
  };
  for (const auto& [flags, message] : cases) {
    const Result r = run_cli(base + flags);
    EXPECT_EQ(r.code, 2) << flags << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << flags << "\n" << r.err;
  }
}

TEST_F(PruneStructuredCli, WritesASmallerModelAndReportsIt) {
  const std::string data = pipeline::testing::write_tiny_idx(dir_ + "/data");
  const std::string out = dir_ + "/pruned.onnx";
  const Result r = run_cli("prune " + model_ + " -o " + out + " --data " + data + " --structured --remove-flops 0.5 "
                           "--criterion fpgm --epochs 0 --json --test-images 8 --bench-iters 3");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["criterion"], "fpgm");
  EXPECT_LE(j["macs"].get<double>(), 0.5 * j["macs_before"].get<double>());
  EXPECT_LT(j["params"].get<int64_t>(), j["params_before"].get<int64_t>());
  ASSERT_EQ(j["layers"].size(), 22u);
  EXPECT_LT(j["layers"][0]["out_channels_after"].get<int64_t>(), j["layers"][0]["out_channels_before"].get<int64_t>());
  EXPECT_TRUE(j.contains("latency_ms") && j.contains("latency_ms_before") && j.contains("pruned_acc"));
  // The file is the smaller model.
  ir::Graph g = io::load_onnx(out, ops::op_table());
  ir::infer_shapes(g, ops::op_table());
  EXPECT_EQ(ir::summarize(g, ops::op_table()).macs, j["macs"].get<int64_t>());
}

// A model whose input is not the data's images (an imported 3x32x32 network, Fashion-MNIST's
// 1x28x28): with fine-tuning or evaluation asked for, the command fails before any work and says
// how to go on; data-free (--epochs 0 --no-eval, l1) it prunes without reading any data.
// Regression: the shapes used to clash only at the fine-tuning, after the pruning.
TEST_F(PruneStructuredCli, DataOfTheWrongShapeFailsFirstAndDataFreePruningNeedsNone) {
  const std::string data = pipeline::testing::write_tiny_idx(dir_ + "/data");
  const std::string rgb = dir_ + "/resnet18.onnx", out = dir_ + "/pruned18.onnx";
  io::save_onnx(models::build_model("resnet18", {.input = {3, 32, 32}, .classes = 10, .seed = 1}, ops::op_table()), rgb);
  fs::remove(out);  // from an earlier run of this test
  Result r = run_cli("prune " + rgb + " -o " + out + " --data " + data + " --structured --remove-flops 0.3");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("its images are 1x28x28 but the model's input 'input' is 3x32x32"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--epochs 0 --no-eval"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  r = run_cli("prune " + rgb + " -o " + out + " --data " + dir_ + "/no_data --structured --remove-flops 0.3 --epochs 0 --no-eval");
  ASSERT_EQ(r.code, 0) << r.err;
  const ir::Graph pruned = io::load_onnx(out, ops::op_table());
  EXPECT_LT(ir::summarize(pruned, ops::op_table()).macs, 0.71 * ir::summarize(io::load_onnx(rgb, ops::op_table()), ops::op_table()).macs);
}

}  // namespace
}  // namespace leancnn
