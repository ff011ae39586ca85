// A model's measured CPU latency, the cost every family's latency budget counts (structured
// pruning's NetAdapt ratios, decomposition's latency budget).
#pragma once
#include "leancnn/ir/graph.h"

namespace leancnn::compress {

// Median batch-1 latency (ms) of the graph's compiled plan with the process's thread setting:
// about 0.2 s of timed runs (5 to 100) after a short warm-up. A machine busy with other work
// makes it unreliable.
double measured_latency_ms(const ir::Graph& g);

}  // namespace leancnn::compress
