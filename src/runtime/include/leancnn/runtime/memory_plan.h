// Liveness-based placement of activations in one arena: each value lives from the step that
// produces it to the last step that reads it; values whose lifetimes do not overlap may share
// bytes. Greedy best-fit by decreasing size (as TFLite's and ORT's planners do), offsets
// aligned to 64 bytes.
#pragma once
#include <cstdint>
#include <vector>

namespace leancnn::runtime {

struct Lifetime {
  int64_t bytes = 0;
  int first = 0;  // step that writes it
  int last = 0;   // last step that reads it (>= first); graph outputs: the last step
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per lifetime, into the arena (64-byte aligned)
  int64_t arena_bytes = 0;       // the peak
  int64_t total_bytes = 0;       // sum of all (aligned) sizes
};

// No two lifetimes that overlap in [first, last] overlap in [offset, offset + bytes).
MemoryPlan plan_memory(const std::vector<Lifetime>& lifetimes);

}  // namespace leancnn::runtime
