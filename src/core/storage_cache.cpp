// The tensor storage cache: free lists of large blocks by rounded size, under one mutex.
#include "leancnn/core/storage_cache.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "leancnn/core/error.h"

namespace leancnn {
namespace {
constexpr size_t kAlign = 64;
constexpr size_t kPage = 4096;

// A quarter of physical memory, between 1 and 4 GiB: a DARTS supernet's step frees ~3.5 GB of
// activations, which a 1 GiB cache sent back to the OS to fault in again on every step; more
// than 4 GiB per process would crowd out a machine running several (search workers).
int64_t memory_share() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const int64_t quarter = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page / 4 : 0;
  return std::clamp<int64_t>(quarter, int64_t{1} << 30, int64_t{4} << 30);
}

int64_t default_limit() {
  const char* env = std::getenv("LEANCNN_TENSOR_CACHE_MB");
  if (!env || !*env) return memory_share();
  char* end = nullptr;
  const long long mb = std::strtoll(env, &end, 10);
  return (end && *end == '\0' && mb >= 0) ? static_cast<int64_t>(mb) << 20 : memory_share();
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  int64_t limit = default_limit();
  StorageCacheStats stats;

  void release_all() {
    for (auto& [size, blocks] : free_blocks)
      for (void* p : blocks) std::free(p);
    free_blocks.clear();
    stats.cached_bytes = 0;
  }
};

// Leaked on purpose: tensors held by other static objects may be freed after main returns.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

// Large blocks round up to a size class: a quarter of the power of two below them (at least a
// page), so tensors of nearby sizes (an evaluation's last, partial batch; the next candidate of a
// search) share blocks, for at most 25 % more memory per block.
size_t rounded_size(size_t bytes) {
  if (bytes >= kMinCachedBytes) {
    const size_t step = std::max(kPage, std::bit_floor(bytes) / 4);
    return (bytes + step - 1) / step * step;
  }
  const size_t r = (bytes + kAlign - 1) / kAlign * kAlign;
  return r == 0 ? kAlign : r;
}

void* raw_alloc(size_t rounded, size_t bytes) {
  void* p = std::aligned_alloc(kAlign, rounded);
  if (!p) fail(ErrorKind::runtime, "out of memory allocating ", bytes, " bytes");
  return p;
}
}  // namespace

void* storage_alloc(size_t bytes) {
  const size_t size = rounded_size(bytes);
  if (size >= kMinCachedBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= static_cast<int64_t>(size);
      ++c.stats.hits;
      return p;
    }
    ++c.stats.misses;
  }
  return raw_alloc(size, bytes);
}

void storage_free(void* p, size_t bytes) {
  if (!p) return;
  const size_t size = rounded_size(bytes);
  if (size >= kMinCachedBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (static_cast<int64_t>(size) <= c.limit) {
      // Full: the cached blocks are of sizes no longer asked for (a finished candidate's, a
      // partial batch's), or the working set outgrew the limit: drop them all, keep this one.
      if (c.stats.cached_bytes + static_cast<int64_t>(size) > c.limit) c.release_all();
      c.free_blocks[size].push_back(p);
      c.stats.cached_bytes += static_cast<int64_t>(size);
      return;
    }
  }
  std::free(p);
}

void set_storage_cache_limit(int64_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = bytes < 0 ? 0 : bytes;
  if (c.stats.cached_bytes > c.limit) c.release_all();
}

int64_t storage_cache_limit() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.limit;
}

StorageCacheStats storage_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void clear_storage_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.release_all();
}

}  // namespace leancnn
