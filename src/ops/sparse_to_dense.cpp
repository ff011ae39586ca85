// SparseToDense (ai.leancnn): bitmask + non-zero values -> the dense tensor of attribute `shape`
// (ops/sparse_storage.h has the format). Pruned weights are stored this way in ONNX files; the
// loader turns constant ones back into dense initializers, and a plan would fold any other.
#include <algorithm>
#include <bit>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"
#include "leancnn/ops/sparse_storage.h"

namespace leancnn::ops {

namespace {
size_t elem_size(DType t) { return t == DType::f32 ? 4 : 1; }

void require_storable(DType t, const char* what) {
  if (t != DType::f32 && t != DType::s8 && t != DType::u8)
    fail(ErrorKind::bad_input, what, " must be f32, s8 or u8, got ", dtype_name(t));
}

bool nonzero_at(const uint8_t* p, size_t es, int64_t i) {
  for (size_t b = 0; b < es; ++b)
    if (p[static_cast<size_t>(i) * es + b] != 0) return true;
  return false;
}
}  // namespace

SparseEncoding sparse_encode(const Tensor& dense) {
  require_storable(dense.dtype(), "sparse_encode: the tensor");
  const Tensor d = dense.is_contiguous() ? dense : dense.clone();
  const size_t es = elem_size(d.dtype());
  const auto* p = static_cast<const uint8_t*>(d.raw());
  const int64_t n = d.numel();
  SparseEncoding e;
  e.mask = Tensor::zeros({(n + 7) / 8}, DType::u8);
  uint8_t* m = e.mask.data<uint8_t>();
  int64_t nnz = 0;
  for (int64_t i = 0; i < n; ++i) {
    // A float -0 is stored too (its bits are not zero): decoding gives back the same bytes.
    if (!nonzero_at(p, es, i)) continue;
    m[i / 8] = static_cast<uint8_t>(m[i / 8] | (1u << (i % 8)));
    ++nnz;
  }
  e.values = Tensor::empty({nnz}, d.dtype());
  auto* v = static_cast<uint8_t*>(e.values.raw());
  for (int64_t i = 0, j = 0; i < n; ++i)
    if (m[i / 8] >> (i % 8) & 1u) std::copy_n(p + static_cast<size_t>(i) * es, es, v + static_cast<size_t>(j++) * es);
  return e;
}

int64_t sparse_encoded_bytes(const Tensor& dense) {
  const Tensor d = dense.is_contiguous() ? dense : dense.clone();
  const size_t es = elem_size(d.dtype());
  const auto* p = static_cast<const uint8_t*>(d.raw());
  int64_t nnz = 0;
  for (int64_t i = 0; i < d.numel(); ++i) nnz += nonzero_at(p, es, i);
  return (d.numel() + 7) / 8 + nnz * static_cast<int64_t>(es);
}

void sparse_decode(const Tensor& mask, const Tensor& values, Tensor& dense) {
  const int64_t n = dense.numel();
  if (mask.numel() != (n + 7) / 8)
    fail(ErrorKind::bad_input, "SparseToDense: the mask has ", mask.numel(), " bytes but ", n, " elements need ", (n + 7) / 8);
  const Tensor m = mask.is_contiguous() ? mask : mask.clone();
  const Tensor v = values.is_contiguous() ? values : values.clone();
  const uint8_t* bits = m.data<uint8_t>();
  int64_t set = 0;
  for (int64_t b = 0; b < m.numel(); ++b) set += std::popcount(static_cast<unsigned>(bits[b]));
  if (set != v.numel())
    fail(ErrorKind::bad_input, "SparseToDense: the mask marks ", set, " non-zeros but ", v.numel(), " values are stored");
  if (n % 8 != 0 && (bits[n / 8] >> (n % 8)) != 0)
    fail(ErrorKind::bad_input, "SparseToDense: the mask sets bits past the last of ", n, " elements");
  const size_t es = elem_size(dense.dtype());
  auto* out = static_cast<uint8_t*>(dense.raw());
  const auto* in = static_cast<const uint8_t*>(v.raw());
  std::fill(out, out + static_cast<size_t>(n) * es, uint8_t{0});
  for (int64_t i = 0, j = 0; i < n; ++i)
    if (bits[i / 8] >> (i % 8) & 1u) std::copy_n(in + static_cast<size_t>(j++) * es, es, out + static_cast<size_t>(i) * es);
}

namespace {
Shape dense_shape(const ir::Node& node) {
  if (!node.attrs.has("shape"))
    fail(ErrorKind::bad_input, "SparseToDense ", node.label(), " needs the attribute 'shape' (the dense dims)");
  const Shape s = node.attrs.get_ints("shape", {});
  for (int64_t d : s)
    if (d < 0) fail(ErrorKind::bad_input, "SparseToDense ", node.label(), ": attribute 'shape' has a negative dim ", d);
  return s;
}

std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& mask = require_input(in, 0, "mask");
  const ir::Value& values = require_input(in, 1, "values");
  require_dtype(mask, DType::u8, "SparseToDense mask");
  require_storable(values.dtype, "SparseToDense values");
  if (values.shape.size() != 1)
    fail(ErrorKind::bad_input, "SparseToDense ", node.label(), ": values '", values.name, "' must be 1-D, got ",
         shape_str(values.shape));
  const Shape s = dense_shape(node);
  if (shape_numel(mask.shape) != (shape_numel(s) + 7) / 8)
    fail(ErrorKind::bad_input, "SparseToDense ", node.label(), ": mask '", mask.name, "' has ", shape_numel(mask.shape),
         " bytes but shape ", shape_str(s), " needs (numel + 7) / 8 = ", (shape_numel(s) + 7) / 8);
  if (shape_numel(values.shape) > shape_numel(s))
    fail(ErrorKind::bad_input, "SparseToDense ", node.label(), ": more values than elements");
  return {{s, values.dtype}};
}

void forward(ir::ForwardCtx& ctx) { sparse_decode(ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]); }

int64_t nonzero_values(const Tensor& values, int64_t) {
  const Tensor v = values.is_contiguous() ? values : values.clone();
  const size_t es = elem_size(v.dtype());
  const auto* p = static_cast<const uint8_t*>(v.raw());
  int64_t nz = 0;
  for (int64_t i = 0; i < v.numel(); ++i) nz += nonzero_at(p, es, i);
  return nz;
}

// The stored data are the values: their dtype's bits for each of the dense elements.
ir::StorageView storage(const ir::Graph&, const ir::Node& n) {
  int64_t count = 1;
  for (int64_t d : n.attrs.get_ints("shape", {})) count *= d;
  return {n.inputs.at(1), 0, count, nonzero_values};
}
}  // namespace

ir::OpSchema sparse_to_dense_schema() {
  ir::OpSchema s;
  s.op_type = "SparseToDense";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 2;
  s.max_inputs = 2;
  s.attributes = {"shape"};
  s.non_differentiable_inputs = {0, 1};
  s.infer = infer;
  s.forward = forward;
  s.storage = storage;
  return s;
}

}  // namespace leancnn::ops
