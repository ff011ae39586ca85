// plan_memory: no two live-together values share bytes, chains reuse memory, alignment.
#include <gtest/gtest.h>

#include <algorithm>

#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/runtime/memory_plan.h"

namespace leancnn::runtime {
namespace {

int64_t aligned(int64_t b) { return (b + 63) / 64 * 64; }

// Every pair that overlaps in time must be disjoint in [offset, offset + aligned bytes), and
// everything must fit in the arena.
void expect_valid(const std::vector<Lifetime>& l, const MemoryPlan& p) {
  ASSERT_EQ(p.offsets.size(), l.size());
  int64_t total = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    total += aligned(l[i].bytes);
    EXPECT_EQ(p.offsets[i] % 64, 0) << i;
    EXPECT_GE(p.offsets[i], 0);
    EXPECT_LE(p.offsets[i] + l[i].bytes, p.arena_bytes) << i;
    for (size_t j = i + 1; j < l.size(); ++j) {
      const bool in_time = l[i].first <= l[j].last && l[j].first <= l[i].last;
      const bool in_space = p.offsets[i] < p.offsets[j] + l[j].bytes && p.offsets[j] < p.offsets[i] + l[i].bytes;
      EXPECT_FALSE(in_time && in_space) << "lifetimes " << i << " and " << j << " share bytes";
    }
  }
  EXPECT_EQ(p.total_bytes, total);
  EXPECT_LE(p.arena_bytes, p.total_bytes);
}

TEST(MemoryPlan, RandomLifetimesNeverShareLiveBytes) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Rng rng(seed);
    const int steps = 1 + static_cast<int>(rng.uniform() * 30);
    const int count = static_cast<int>(rng.uniform() * 40);
    std::vector<Lifetime> l(count);
    int64_t peak_live = 0;
    for (Lifetime& x : l) {
      x.bytes = static_cast<int64_t>(rng.uniform() * 5000);  // includes 0 and unaligned sizes
      x.first = static_cast<int>(rng.uniform() * steps);
      x.last = x.first + static_cast<int>(rng.uniform() * (steps - x.first));
    }
    for (int s = 0; s < steps; ++s) {
      int64_t live = 0;
      for (const Lifetime& x : l)
        if (x.first <= s && s <= x.last) live += aligned(x.bytes);
      peak_live = std::max(peak_live, live);
    }
    const MemoryPlan p = plan_memory(l);
    SCOPED_TRACE(seed);
    expect_valid(l, p);
    EXPECT_GE(p.arena_bytes, peak_live);  // a lower bound no placement can beat
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(MemoryPlan, ChainReusesMemory) {
  // v[i] is written by step i and read by step i + 1: only neighbours are live together.
  const std::vector<int64_t> shrinking = {6400, 3200, 3200, 1600, 1600, 640, 64};
  std::vector<Lifetime> l;
  for (int i = 0; i < static_cast<int>(shrinking.size()); ++i) l.push_back({shrinking[i], i, i + 1});
  MemoryPlan p = plan_memory(l);
  expect_valid(l, p);
  EXPECT_EQ(p.arena_bytes, 6400 + 3200);

  std::vector<Lifetime> equal;
  for (int i = 0; i < 20; ++i) equal.push_back({1000, i, i + 1});
  p = plan_memory(equal);
  expect_valid(equal, p);
  EXPECT_EQ(p.arena_bytes, 2 * aligned(1000));
  EXPECT_EQ(p.total_bytes, 20 * aligned(1000));
}

TEST(MemoryPlan, AllOverlappingTakesTheSum) {
  std::vector<Lifetime> l = {{100, 0, 5}, {2000, 1, 3}, {64, 2, 2}, {300, 0, 4}};
  const MemoryPlan p = plan_memory(l);
  expect_valid(l, p);
  EXPECT_EQ(p.arena_bytes, aligned(100) + aligned(2000) + 64 + aligned(300));
  EXPECT_EQ(p.arena_bytes, p.total_bytes);
}

TEST(MemoryPlan, SmallValuesFillGapsAndOffsetsAreAligned) {
  std::vector<Lifetime> l = {{1, 0, 0}, {1, 0, 0}, {1, 0, 0}};
  MemoryPlan p = plan_memory(l);
  expect_valid(l, p);
  EXPECT_EQ(p.arena_bytes, 3 * 64);  // 1 byte still takes a 64-byte slot

  // At steps 1-2 the live {4096} and {2048} leave two holes, [0, 4096) and [8192, 10240),
  // where the step-0 values were. {3000} takes the first; {1024} then fits both the rest of
  // it (1088 bytes) and the second hole: best fit takes the tighter one, and the arena does
  // not grow.
  l = {{4096, 0, 0}, {4096, 0, 2}, {2048, 0, 0}, {2048, 0, 2}, {3000, 1, 2}, {1024, 1, 2}};
  p = plan_memory(l);
  expect_valid(l, p);
  EXPECT_EQ(p.offsets[1], 4096);
  EXPECT_EQ(p.offsets[3], 10240);
  EXPECT_EQ(p.offsets[4], 0);
  EXPECT_EQ(p.offsets[5], aligned(3000));
  EXPECT_EQ(p.arena_bytes, 12288);
}

TEST(MemoryPlan, EmptyAndInvalid) {
  const MemoryPlan p = plan_memory({});
  EXPECT_EQ(p.arena_bytes, 0);
  EXPECT_EQ(p.total_bytes, 0);
  EXPECT_THROW(plan_memory({{10, 3, 2}}), Error);
  EXPECT_THROW(plan_memory({{-1, 0, 0}}), Error);
}

}  // namespace
}  // namespace leancnn::runtime
