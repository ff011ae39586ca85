// `leancnn binarize` as a user runs it: bad flags fail before any data is read (the data folder
// here does not exist) with exit code 2 naming the flag or layer; a post-training binarization
// (no epochs, no evaluation) writes the packed model and reports its layers and size as JSON.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "cli_run.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;

using testing::cli::Result;

std::string test_dir() { return testing::cli::test_dir("binarize_cli"); }

Result run_cli(const std::string& args) { return testing::cli::run_leancnn(args, test_dir()); }

class BinarizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_dir();
    fs::create_directories(dir_);
    model_ = dir_ + "/resnet20.onnx";
    io::save_onnx(models::build_model("resnet20", {.input = {1, 28, 28}, .classes = 10, .seed = 1}, ops::op_table()), model_);
  }
  std::string base() const { return model_ + " -o " + dir_ + "/out.onnx --data " + dir_ + "/no_data"; }
  std::string dir_, model_;
};

TEST_F(BinarizeCli, BadFlagsAreUsageErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--method xnor2", "--method"},
      {"--clip-latent maybe", "--clip-latent"},
      {"--exclude no_such_layer --no-eval", "excluded layer 'no_such_layer'"},
  };
  for (const auto& [flags, message] : cases) {
    const Result r = run_cli("binarize " + base() + " " + flags);
    EXPECT_EQ(r.code, 2) << flags << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << flags << "\n" << r.err;
  }
}

TEST_F(BinarizeCli, PostTrainingXnorWritesAPackedModelAndReportsItsSize) {
  const Result r = run_cli("binarize " + base() + " --no-eval --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["method"], "xnor");
  EXPECT_EQ(j["binarized_layers"].get<int64_t>(), static_cast<int64_t>(j["layers"].size()) - 2);
  EXPECT_LT(j["size_ratio"].get<double>(), 0.06);
  EXPECT_EQ(j["bytes"].get<int64_t>(), static_cast<int64_t>(fs::file_size(dir_ + "/out.onnx")));
  EXPECT_FALSE(j["layers"][0]["binarized"].get<bool>());
  EXPECT_EQ(j["layers"][1]["weight_bits"], 1);
  EXPECT_EQ(j["layers"][1]["input_bits"], 1);
  EXPECT_NO_THROW(io::load_onnx(dir_ + "/out.onnx", ops::op_table()));
}

}  // namespace
}  // namespace leancnn
