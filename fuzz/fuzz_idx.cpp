// libFuzzer target: io::read_idx on arbitrary file contents (raw or gzip, as the reader detects
// from the bytes). Every input must either read or throw leancnn::Error.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "leancnn/core/error.h"
#include "leancnn/io/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // read_idx takes a path: the bytes go to a per-process file (in /dev/shm when there is one).
  static const std::string path =
      (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + std::string("/leancnn_fuzz_idx_") + std::to_string(getpid());
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    leancnn::io::read_idx(path);
  } catch (const leancnn::Error&) {
  }
  return 0;
}
