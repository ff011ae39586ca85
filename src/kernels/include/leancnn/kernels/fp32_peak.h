// The fp32 peak of one thread of this CPU, for the "% of peak" figures of `leancnn bench` and the
// benchmarks: measured once per process with a register-resident loop of independent FMA chains
// on the widest vectors leancnn dispatches to here (cpu_features(), so LEANCNN_MAX_CPU_ISA caps it),
// instead of one machine's constant (a Cascade Lake's 146 GFLOP/s was printed on a Zen 3 VM that
// measures 90-93).
#pragma once

namespace leancnn::kernels {

// GFLOP/s (2 per FMA lane) of one thread; ~30 ms on the first call, cached after it.
double fp32_peak_gflops_per_thread();

}  // namespace leancnn::kernels
