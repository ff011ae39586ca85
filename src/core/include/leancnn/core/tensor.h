// Tensor: a shared handle to 64-byte aligned storage with a shape, element strides and a dtype.
// Copying a Tensor shares the data (like a shared_ptr); clone() copies it. NCHW is the
// reference layout for activations, OIHW for convolution weights.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "leancnn/core/dtype.h"

namespace leancnn {

using Shape = std::vector<int64_t>;

// Product of dims (1 for a scalar shape {}).
int64_t shape_numel(const Shape& s);
// "1x3x32x32" ("scalar" for {}).
std::string shape_str(const Shape& s);

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() == false

  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, float value);
  static Tensor from_floats(const Shape& shape, const std::vector<float>& values);
  static Tensor from_ints(const Shape& shape, const std::vector<int64_t>& values, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  // dim(i) with i < 0 counting from the end.
  int64_t dim(int i) const;
  int64_t numel() const { return shape_numel(shape_); }
  // Strides in elements (in bits for b1; see below).
  const std::vector<int64_t>& strides() const { return strides_; }
  bool is_contiguous() const;
  // Bytes the elements of this view occupy when contiguous (b1: packed rows).
  size_t nbytes() const;

  // Pointer to the first element. The handle is like a pointer: a const Tensor still gives
  // mutable data. Throws if T does not match dtype().
  template <typename T>
  T* data() const {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(raw());
  }
  void* raw() const;

  // A view of rows [begin, end) of dim 0, sharing storage (cheap batch slices).
  Tensor slice_batch(int64_t begin, int64_t end) const;
  // A contiguous view of `shape` and `dtype` starting `offset_bytes` after this tensor's first
  // byte, sharing its storage (e.g. activations placed in one arena); Error(internal) if the
  // view does not fit in the storage.
  Tensor view_at(size_t offset_bytes, const Shape& shape, DType dtype) const;
  // A view with a new shape of equal numel; the tensor must be contiguous.
  Tensor reshape(const Shape& shape) const;
  // Deep, contiguous copy.
  Tensor clone() const;
  // Copies the elements of src (same shape and dtype) into this tensor.
  void copy_from(const Tensor& src) const;
  void fill(float value) const;  // f32 only
  void zero() const;

  // f32 element access by flat contiguous index, for tests and references.
  float at(int64_t flat) const;

  // --- 1-bit packed (b1) tensors ---
  // The last dimension is packed 64 values per uint64_t word, least significant bit first,
  // and every row is padded to whole words (padding bits are 0). A b1 tensor's strides are in
  // bits, so slice_batch works unchanged.
  int64_t b1_row_words() const;
  bool b1_get(int64_t flat) const;  // flat logical index; true means +1
  void b1_set(int64_t flat, bool plus_one) const;

 private:
  void check_dtype(DType want) const;
  std::shared_ptr<uint8_t> storage_;
  size_t storage_bytes_ = 0;
  size_t offset_bytes_ = 0;
  Shape shape_;
  std::vector<int64_t> strides_;
  DType dtype_ = DType::f32;
};

}  // namespace leancnn
