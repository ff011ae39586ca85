// IDX reading and dataset validation: good files (raw and gzip), every kind of bad file, and
// the real Fashion-MNIST as Debian installs it.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/io/idx.h"
#include "leancnn/train/dataset.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> idx_bytes(std::vector<uint32_t> dims, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

void write_raw(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void write_gz(const fs::path& p, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

class IdxFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("leancnn_idx_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A 3-image 2x2 split with the given labels.
  void write_split(const std::string& prefix, const std::vector<uint8_t>& labels, bool gz) {
    std::vector<uint8_t> pixels(labels.size() * 4);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i);
    auto w = gz ? write_gz : write_raw;
    w(dir_ / (prefix + "-images-idx3-ubyte" + (gz ? ".gz" : "")), idx_bytes({uint32_t(labels.size()), 2, 2}, pixels));
    w(dir_ / (prefix + "-labels-idx1-ubyte" + (gz ? ".gz" : "")), idx_bytes({uint32_t(labels.size())}, labels));
  }
  void expect_bad(const std::function<void()>& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "accepted bad input; expected '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::bad_input);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  fs::path dir_;
};

TEST_F(IdxFiles, ReadsRawAndGzip) {
  for (bool gz : {false, true}) {
    write_split(gz ? "train" : "t10k", {1, 0, 9}, gz);
    train::Dataset d = train::load_idx_dataset(dir_, gz ? train::Split::train : train::Split::test);
    ASSERT_EQ(d.size(), 3);
    EXPECT_EQ(d.images.shape(), (Shape{3, 1, 2, 2}));
    EXPECT_EQ(d.images.data<uint8_t>()[5], 5);
    EXPECT_EQ(d.labels.data<int64_t>()[2], 9);
  }
}

TEST_F(IdxFiles, RejectsBadFiles) {
  const fs::path p = dir_ / "x.idx";
  write_raw(p, {0, 1, 8, 1, 0, 0, 0, 1, 7});
  expect_bad([&] { io::read_idx(p); }, "not an IDX file");
  write_raw(p, {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  expect_bad([&] { io::read_idx(p); }, "not supported");
  write_raw(p, idx_bytes({10}, {1, 2, 3}));
  expect_bad([&] { io::read_idx(p); }, "truncated");
  write_gz(p, idx_bytes({2}, {1, 2, 3}));
  expect_bad([&] { io::read_idx(p); }, "bytes after");
  write_raw(p, {0, 0});
  expect_bad([&] { io::read_idx(p); }, "too short");
  expect_bad([&] { io::read_idx((dir_ / "absent").string()); }, "cannot open");
}

TEST_F(IdxFiles, RejectsBadDatasets) {
  write_split("train", {1, 12, 3}, false);
  expect_bad([&] { train::load_idx_dataset(dir_, train::Split::train); }, "label 12 of item 1");
  expect_bad([&] { train::load_idx_dataset(dir_, train::Split::test); }, "t10k-images-idx3-ubyte");
  write_raw(dir_ / "t10k-images-idx3-ubyte", idx_bytes({2, 2, 2}, std::vector<uint8_t>(8)));
  write_raw(dir_ / "t10k-labels-idx1-ubyte", idx_bytes({3}, {0, 1, 2}));
  expect_bad([&] { train::load_idx_dataset(dir_, train::Split::test); }, "holds 2 images");
  expect_bad([&] { train::resolve_data_dir((dir_ / "nope").string()); }, "does not exist");
}

TEST(FashionMnist, LoadsAsDebianInstallsIt) {
  if (!fs::exists(train::kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = train::resolve_data_dir("fashion-mnist");
  train::Dataset test = train::load_idx_dataset(dir, train::Split::test);
  EXPECT_EQ(test.images.shape(), (Shape{10000, 1, 28, 28}));
  std::vector<int> per_class(10, 0);
  for (int64_t i = 0; i < test.size(); ++i) ++per_class[test.labels.data<int64_t>()[i]];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 1000) << "class " << c;
}

}  // namespace
}  // namespace leancnn

namespace leancnn {
namespace {

// A header may declare up to 2^34 values; a short file must not make the reader allocate them
// (it did: the buffer was sized from the header before reading, 16 GiB here).
TEST(IdxRegression, ShortFileDeclaringHugeCountIsTruncatedNotAllocated) {
  const fs::path p = fs::temp_directory_path() / ("leancnn_idx_huge_" + std::to_string(::getpid()));
  for (bool gz : {false, true}) {
    (gz ? write_gz : write_raw)(p, idx_bytes({1u << 17, 1u << 17}, {1, 2, 3}));
    try {
      io::read_idx(p.string());
      ADD_FAILURE() << "read a truncated file";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
  }
  fs::remove(p);
}

// The element count was multiplied in int64 with the 2^34 check after each dim: 2^34 times a
// dim up to 2^31 overflowed (UB) and could wrap under the limit.
TEST(IdxRegression, DimsWhoseProductOverflows) {
  const fs::path p = fs::temp_directory_path() / ("leancnn_idx_overflow_" + std::to_string(::getpid()));
  write_raw(p, idx_bytes({1u << 17, 1u << 17, 1u << 31}, {1, 2}));
  try {
    io::read_idx(p.string());
    ADD_FAILURE() << "read a header of 2^65 elements";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too many elements"), std::string::npos) << e.what();
  }
  fs::remove(p);
}

}  // namespace
}  // namespace leancnn
