// Tensor storage, views and element helpers.
#include "leancnn/core/tensor.h"

#include <cstdlib>
#include <cstring>

#include "leancnn/core/error.h"
#include "leancnn/core/storage_cache.h"

namespace leancnn {

namespace {

std::shared_ptr<uint8_t> allocate(size_t bytes) {
  void* p = storage_alloc(bytes);  // large blocks are reused (storage_cache.h)
  return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [bytes](uint8_t* q) { storage_free(q, bytes); });
}

std::vector<int64_t> contiguous_strides(const Shape& shape, DType dtype) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    int64_t extent = shape[i];
    // b1: the innermost dim is padded to whole 64-bit words, so outer strides are in bits.
    if (dtype == DType::b1 && i == static_cast<int>(shape.size()) - 1) extent = (extent + 63) / 64 * 64;
    s *= extent;
  }
  return strides;
}
}  // namespace

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  if (s.empty()) return "scalar";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += "x";
    out += std::to_string(s[i]);
  }
  return out;
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (int64_t d : shape)
    if (d < 0) fail(ErrorKind::internal, "negative dimension in shape ", shape_str(shape));
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.strides_ = contiguous_strides(shape, dtype);
  t.storage_bytes_ = t.nbytes();
  t.storage_ = allocate(t.storage_bytes_);
  if (dtype == DType::b1) std::memset(t.storage_.get(), 0, t.storage_bytes_);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.zero();
  return t;
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape, DType::f32);
  t.fill(value);
  return t;
}

Tensor Tensor::from_floats(const Shape& shape, const std::vector<float>& values) {
  Tensor t = empty(shape, DType::f32);
  if (static_cast<int64_t>(values.size()) != t.numel())
    fail(ErrorKind::internal, "from_floats: ", values.size(), " values for shape ", shape_str(shape));
  std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::from_ints(const Shape& shape, const std::vector<int64_t>& values, DType dtype) {
  Tensor t = empty(shape, dtype);
  if (static_cast<int64_t>(values.size()) != t.numel())
    fail(ErrorKind::internal, "from_ints: ", values.size(), " values for shape ", shape_str(shape));
  for (size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
      case DType::s8: t.data<int8_t>()[i] = static_cast<int8_t>(values[i]); break;
      case DType::u8: t.data<uint8_t>()[i] = static_cast<uint8_t>(values[i]); break;
      case DType::s32: t.data<int32_t>()[i] = static_cast<int32_t>(values[i]); break;
      case DType::s64: t.data<int64_t>()[i] = values[i]; break;
      case DType::f32: t.data<float>()[i] = static_cast<float>(values[i]); break;
      case DType::b1: t.b1_set(static_cast<int64_t>(i), values[i] > 0); break;
    }
  }
  return t;
}

int64_t Tensor::dim(int i) const {
  int r = rank();
  int k = i < 0 ? i + r : i;
  if (k < 0 || k >= r) fail(ErrorKind::internal, "dim(", i, ") of a rank-", r, " tensor");
  return shape_[k];
}

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_, dtype_); }

size_t Tensor::nbytes() const {
  if (dtype_ == DType::b1) {
    if (shape_.empty()) return 8;
    int64_t rows = shape_numel(shape_) / (shape_.back() == 0 ? 1 : shape_.back());
    if (shape_.back() == 0) rows = 0;
    return static_cast<size_t>(rows * b1_row_words() * 8);
  }
  return static_cast<size_t>(numel()) * dtype_size(dtype_);
}

void* Tensor::raw() const {
  if (!storage_) fail(ErrorKind::internal, "access to an undefined tensor");
  return storage_.get() + offset_bytes_;
}

void Tensor::check_dtype(DType want) const {
  if (want != dtype_)
    fail(ErrorKind::internal, "tensor of dtype ", dtype_name(dtype_), " accessed as ", dtype_name(want));
}

Tensor Tensor::slice_batch(int64_t begin, int64_t end) const {
  if (rank() == 0 || begin < 0 || end > shape_[0] || begin > end)
    fail(ErrorKind::internal, "slice_batch [", begin, ", ", end, ") of shape ", shape_str(shape_));
  if (dtype_ == DType::b1 && (begin * strides_[0]) % 64 != 0)
    fail(ErrorKind::internal, "slice_batch of a b1 tensor must start on a 64-bit word");
  Tensor t = *this;
  t.shape_[0] = end - begin;
  int64_t elems = begin * strides_[0];
  t.offset_bytes_ += dtype_ == DType::b1 ? static_cast<size_t>(elems / 8)
                                         : static_cast<size_t>(elems) * dtype_size(dtype_);
  return t;
}

