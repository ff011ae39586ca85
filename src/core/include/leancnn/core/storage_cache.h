// Reuse of large tensor buffers. Training and inference loops allocate the same activation
// sizes on every step; handing freed buffers back to malloc lets glibc return them to the OS
// and fault them in again (one minor page fault per 4 KiB: tens of ms per ResNet-20 step).
// Tensor storage of at least kMinCachedBytes therefore goes through a cache of freed blocks
// keyed by their size class (rounded up to a quarter of the power of two below it, at least
// 4 KiB); a request takes a free block of its class. The cache holds at most a limit of bytes
// (LEANCNN_TENSOR_CACHE_MB; default a quarter of physical memory, between 1 and 4 GiB; 0
// disables it); a block freed when the cache is full empties the cache back to malloc (its
// blocks are of sizes no longer asked for, or the working set outgrew it) and is kept.
// Thread-safe.
#pragma once
#include <cstddef>
#include <cstdint>

namespace leancnn {

inline constexpr size_t kMinCachedBytes = size_t{64} << 10;

struct StorageCacheStats {
  int64_t hits = 0;          // requests served by a cached block
  int64_t misses = 0;        // cacheable requests that had to allocate
  int64_t cached_bytes = 0;  // bytes held in free blocks now
};

// 64-byte aligned storage of at least `bytes`; throws Error(runtime) when out of memory.
void* storage_alloc(size_t bytes);
// Returns storage from storage_alloc(bytes) (the same `bytes`).
void storage_free(void* p, size_t bytes);

void set_storage_cache_limit(int64_t bytes);  // 0 disables caching and frees the cached blocks
int64_t storage_cache_limit();
StorageCacheStats storage_cache_stats();
void clear_storage_cache();  // frees every cached block

}  // namespace leancnn
