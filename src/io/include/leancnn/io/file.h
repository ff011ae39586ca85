// Whole-file writes that never leave a half-written file.
#pragma once
#include <string>

namespace leancnn::io {

// Writes bytes to path atomically: a temporary file in the same folder (unique per process
// and call), flushed to disk, then renamed over path. On failure the temporary file is
// removed, an existing file at path is untouched, and Error(runtime) names the file.
void write_file_atomic(const std::string& path, const std::string& bytes);

// Reads a whole file; Error(bad_input) naming the file when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace leancnn::io