Tensor Tensor::view_at(size_t offset_bytes, const Shape& shape, DType dtype) const {
  if (!storage_) fail(ErrorKind::internal, "view_at of an undefined tensor");
  for (int64_t d : shape)
    if (d < 0) fail(ErrorKind::internal, "negative dimension in shape ", shape_str(shape));
  Tensor t;
  t.storage_ = storage_;
  t.storage_bytes_ = storage_bytes_;
  t.offset_bytes_ = offset_bytes_ + offset_bytes;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.strides_ = contiguous_strides(shape, dtype);
  if (t.offset_bytes_ > storage_bytes_ || t.nbytes() > storage_bytes_ - t.offset_bytes_)
    fail(ErrorKind::internal, "view_at: ", t.nbytes(), " bytes at offset ", t.offset_bytes_, " exceed the storage (",
         storage_bytes_, " bytes)");
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  if (!is_contiguous()) fail(ErrorKind::internal, "reshape of a non-contiguous tensor");
  if (dtype_ == DType::b1) fail(ErrorKind::internal, "reshape of a b1 tensor");
  if (shape_numel(shape) != numel())
    fail(ErrorKind::internal, "reshape ", shape_str(shape_), " to ", shape_str(shape), ": element counts differ");
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape, dtype_);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) const {
  if (src.shape_ != shape_ || src.dtype_ != dtype_)
    fail(ErrorKind::internal, "copy_from: ", shape_str(src.shape_), " ", dtype_name(src.dtype_), " into ",
         shape_str(shape_), " ", dtype_name(dtype_));
  if (is_contiguous() && src.is_contiguous()) {
    std::memcpy(raw(), src.raw(), nbytes());
    return;
  }
  if (dtype_ == DType::b1) {
    for (int64_t i = 0; i < numel(); ++i) b1_set(i, src.b1_get(i));
    return;
  }
  // Strided copy: walk the logical index.
  const size_t es = dtype_size(dtype_);
  const int r = rank();
  std::vector<int64_t> idx(r, 0);
  auto* d = static_cast<uint8_t*>(raw());
  const auto* s = static_cast<const uint8_t*>(src.raw());
  for (int64_t n = 0; n < numel(); ++n) {
    int64_t od = 0, os = 0;
    for (int k = 0; k < r; ++k) {
      od += idx[k] * strides_[k];
      os += idx[k] * src.strides_[k];
    }
    std::memcpy(d + od * es, s + os * es, es);
    for (int k = r - 1; k >= 0; --k) {
      if (++idx[k] < shape_[k]) break;
      idx[k] = 0;
    }
  }
}

void Tensor::fill(float value) const {
  if (!is_contiguous()) fail(ErrorKind::internal, "fill of a non-contiguous tensor");
  float* p = data<float>();
  for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = value;
}

void Tensor::zero() const {
  if (!is_contiguous()) fail(ErrorKind::internal, "zero of a non-contiguous tensor");
  std::memset(raw(), 0, nbytes());
}

float Tensor::at(int64_t flat) const {
  if (flat < 0 || flat >= numel()) fail(ErrorKind::internal, "at(", flat, ") out of range for ", shape_str(shape_));
  return data<float>()[flat];
}

int64_t Tensor::b1_row_words() const {
  check_dtype(DType::b1);
  return shape_.empty() ? 1 : (shape_.back() + 63) / 64;
}

namespace {
// Bit position of a flat logical index in a b1 tensor.
int64_t b1_bit(const Shape& shape, const std::vector<int64_t>& strides, int64_t flat) {
  int64_t bit = 0;
  for (int k = static_cast<int>(shape.size()) - 1; k >= 0; --k) {
    bit += (flat % shape[k]) * strides[k];
    flat /= shape[k];
  }
  return bit;
}
}  // namespace

bool Tensor::b1_get(int64_t flat) const {
  check_dtype(DType::b1);
  int64_t bit = b1_bit(shape_, strides_, flat);
  const auto* w = static_cast<const uint64_t*>(raw());
  return (w[bit / 64] >> (bit % 64)) & 1u;
}

void Tensor::b1_set(int64_t flat, bool plus_one) const {
  check_dtype(DType::b1);
  int64_t bit = b1_bit(shape_, strides_, flat);
  auto* w = static_cast<uint64_t*>(raw());
  uint64_t mask = uint64_t{1} << (bit % 64);
  if (plus_one)
    w[bit / 64] |= mask;
  else
    w[bit / 64] &= ~mask;
}

}  // namespace leancnn
