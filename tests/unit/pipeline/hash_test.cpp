// SHA-256 against the FIPS 180-4 test vectors, and the step key's sensitivity to its inputs.
#include <gtest/gtest.h>

#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/hash.h"
#include "leancnn/pipeline/runner.h"

namespace leancnn::pipeline {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string s;
  for (int i = 0; i < 1000; ++i) s += static_cast<char>(i * 7);
  for (size_t cut : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 500u, 999u}) {
    Sha256 h;
    h.update(s.substr(0, cut));
    h.update(s.substr(cut));
    EXPECT_EQ(h.hex(), sha256_hex(s)) << cut;
  }
}

TEST(Sha256, File) {
  const std::string path = ::testing::TempDir() + "/sha_file.bin";
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_EQ(sha256_file(path), sha256_hex("abc"));
  EXPECT_THROW(sha256_file(path + ".missing"), Error);
}

TEST(StepKey, ChangesWithEveryInput) {
  const Json s = from_native({{"epochs", 1}, {"lr", 0.1}});
  const std::string k = step_key("model", s, "data");
  EXPECT_EQ(k, step_key("model", from_native({{"lr", 0.1}, {"epochs", 1}}), "data"));  // key order is irrelevant
  EXPECT_NE(k, step_key("model2", s, "data"));
  EXPECT_NE(k, step_key("model", from_native({{"epochs", 2}, {"lr", 0.1}}), "data"));
  EXPECT_NE(k, step_key("model", s, "data2"));
  EXPECT_EQ(k.size(), 64u);
}

TEST(DataHash, MissingFilesAreClearErrors) {
  const std::string dir = ::testing::TempDir() + "/data_hash_missing";
  std::filesystem::create_directories(dir);
  try {
    data_sha256(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("train-images-idx3-ubyte"), std::string::npos) << e.what();
  }
  EXPECT_THROW(data_sha256(dir + "/nope"), Error);
}

}  // namespace
}  // namespace leancnn::pipeline
