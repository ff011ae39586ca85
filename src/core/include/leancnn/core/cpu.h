// CPU feature detection and thread-count control (OpenMP: the runtime oneDNN uses here).
#pragma once
#include <string>

namespace leancnn {

struct CpuFeatures {
  bool sse42 = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vnni = false;
  bool avx_vnni = false;
  bool popcnt = false;
  std::string summary() const;  // "avx2 fma popcnt ..."
};

// Detected once, at first call.
const CpuFeatures& cpu_features();

// Threads used by leancnn's parallel loops and by oneDNN. n <= 0 means all cores.
void set_num_threads(int n);
int num_threads();
int num_cores();

}  // namespace leancnn
