// oneDNN glue: engine, streams, memory wrapping, reorders, staging buffers, primitive cache.
#include "dnnl_common.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>

#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/core/log.h"
#include "leancnn/kernels/dnnl_cache.h"

namespace leancnn::kernels {
namespace dnnl_glue {

namespace {
// leancnn's ISA cap (core/cpu.h) applied to oneDNN too, before its first JIT code is generated,
// so that a capped run dispatches both libraries as on the older CPU. ONEDNN_MAX_CPU_ISA alone
// is read by oneDNN itself (and by max_cpu_isa(), which then caps leancnn the same way).
void apply_isa_cap() {
  const char* own = std::getenv("LEANCNN_MAX_CPU_ISA");
  if (!own || !*own) return;
  dnnl::cpu_isa isa = dnnl::cpu_isa::all;
  switch (max_cpu_isa()) {
    case CpuIsa::sse42: isa = dnnl::cpu_isa::sse41; break;
    case CpuIsa::avx2: isa = dnnl::cpu_isa::avx2; break;
    case CpuIsa::avx2_vnni: isa = dnnl::cpu_isa::avx2_vnni; break;
    case CpuIsa::avx512: isa = dnnl::cpu_isa::avx512_core; break;
    case CpuIsa::avx512_vnni: isa = dnnl::cpu_isa::avx512_core_vnni; break;
    case CpuIsa::all: return;
  }
  try {
    dnnl::set_max_cpu_isa(isa);
  } catch (const dnnl::error& e) {
    LEANCNN_LOG("dnnl") << "could not cap oneDNN at " << cpu_isa_name(max_cpu_isa()) << ": " << e.what();
  }
}
}  // namespace

const dnnl::engine& engine() {
  static const dnnl::engine eng = [] {
    apply_isa_cap();
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return eng;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

Md f32_md(const Dims& dims, Tag tag) { return Md(dims, dnnl::memory::data_type::f32, tag); }
Md any_md(const Dims& dims) { return Md(dims, dnnl::memory::data_type::f32, Tag::any); }

dnnl::memory wrap(const Tensor& t, const Md& md) {
  LEANCNN_CHECK(t.dtype() == DType::f32 && t.is_contiguous(), "dnnl kernels take contiguous f32 tensors");
  LEANCNN_CHECK(md.get_size() == t.nbytes(), "memory descriptor of ", md.get_size(), " bytes for a tensor of ",
                t.nbytes());
  return dnnl::memory(md, engine(), t.raw());
}

namespace {
struct HeldKey {
  const void* owner;
  int arg;
  bool operator==(const HeldKey& o) const { return owner == o.owner && arg == o.arg; }
};
struct HeldKeyHash {
  size_t operator()(const HeldKey& k) const {
    return std::hash<const void*>()(k.owner) ^ (std::hash<int>()(k.arg) * 0x9e3779b97f4a7c15ull);
  }
};
struct Held {
  Md md;
  dnnl::memory m;
};
// Bounded: owners come and go (a search builds thousands of layers); past this many objects the
// map starts again (a cleared entry costs one creation on its next call).
constexpr size_t kMaxHeld = 4096;
}  // namespace

dnnl::memory held(const void* owner, int arg, const Md& md, void* handle) {
  thread_local std::unordered_map<HeldKey, Held, HeldKeyHash> objects;
  const HeldKey key{owner, arg};
  auto it = objects.find(key);
  if (it == objects.end() || it->second.md != md) {
    if (it == objects.end() && objects.size() >= kMaxHeld) objects.clear();
    Held h{md, dnnl::memory(md, engine(), handle)};
    it = objects.insert_or_assign(key, std::move(h)).first;
    return it->second.m;
  }
  dnnl::memory& m = it->second.m;
  if (m.get_data_handle() != handle) m.set_data_handle(handle);
  return m;
}

dnnl::memory wrap_held(const void* owner, int arg, const Tensor& t, const Md& md) {
  LEANCNN_CHECK(t.dtype() == DType::f32 && t.is_contiguous(), "dnnl kernels take contiguous f32 tensors");
  LEANCNN_CHECK(md.get_size() == t.nbytes(), "memory descriptor of ", md.get_size(), " bytes for a tensor of ",
                t.nbytes());
  return held(owner, arg, md, t.raw());
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

namespace {
struct StagingBuffers {
  std::array<void*, static_cast<size_t>(Slot::count)> ptr{};
  std::array<size_t, static_cast<size_t>(Slot::count)> size{};
  ~StagingBuffers() {
    for (void* p : ptr) std::free(p);
  }
};
}  // namespace

void* staging(Slot slot, size_t bytes) {
  thread_local StagingBuffers buffers;
  const size_t i = static_cast<size_t>(slot);
  if (buffers.size[i] < bytes) {
    std::free(buffers.ptr[i]);
    const size_t rounded = (bytes + 63) / 64 * 64;
    buffers.ptr[i] = std::aligned_alloc(64, rounded);
    if (!buffers.ptr[i]) fail(ErrorKind::runtime, "out of memory allocating a ", rounded, "-byte oneDNN buffer");
    buffers.size[i] = rounded;
  }
  return buffers.ptr[i];
}

dnnl::memory scratchpad(const dnnl::primitive_desc_base& pd) {
  const Md md = pd.scratchpad_desc();
  const size_t bytes = md.get_size();
  if (bytes == 0) return dnnl::memory();
  return held(&pd, DNNL_ARG_SCRATCHPAD, md, staging(Slot::scratchpad, bytes));
}

namespace {
Operand make_operand(const Md& user, const Md& prim, const Md& from, const Md& to) {
  Operand op{user, prim, std::nullopt, std::nullopt};
  if (from != to) {
    op.reorder_pd.emplace(engine(), from, engine(), to, user_scratchpad_attr());
    op.reorder.emplace(*op.reorder_pd);
  }
  return op;
}
}  // namespace

Operand input_operand(const Md& user, const Md& prim) { return make_operand(user, prim, user, prim); }
Operand output_operand(const Md& user, const Md& prim) { return make_operand(user, prim, prim, user); }

void execute(const dnnl::primitive& p, const dnnl::primitive_desc_base& pd,
             std::unordered_map<int, dnnl::memory> args) {
  dnnl::memory pad = scratchpad(pd);
  if (pad) args.emplace(DNNL_ARG_SCRATCHPAD, pad);
  p.execute(stream(), args);
  stream().wait();
}

dnnl::memory pack(const Tensor& t, const Md& from, const Md& to) {
  dnnl::memory packed(to, engine());
  const dnnl::memory user = wrap(t, from);
  if (from == to) {
    std::memcpy(packed.get_data_handle(), t.raw(), t.nbytes());
  } else {
    const dnnl::reorder::primitive_desc pd(engine(), from, engine(), to, user_scratchpad_attr());
    execute(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, packed}});
  }
  return packed;
}

namespace {
void run_reorder(const Operand& op, const dnnl::memory& from, const dnnl::memory& to) {
  execute(*op.reorder, *op.reorder_pd, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
}
}  // namespace

namespace {
// The user side under (owner, ~arg), the primitive's side under (owner, arg); fresh objects
// without an owner.
dnnl::memory user_side(const Operand& op, const Tensor& t, const void* owner, int arg) {
  return owner ? wrap_held(owner, ~arg, t, op.user) : wrap(t, op.user);
}
dnnl::memory prim_side(const Operand& op, Slot slot, const void* owner, int arg) {
  void* buffer = staging(slot, op.prim.get_size());
  return owner ? held(owner, arg, op.prim, buffer) : dnnl::memory(op.prim, engine(), buffer);
}
}  // namespace

dnnl::memory enter(const Operand& op, const Tensor& t, Slot slot, const void* owner, int arg) {
  if (!op.reordered()) return owner ? wrap_held(owner, arg, t, op.user) : wrap(t, op.user);
  dnnl::memory m = prim_side(op, slot, owner, arg);
  run_reorder(op, user_side(op, t, owner, arg), m);
  return m;
}

dnnl::memory output_buffer(const Operand& op, const Tensor& t, Slot slot, const void* owner, int arg) {
  if (!op.reordered()) return owner ? wrap_held(owner, arg, t, op.user) : wrap(t, op.user);
  return prim_side(op, slot, owner, arg);
}

void leave(const Operand& op, const dnnl::memory& m, const Tensor& t, const void* owner, int arg) {
  if (op.reordered()) run_reorder(op, m, user_side(op, t, owner, arg));
}

Key& Key::operator<<(int64_t v) {
  s_ += '|';
  s_ += std::to_string(v);
  return *this;
}

Key& Key::operator<<(const Dims& v) {
  s_ += "|[";
  for (int64_t d : v) {
    s_ += std::to_string(d);
    s_ += ',';
  }
  s_ += ']';
  return *this;
}

Key& Key::operator<<(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return *this << static_cast<int64_t>(bits);
}

Key& Key::operator<<(const char* v) {
  s_ += '|';
  s_ += v;
  return *this;
}

namespace {
constexpr size_t kCapacity = 512;

struct Cache {
  std::mutex mu;
  bool enabled = true;
  std::list<std::pair<std::string, std::shared_ptr<const void>>> lru;  // most recent first
  std::unordered_map<std::string, decltype(lru)::iterator> index;
  int64_t hits = 0, misses = 0;
};

Cache& cache() {
  static Cache c;
  return c;
}
}  // namespace

std::shared_ptr<const void> cache_find(const std::string& key) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.enabled) {
    auto it = c.index.find(key);
    if (it != c.index.end()) {
      c.lru.splice(c.lru.begin(), c.lru, it->second);
      ++c.hits;
      return it->second->second;
    }
  }
  ++c.misses;
  return nullptr;
}

void cache_insert(const std::string& key, std::shared_ptr<const void> entry) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (!c.enabled || c.index.count(key)) return;  // another thread built it first: keep theirs
  c.lru.emplace_front(key, std::move(entry));
  c.index[key] = c.lru.begin();
  if (c.lru.size() > kCapacity) {
    c.index.erase(c.lru.back().first);
    c.lru.pop_back();
  }
}

std::string try_build(const char* what, const std::function<void()>& f) {
  try {
    f();
    return "";
  } catch (const dnnl::error& e) {
    return str_cat("oneDNN has no ", what, " for this configuration (", e.what(), ")");
  } catch (const Error& e) {
    return e.message();
  }
}

std::string check_f32(const std::vector<Tensor>& tensors, const char* role) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (!t.defined()) continue;
    if (t.dtype() != DType::f32) return str_cat(role, " ", i, " dtype ", dtype_name(t.dtype()), " not f32");
    if (!t.is_contiguous()) return str_cat(role, " ", i, " is not contiguous");
  }
  return "";
}

Dims to_dims(const Shape& s) { return Dims(s.begin(), s.end()); }

void log_impl(const char* what, const dnnl::primitive_desc_base& pd) {
  LEANCNN_LOG("dnnl") << what << ": " << pd.impl_info_str();
}

}  // namespace dnnl_glue

void set_dnnl_cache_enabled(bool on) {
  dnnl_glue::Cache& c = dnnl_glue::cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.enabled = on;
  if (!on) {
    c.lru.clear();
    c.index.clear();
  }
}

bool dnnl_cache_enabled() {
  dnnl_glue::Cache& c = dnnl_glue::cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.enabled;
}

DnnlCacheStats dnnl_cache_stats() {
  dnnl_glue::Cache& c = dnnl_glue::cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.hits, c.misses, static_cast<int64_t>(c.lru.size())};
}

void clear_dnnl_cache() {
  dnnl_glue::Cache& c = dnnl_glue::cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.lru.clear();
  c.index.clear();
  c.hits = c.misses = 0;
}

void set_onednn_primitive_cache_capacity(int capacity) { dnnl::set_primitive_cache_capacity(capacity); }
int onednn_primitive_cache_capacity() { return dnnl::get_primitive_cache_capacity(); }

}  // namespace leancnn::kernels
