// Timing a compiled plan: warm-up runs, timed runs, latency quantiles, throughput and an
// optional per-step profile. Shared by `leancnn bench` and the pipeline's latency evaluation.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/runtime/plan.h"

namespace leancnn::runtime {

struct BenchmarkOptions {
  int64_t iters = 50;    // timed runs (>= 1)
  int64_t warmup = 5;    // untimed runs first
  bool profile = false;  // record each step's time
  uint64_t seed = 0;     // the random input (uniform in [-1, 1])
  // Called after every run with (runs done, runs in all), warm-up included.
  std::function<void(int64_t, int64_t)> progress;
};

struct BenchmarkResult {
  Shape input_shape;                // what was run (batch = dim 0)
  std::vector<double> latency_ms;   // every timed run, in order
  double median_ms = 0, p90_ms = 0, min_ms = 0;
  double images_per_s = 0;          // batch / median
  // With profile: the plan's steps and each one's median time over the timed runs.
  std::vector<PlanStep> steps;
  std::vector<double> step_median_ms;
};

// Runs `plan` on a random input of `input_shape` (f32). Error(usage) if iters < 1 or warmup < 0.
// Leaves the plan's profiling switched off.
BenchmarkResult benchmark_plan(Plan& plan, const Shape& input_shape, const BenchmarkOptions& options);

// The q-quantile (0..1) by linear interpolation between closest ranks (numpy's default).
// An empty sample gives 0.
double quantile(std::vector<double> values, double q);

}  // namespace leancnn::runtime
