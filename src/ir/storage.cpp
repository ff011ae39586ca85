#include "leancnn/ir/storage.h"

namespace leancnn::ir {

int dtype_bits(DType t) {
  switch (t) {
    case DType::s8:
    case DType::u8: return 8;
    case DType::b1: return 1;
    default: return 32;
  }
}

StoredTensor stored_tensor(const Graph& g, const OpTable& ops, ValueId v) {
  StoredTensor s;
  s.bits = 0;   // 0 / -1 until a view or the initializer says
  s.count = -1;
  for (int hops = 0; hops < 8 && v != kNone; ++hops) {
    const Value& val = g.value(v);
    if (val.is_initializer()) {
      s.value = v;
      if (s.count < 0) s.count = val.data.numel();
      if (s.bits == 0) s.bits = dtype_bits(val.data.dtype());
      return s;
    }
    if (val.producer == kNone) return {};
    const Node& p = g.node(val.producer);
    const OpSchema* schema = ops.find(p.domain, p.op_type);
    if (!schema || !schema->storage) return {};
    const StorageView view = schema->storage(g, p);
    if (view.source == kNone) return {};
    // The view nearest the stored bytes says how they are laid out.
    s.bits = view.bits;
    s.count = view.count;
    s.nonzero = view.nonzero;
    v = view.source;
  }
  return {};
}

int value_bits(const Graph& g, const OpTable& ops, ValueId v) {
  int bits = 0;
  for (int hops = 0; hops < 8 && v != kNone; ++hops) {
    const Value& val = g.value(v);
    const OpSchema* schema = val.producer == kNone ? nullptr : ops.find(g.node(val.producer).domain, g.node(val.producer).op_type);
    const StorageView view = schema && schema->storage ? schema->storage(g, g.node(val.producer)) : StorageView{};
    if (view.source == kNone) return bits > 0 ? bits : dtype_bits(val.is_initializer() ? val.data.dtype() : val.dtype);
    if (view.bits > 0) bits = view.bits;
    v = view.source;
  }
  return bits > 0 ? bits : 32;
}

int64_t stored_nonzero(const Graph& g, const StoredTensor& s) {
  if (!s.defined()) return 0;
  const Tensor& t = g.value(s.value).data;
  if (s.nonzero) return s.nonzero(t, s.count);
  const Tensor c = t.is_contiguous() ? t : t.clone();
  const int64_t n = c.numel();
  int64_t nz = 0;
  switch (c.dtype()) {
    case DType::f32: { const float* p = c.data<float>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0.f; break; }
    case DType::s8: { const int8_t* p = c.data<int8_t>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0; break; }
    case DType::u8: { const uint8_t* p = c.data<uint8_t>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0; break; }
    case DType::s32: { const int32_t* p = c.data<int32_t>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0; break; }
    case DType::s64: { const int64_t* p = c.data<int64_t>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0; break; }
    case DType::b1: nz = n; break;  // ±1: never zero
  }
  return nz;
}

}  // namespace leancnn::ir
