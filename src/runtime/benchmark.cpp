// Timing a compiled plan (benchmark.h): warm-up, timed runs, quantiles, per-step profile.
#include "leancnn/runtime/benchmark.h"

#include <algorithm>
#include <chrono>

#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"

namespace leancnn::runtime {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

BenchmarkResult benchmark_plan(Plan& plan, const Shape& input_shape, const BenchmarkOptions& o) {
  if (o.iters < 1) fail(ErrorKind::usage, "benchmark: iters must be >= 1, got ", o.iters);
  if (o.warmup < 0) fail(ErrorKind::usage, "benchmark: warmup must be >= 0, got ", o.warmup);
  if (input_shape.empty()) fail(ErrorKind::bad_input, "benchmark: the input shape is a scalar; expected N x C x H x W");
  BenchmarkResult r;
  r.input_shape = input_shape;
  Tensor input = Tensor::empty(input_shape);
  Rng(o.seed).fill_uniform(input, -1.f, 1.f);
  const std::vector<Tensor> inputs = {input};
  const int64_t total = o.warmup + o.iters;

  plan.set_profiling(false);
  for (int64_t i = 0; i < o.warmup; ++i) {
    plan.run(inputs);
    if (o.progress) o.progress(i + 1, total);
  }
  plan.set_profiling(o.profile);
  std::vector<std::vector<double>> step_ms;  // per iteration, per step
  for (int64_t i = 0; i < o.iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    plan.run(inputs);
    r.latency_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (o.profile) step_ms.push_back(plan.step_ms());
    if (o.progress) o.progress(o.warmup + i + 1, total);
  }
  plan.set_profiling(false);

  r.median_ms = quantile(r.latency_ms, 0.5);
  r.p90_ms = quantile(r.latency_ms, 0.9);
  r.min_ms = quantile(r.latency_ms, 0.0);
  r.images_per_s = r.median_ms > 0 ? static_cast<double>(input_shape[0]) / (r.median_ms / 1e3) : 0.0;
  if (o.profile) {
    r.steps = plan.steps();
    for (size_t s = 0; s < r.steps.size(); ++s) {
      std::vector<double> times;
      for (const auto& it : step_ms)
        if (s < it.size()) times.push_back(it[s]);
      r.step_median_ms.push_back(quantile(times, 0.5));
    }
  }
  return r;
}

}  // namespace leancnn::runtime
