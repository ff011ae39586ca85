// oneDNN glue shared by the dnnl kernels (private to leancnn_kernels: oneDNN headers never reach
// a public header): engine and per-thread stream, Tensor <-> dnnl::memory, layout reorders with
// per-thread staging buffers, user-managed scratchpads, and a primitive cache keyed by the full
// configuration of a primitive (shapes, attributes, layouts).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::kernels::dnnl_glue {

using Tag = dnnl::memory::format_tag;
using Dims = dnnl::memory::dims;
using Md = dnnl::memory::desc;

// The CPU engine (created once) and this thread's stream on it. Executing on a per-thread
// stream and with user scratchpads (below) makes concurrent calls of one primitive safe.
const dnnl::engine& engine();
dnnl::stream& stream();

// f32 memory descriptors: a plain one in the given layout, or format_tag::any (the primitive picks).
Md f32_md(const Dims& dims, Tag tag);
Md any_md(const Dims& dims);
// A dnnl::memory over the tensor's own storage (no copy); the tensor must be contiguous f32.
dnnl::memory wrap(const Tensor& t, const Md& md);

// The same, but a memory object kept for this thread under (owner, arg) and only re-pointed
// at t on later calls: creating one costs about 0.2 us (an allocation and oneDNN's storage
// object), and a batch-1 convolution made five per call, as much as its arithmetic on small
// layers. `owner` is the caller's long-lived primitive entry; `arg` tells its operands apart
// (two operands of one call must never share an (owner, arg)). A different md under the same
// key (an entry freed and another built at its address) makes a new object.
dnnl::memory held(const void* owner, int arg, const Md& md, void* handle);
dnnl::memory wrap_held(const void* owner, int arg, const Tensor& t, const Md& md);

// Primitive attributes every dnnl kernel uses: scratchpad_mode::user (see stream()).
dnnl::primitive_attr user_scratchpad_attr();

// Per-thread staging buffers, one per slot, grown on demand and kept for the thread's life
// (so a layer called repeatedly allocates nothing). Distinct slots never alias.
enum class Slot { scratchpad, src, weights, dst, diff_dst, diff_src, diff_weights, extra, count };
void* staging(Slot slot, size_t bytes);
// A memory for the primitive's scratchpad (or an empty memory when it needs none), held()
// under the primitive descriptor's address.
dnnl::memory scratchpad(const dnnl::primitive_desc_base& pd);

// One operand of a primitive: the tensor's plain layout ("user") and the layout the primitive
// chose ("prim"), with the reorder between them built once when they differ.
struct Operand {
  Md user;
  Md prim;
  // user -> prim for inputs, prim -> user for outputs; absent when the layouts are equal.
  std::optional<dnnl::reorder::primitive_desc> reorder_pd;
  std::optional<dnnl::reorder> reorder;
  bool reordered() const { return reorder.has_value(); }
};
Operand input_operand(const Md& user, const Md& prim);
Operand output_operand(const Md& user, const Md& prim);

// Memory in the primitive's layout holding t's values (t itself when no reorder is needed,
// else a staging copy in `slot`).
// With an owner, the memory objects are held() under (owner, arg) and (owner, ~arg).
dnnl::memory enter(const Operand& op, const Tensor& t, Slot slot, const void* owner = nullptr, int arg = 0);
// Memory in the primitive's layout for it to write: t itself, or a staging buffer in `slot`
// that leave() then reorders into t.
dnnl::memory output_buffer(const Operand& op, const Tensor& t, Slot slot, const void* owner = nullptr, int arg = 0);
void leave(const Operand& op, const dnnl::memory& m, const Tensor& t, const void* owner = nullptr, int arg = 0);

// New memory (oneDNN-allocated, owned by the returned object) in layout `to` holding t's values
// read through `from` (a reorder, or a copy when the two are equal): weights packed once for a
// prepared inference kernel (Kernel::prepare).
dnnl::memory pack(const Tensor& t, const Md& from, const Md& to);

// Runs a primitive on this thread's stream with its scratchpad, and waits.
void execute(const dnnl::primitive& p, const dnnl::primitive_desc_base& pd,
             std::unordered_map<int, dnnl::memory> args);

// Builds a cache key: a string of the primitive kind and every value that shapes it.
class Key {
 public:
  explicit Key(const char* kind) : s_(kind) {}
  Key& operator<<(int64_t v);
  Key& operator<<(int v) { return *this << static_cast<int64_t>(v); }
  Key& operator<<(const Dims& v);
  Key& operator<<(float v);  // bit-exact
  Key& operator<<(const char* v);
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

// The process-wide primitive cache (an LRU of a few hundred entries, behind a mutex). Entries
// are immutable once built and shared, so a caller keeps using its entry after an eviction.
// When disabled (set_dnnl_cache_enabled), cache_find always misses and cache_insert drops.
// A key's prefix names the entry's type, so equal keys always hold the same type.
std::shared_ptr<const void> cache_find(const std::string& key);
void cache_insert(const std::string& key, std::shared_ptr<const void> entry);

// The entry for `key`, built by make() on a miss. make() may throw dnnl::error.
template <typename T, typename Make>
std::shared_ptr<const T> cached(const Key& key, Make make) {
  if (auto hit = cache_find(key.str())) return std::static_pointer_cast<const T>(hit);
  std::shared_ptr<const T> built = std::make_shared<const T>(make());
  cache_insert(key.str(), built);
  return built;
}

// Runs f, turning a dnnl::error into a refusal reason ("" when f succeeded).
std::string try_build(const char* what, const std::function<void()>& f);

// Common refusal reasons: "" when every defined tensor is contiguous f32, else e.g.
// "input 1 dtype s8 not f32".
std::string check_f32(const std::vector<Tensor>& tensors, const char* role);

// Shape (int64) -> dnnl dims.
Dims to_dims(const Shape& s);

// The implementation name oneDNN chose (e.g. "jit:avx512_core"), logged on channel "dnnl".
void log_impl(const char* what, const dnnl::primitive_desc_base& pd);

}  // namespace leancnn::kernels::dnnl_glue
