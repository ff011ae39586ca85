// `leancnn export` as a user runs it: a model re-written to a ".gz" name is gzip-compressed and
// smaller, and other commands (info, bench) read it like the plain file.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_run.h"
#include "leancnn/io/file.h"
#include "leancnn/io/gzip.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;

TEST(ExportCli, GzOutputIsCompressedAndReadByOtherCommands) {
  const std::string dir = testing::cli::test_dir("export_cli");
  fs::remove_all(dir);
  const std::string plain = dir + "/r20.onnx", gz = dir + "/r20.onnx.gz";
  auto run = [&](const std::string& args) { return testing::cli::run_leancnn(args, dir); };
  ASSERT_EQ(run("export --model resnet20 --input 1x28x28 --classes 10 -o " + plain).code, 0);
  const testing::cli::Result e = run("export " + plain + " -o " + gz);
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_TRUE(io::is_gzip(io::read_file(gz)));
  EXPECT_LT(fs::file_size(gz), fs::file_size(plain));
  const testing::cli::Result info = run("info " + gz);
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("1x10"), std::string::npos) << info.out;
  const testing::cli::Result bench = run("bench " + gz + " --iters 2 --warmup 0 --threads 1");
  EXPECT_EQ(bench.code, 0) << bench.err;
  const testing::cli::Result help = run("export --help");
  EXPECT_NE(help.out.find(".gz"), std::string::npos) << help.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace leancnn
