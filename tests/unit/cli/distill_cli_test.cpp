// `leancnn distill` as a user runs it: bad flags, a missing or mismatched teacher fail before any
// training with exit code 2 (usage) or 3 (bad input) and the reason; a short KD run with its
// scratch baseline writes the distilled model and a report with teacher, scratch and distilled
// side by side.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "../pipeline/tiny_data.h"
#include "cli_run.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;

using testing::cli::Result;

std::string test_dir() { return testing::cli::test_dir("distill_cli"); }

Result run_cli(const std::string& args) { return testing::cli::run_leancnn(args, test_dir()); }

class DistillCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_dir();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    teacher_ = dir_ + "/resnet20.onnx";
    io::save_onnx(models::build_model("resnet20", {.input = {1, 28, 28}, .classes = 10, .seed = 1}, ops::op_table()), teacher_);
  }
  std::string dir_, teacher_;
};

TEST_F(DistillCli, BadFlagsAndTeachersFailBeforeAnyTraining) {
  const std::string rgb = dir_ + "/resnet18.onnx";
  io::save_onnx(models::build_model("resnet18", {.input = {3, 32, 32}, .classes = 10, .seed = 1}, ops::op_table()), rgb);
  const std::string data = pipeline::testing::write_tiny_idx(dir_ + "/data");
  const std::string nodata = " --data " + dir_ + "/no_data -o " + dir_ + "/out";
  struct Case {
    std::string flags, message;
    int code;
  };
  const std::vector<Case> cases = {
      {"--method kd" + nodata, "method 'kd' needs a teacher", 2},
      {"--method fitnets --teacher " + teacher_ + nodata, "needs layer pairs STUDENT_LAYER:TEACHER_LAYER", 2},
      {"--method fitnets --teacher " + teacher_ + " --layer Relu_1" + nodata, "needs its teacher layer", 2},
      {"--method dml --teacher " + teacher_ + nodata, "drop the teacher", 2},
      {"--method magic" + nodata, "--method", 2},
      {"--alpha 1.5 --teacher " + teacher_ + nodata, "--alpha", 2},
      {"--teacher " + dir_ + "/no_such.onnx" + nodata, "--teacher '" + dir_ + "/no_such.onnx': no such file", 2},
      {"--teacher " + rgb + " --data " + data + " -o " + dir_ + "/out", "takes input 1x3x32x32 but the student takes 1x1x28x28", 3},
  };
  for (const Case& c : cases) {
    const Result r = run_cli("distill " + c.flags);
    EXPECT_EQ(r.code, c.code) << c.flags << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.flags << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir_ + "/out/model.onnx")) << c.flags;
  }
}

TEST_F(DistillCli, KdWithItsScratchBaselineReportsThreeModelsSideBySide) {
  const std::string data = pipeline::testing::write_tiny_idx(dir_ + "/data", 96, 32);
  const std::string out = dir_ + "/kd";
  const Result r = run_cli("distill --model small_cnn --teacher " + teacher_ + " --method kd --scratch --epochs 1 --batch 32 --data " +
                           data + " -o " + out + " --json --threads 1");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["method"], "kd");
  ASSERT_EQ(j["models"].size(), 3u);
  EXPECT_EQ(j["models"][0]["name"], "teacher");
  EXPECT_EQ(j["models"][1]["name"], "scratch");
  EXPECT_EQ(j["models"][2]["name"], "distilled");
  EXPECT_EQ(j["models"][0]["params"], 272186);
  EXPECT_EQ(j["models"][1]["params"], j["models"][2]["params"]);
  EXPECT_DOUBLE_EQ(j["gain_over_scratch"].get<double>(),
                   j["models"][2]["test_acc"].get<double>() - j["models"][1]["test_acc"].get<double>());
  EXPECT_NO_THROW(io::load_onnx(out + "/model.onnx", ops::op_table()));
  EXPECT_EQ(nlohmann::json::parse(io::read_file(out + "/report.json")), j);
}

}  // namespace
}  // namespace leancnn
