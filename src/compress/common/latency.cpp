// A model's measured latency (latency.h).
#include "leancnn/compress/common/latency.h"

#include <algorithm>

#include "leancnn/runtime/benchmark.h"
#include "leancnn/runtime/plan.h"

namespace leancnn::compress {

double measured_latency_ms(const ir::Graph& g) {
  runtime::Plan plan = runtime::Plan::compile(g);
  Shape input = g.value(g.inputs().at(0)).shape;
  input[0] = 1;
  runtime::BenchmarkOptions o;
  o.warmup = 3;
  o.iters = 5;
  const double first = runtime::benchmark_plan(plan, input, o).median_ms;
  // About 0.2 s of timed runs per measurement, 5 to 100 of them.
  o.warmup = 0;
  o.iters = std::clamp<int64_t>(static_cast<int64_t>(200.0 / std::max(first, 1e-3)), 5, 100);
  return runtime::benchmark_plan(plan, input, o).median_ms;
}

}  // namespace leancnn::compress
