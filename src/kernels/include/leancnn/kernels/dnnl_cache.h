// Controls and statistics of the oneDNN kernels' primitive cache (no oneDNN types here), for
// tests and benchmarks that measure what caching primitives is worth.
#pragma once
#include <cstdint>

namespace leancnn::kernels {

struct DnnlCacheStats {
  int64_t hits = 0;
  int64_t misses = 0;  // lookups that built a primitive (every lookup, when disabled)
  int64_t entries = 0;
};

// On by default. Disabling also clears the cache.
void set_dnnl_cache_enabled(bool on);
bool dnnl_cache_enabled();
DnnlCacheStats dnnl_cache_stats();
void clear_dnnl_cache();

// oneDNN's own primitive cache (keyed by primitive descriptor; default capacity 1024). Setting
// 0 disables it; benchmarks use this to measure each cache's effect separately.
void set_onednn_primitive_cache_capacity(int capacity);
int onednn_primitive_cache_capacity();

}  // namespace leancnn::kernels
