// Sparse weight storage (ai.leancnn SparseToDense, docs/ops.md): a tensor kept as a bitmask of
// its non-zero positions plus the non-zero values in row-major order, so a pruned model's file
// holds the non-zeros only. Bit i of the mask is bit (i % 8) of byte i / 8 (least significant
// first), 1 where element i is non-zero; the last byte's unused high bits are 0.
#pragma once
#include <cstdint>

#include "leancnn/core/tensor.h"

namespace leancnn::ops {

struct SparseEncoding {
  Tensor mask;    // u8 [(numel + 7) / 8]
  Tensor values;  // the dense tensor's dtype, [non-zeros]
};

// The encoding of a contiguous f32, s8 or u8 tensor.
SparseEncoding sparse_encode(const Tensor& dense);
// Bytes the encoding takes (mask + values), without building it.
int64_t sparse_encoded_bytes(const Tensor& dense);
// Writes the decoded tensor into `dense` (allocated with the logical shape and the values'
// dtype). Error(bad_input) when the mask's size or set-bit count disagrees with them.
void sparse_decode(const Tensor& mask, const Tensor& values, Tensor& dense);

}  // namespace leancnn::ops
