// Test support for ONNX files: a per-test temporary folder and the check that loading a bad
// file throws Error(bad_input) naming the file and what is wrong.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::onnx_test {

namespace fs = std::filesystem;

// Expects load_onnx(path) to throw Error(bad_input) whose message holds every `needles` string.
inline void expect_bad_file(const fs::path& path, const std::vector<std::string>& needles) {
  try {
    io::load_onnx(path.string(), ops::op_table());
    ADD_FAILURE() << path << " loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input) << e.what();
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << "does not name the file: " << msg;
    for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

class OnnxDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("leancnn_onnx_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path file(const std::string& name) const { return dir_ / name; }
  // Names in the folder other than `keep` (left-over temporary files).
  std::vector<std::string> others(const std::string& keep) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename() != keep) out.push_back(e.path().filename().string());
    return out;
  }
  fs::path dir_;
};

}  // namespace leancnn::onnx_test
