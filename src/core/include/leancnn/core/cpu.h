// CPU feature detection, the ISA cap, and thread-count control (OpenMP: the runtime oneDNN uses
// here).
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
  bool avx512vpopcntdq = false;  // VPOPCNTQ (Ice Lake, Zen 4): the binary kernels' popcount
  bool avx_vnni = false;
  bool popcnt = false;
  std::string summary() const;  // "avx2 fma popcnt ..."
};

// The highest instruction-set level leancnn (and oneDNN) may use, lowest first. A cap makes a
// machine behave like an older CPU, so that every kernel path can be tested on any machine.
enum class CpuIsa { sse42, avx2, avx2_vnni, avx512, avx512_vnni, all };

// The cap in force: LEANCNN_MAX_CPU_ISA, else ONEDNN_MAX_CPU_ISA (so that capping oneDNN alone
// caps leancnn's own dispatch the same way), else `all`. Names, case-insensitive: sse42 (or
// sse41), avx2, avx2_vnni, avx512 (or avx512_core), avx512_vnni (or avx512_core_vnni), all; an
// unknown name is an Error(usage) naming the variable and the accepted values. Read once.
CpuIsa max_cpu_isa();
const char* cpu_isa_name(CpuIsa isa);  // "avx2", ...
// Parses one of the names above; false when it is not one.
bool parse_cpu_isa(const std::string& name, CpuIsa* isa);

// What the CPU has, before any cap. Detected once, at first call.
const CpuFeatures& detected_cpu_features();
// What leancnn dispatches on: the detected features with everything above max_cpu_isa() off.
const CpuFeatures& cpu_features();
// The detected features limited to `isa` (pure; what cpu_features() applies).
CpuFeatures cap_cpu_features(const CpuFeatures& f, CpuIsa isa);

// Threads used by leancnn's parallel loops and by oneDNN. n <= 0 means all cores. The process
// default (the CLI's --threads); a plan or an evaluation that wants another count says so in its
// own options (runtime::PlanOptions::threads), which a ThreadScope applies.
void set_num_threads(int n);
int num_threads();
int num_cores();

// The calling thread's parallel regions (leancnn's loops and oneDNN's, both OpenMP) run on n
// threads (n <= 0: unchanged) while the scope lives; then the count it found is back. OpenMP keeps
// the count per thread, so no other thread's setting changes.
class ThreadScope {
 public:
  explicit ThreadScope(int n);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int before_ = 0;
};

}  // namespace leancnn
