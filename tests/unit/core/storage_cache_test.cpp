// The tensor storage cache: large freed buffers are reused by same-size requests (no new
// allocation, no page faults), small ones are not cached, the limit is honoured, and data
// written into a reused buffer is the new tensor's own.
#include <gtest/gtest.h>

#include "leancnn/core/storage_cache.h"
#include "leancnn/core/tensor.h"

namespace leancnn {
namespace {

class StorageCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_limit_ = storage_cache_limit();
    set_storage_cache_limit(int64_t{64} << 20);
    clear_storage_cache();
  }
  void TearDown() override { set_storage_cache_limit(saved_limit_); }
  int64_t saved_limit_ = 0;
};

TEST_F(StorageCacheTest, ReusesAFreedLargeBlockOfTheSameSize) {
  const Shape big{4, 64, 32, 32};  // 1 MiB of f32
  const void* first = nullptr;
  {
    Tensor a = Tensor::full(big, 1.f);
    first = a.data<float>();
  }
  EXPECT_EQ(storage_cache_stats().cached_bytes, int64_t{1} << 20);
  const StorageCacheStats before = storage_cache_stats();
  Tensor b = Tensor::zeros(big);
  EXPECT_EQ(b.data<float>(), first);
  EXPECT_EQ(storage_cache_stats().hits, before.hits + 1);
  EXPECT_EQ(storage_cache_stats().cached_bytes, 0);
  for (int64_t i = 0; i < b.numel(); ++i) ASSERT_EQ(b.data<float>()[i], 0.f) << i;  // zeros() really zeroes
  // A size that rounds to a different 4 KiB multiple does not take it.
  Tensor c = Tensor::empty({4, 64, 32, 33});
  EXPECT_NE(c.data<float>(), b.data<float>());
}

// Large blocks are kept by size class (a quarter of the power of two below the size): tensors of
// nearby sizes share a block (an evaluation's partial last batch, a search's next candidate),
// others do not.
TEST_F(StorageCacheTest, NearbySizesShareASizeClass) {
  const void* first = nullptr;
  {
    Tensor a = Tensor::empty({256 * 1024 + 1024});  // 1 MiB + 4 KiB: class 1.25 MiB
    first = a.data<float>();
  }
  EXPECT_EQ(storage_cache_stats().cached_bytes, int64_t{5} << 18);
  {
    Tensor b = Tensor::empty({256 * 1024 + 60 * 1024});  // 1 MiB + 240 KiB: the same class
    EXPECT_EQ(b.data<float>(), first);
  }
  Tensor c = Tensor::empty({256 * 1024 + 80 * 1024});  // 1 MiB + 320 KiB: class 1.5 MiB
  EXPECT_NE(c.data<float>(), first);
}

TEST_F(StorageCacheTest, SmallBlocksAreNotCached) {
  { Tensor small = Tensor::empty({16, 16}); }
  EXPECT_EQ(storage_cache_stats().cached_bytes, 0);
}

TEST_F(StorageCacheTest, HonoursTheLimitAndZeroDisables) {
  set_storage_cache_limit(int64_t{1} << 20);
  {
    Tensor a = Tensor::empty({256, 1024});  // 1 MiB: fits
    Tensor b = Tensor::empty({256, 1024});  // a second one does not: the cache is emptied for it
  }
  EXPECT_EQ(storage_cache_stats().cached_bytes, int64_t{1} << 20);
  {
    Tensor big = Tensor::empty({512, 1024});  // 2 MiB: larger than the limit, never cached
  }
  EXPECT_EQ(storage_cache_stats().cached_bytes, int64_t{1} << 20);
  set_storage_cache_limit(0);
  EXPECT_EQ(storage_cache_stats().cached_bytes, 0);
  { Tensor a = Tensor::empty({256, 1024}); }
  EXPECT_EQ(storage_cache_stats().cached_bytes, 0);
}

// A full cache holds sizes no longer asked for: a block of another size freed then takes their
// place (the cache empties), so a search's next candidate or a new working set is cached.
TEST_F(StorageCacheTest, AFullCacheMakesRoomForANewSize) {
  set_storage_cache_limit(int64_t{3} << 19);  // 1.5 MiB
  { Tensor old = Tensor::empty({256, 1024}); }  // 1 MiB cached
  EXPECT_EQ(storage_cache_stats().cached_bytes, int64_t{1} << 20);
  const void* fresh = nullptr;
  {
    Tensor other = Tensor::empty({320, 1024});  // 1.25 MiB: with the old block, over the limit
    fresh = other.data<float>();
  }
  EXPECT_EQ(storage_cache_stats().cached_bytes, int64_t{5} << 18);  // only the new size
  Tensor again = Tensor::empty({320, 1024});
  EXPECT_EQ(again.data<float>(), fresh);
}

TEST_F(StorageCacheTest, BuffersAreSixtyFourByteAligned) {
  for (int64_t n : {1, 3, 17000, 70000}) {
    Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data<float>()) % 64, 0u) << n;
  }
}

}  // namespace
}  // namespace leancnn
