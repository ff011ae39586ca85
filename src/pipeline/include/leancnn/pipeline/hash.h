// Content hashes for resumable runs: SHA-256 (FIPS 180-4) of bytes and of files, as hex.
#pragma once
#include <cstdint>
#include <string>

namespace leancnn::pipeline {

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(const std::string& bytes) { update(bytes.data(), bytes.size()); }
  // The digest as 64 lowercase hex digits; the object must not be updated afterwards.
  std::string hex();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const std::string& bytes);
// Hash of a file's bytes, read in chunks. Error(bad_input) naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace leancnn::pipeline
