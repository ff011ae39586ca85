// Arena placement of activations by liveness: greedy best-fit by decreasing size.
#include "leancnn/runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "leancnn/core/error.h"

namespace leancnn::runtime {

namespace {
constexpr int64_t kAlign = 64;

int64_t aligned(int64_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

bool overlap_in_time(const Lifetime& a, const Lifetime& b) { return a.first <= b.last && b.first <= a.last; }
}  // namespace

MemoryPlan plan_memory(const std::vector<Lifetime>& lifetimes) {
  const size_t n = lifetimes.size();
  MemoryPlan plan;
  plan.offsets.assign(n, 0);
  std::vector<int64_t> size(n);
  for (size_t i = 0; i < n; ++i) {
    const Lifetime& l = lifetimes[i];
    if (l.bytes < 0 || l.last < l.first)
      fail(ErrorKind::internal, "plan_memory: lifetime ", i, " has ", l.bytes, " bytes over steps [", l.first, ", ",
           l.last, "]");
    size[i] = aligned(l.bytes);
    plan.total_bytes += size[i];
  }

  // Largest first (ties: earlier first, then index, so the plan is deterministic): the big
  // buffers claim space, the small ones fill the gaps between them.
  std::vector<size_t> by_size(n);
  std::iota(by_size.begin(), by_size.end(), size_t{0});
  std::sort(by_size.begin(), by_size.end(), [&](size_t a, size_t b) {
    if (size[a] != size[b]) return size[a] > size[b];
    if (lifetimes[a].first != lifetimes[b].first) return lifetimes[a].first < lifetimes[b].first;
    return a < b;
  });

  std::vector<size_t> placed;
  std::vector<size_t> live;  // placed lifetimes that overlap the current one in time
  for (size_t i : by_size) {
    if (size[i] == 0) continue;  // takes no bytes: offset 0 overlaps nothing
    live.clear();
    for (size_t j : placed)
      if (overlap_in_time(lifetimes[i], lifetimes[j])) live.push_back(j);
    std::sort(live.begin(), live.end(), [&](size_t a, size_t b) { return plan.offsets[a] < plan.offsets[b]; });
    // Best fit: the smallest gap between the live buffers that holds this one; else after
    // the last of them.
    int64_t best = -1, best_gap = 0, end = 0;
    for (size_t j : live) {
      const int64_t gap = plan.offsets[j] - end;
      if (gap >= size[i] && (best < 0 || gap < best_gap)) {
        best = end;
        best_gap = gap;
      }
      end = std::max(end, plan.offsets[j] + size[j]);
    }
    plan.offsets[i] = best >= 0 ? best : end;
    plan.arena_bytes = std::max(plan.arena_bytes, plan.offsets[i] + size[i]);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace leancnn::runtime
