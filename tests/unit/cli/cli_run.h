// Running the leancnn executable from a CLI test as a user would: a folder of the running test's
// own (ctest runs the tests of a file in parallel processes) and one command's exit code,
// stdout and stderr.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "leancnn/io/file.h"

#ifndef LEANCNN_BIN
#error "tests/CMakeLists.txt passes the executable as LEANCNN_BIN"
#endif

namespace leancnn::testing::cli {

struct Result {
  int code = -1;
  std::string out, err;
};

// <TempDir>/<prefix>_<test name>.
inline std::string test_dir(const std::string& prefix) {
  return ::testing::TempDir() + "/" + prefix + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

// Runs `shell_command` (a pipe or a subshell is fine) with stdout and stderr into `dir`.
inline Result run_shell(const std::string& shell_command, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string out = dir + "/stdout.txt", err = dir + "/stderr.txt";
  const int status = std::system(("( " + shell_command + " ) >" + out + " 2>" + err).c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = io::read_file(out);
  r.err = io::read_file(err);
  return r;
}

// `leancnn ARGS`.
inline Result run_leancnn(const std::string& args, const std::string& dir) {
  return run_shell(std::string(LEANCNN_BIN) + " " + args, dir);
}

}  // namespace leancnn::testing::cli
