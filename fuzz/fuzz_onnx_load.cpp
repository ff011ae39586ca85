// libFuzzer target: io::load_onnx_bytes on arbitrary bytes. Every input must either load (a
// valid graph) or throw leancnn::Error; anything else (a crash, a sanitizer report, another
// exception type, running out of memory) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    leancnn::io::load_onnx_bytes(bytes, leancnn::ops::op_table());
  } catch (const leancnn::Error&) {
    // A clear error: the expected outcome for most inputs.
  }
  return 0;
}
