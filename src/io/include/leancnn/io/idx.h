// IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace leancnn::io {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;  // unsigned bytes (IDX type 0x08), row-major
};

// Reads an IDX file of unsigned bytes. gzip is detected from the content, not the name.
// Throws Error(bad_input) naming the file and the problem: missing or unreadable file, wrong
// magic number, unsupported element type, a truncated body, or trailing bytes.
IdxArray read_idx(const std::string& path);

}  // namespace leancnn::io
