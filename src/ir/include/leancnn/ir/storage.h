// Storage facts of a graph's weights, from the op schemas (OpSchema::storage): which initializer
// holds the data a value decodes from, how many logical elements and bits per element it
// stores, and how many of them are non-zero. What the size figures (parameters, non-zeros, bits)
// and the accelerator workload read, whatever the format.
#pragma once
#include <cstdint>

#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::ir {

struct StoredTensor {
  ValueId value = kNone;  // the initializer; kNone when v is not (a view of) stored data
  int bits = 32;          // per logical element
  int64_t count = 0;      // logical elements
  int64_t (*nonzero)(const Tensor& stored, int64_t count) = nullptr;  // null: count the elements
  bool defined() const { return value != kNone; }
};

// Bits of one element of a tensor of this type (8 for s8 / u8, 1 for b1, 32 otherwise).
int dtype_bits(DType t);

// Follows storage views from v (at most 8) to an initializer.
StoredTensor stored_tensor(const Graph& g, const OpTable& ops, ValueId v);

// Bits per element of the data v decodes from, stored or computed (a DequantizeLinear of a u8
// activation: 8); dtype_bits of v itself when no storage view produces it.
int value_bits(const Graph& g, const OpTable& ops, ValueId v);

// Non-zero logical elements of the stored tensor (b1's ±1 are never zero).
int64_t stored_nonzero(const Graph& g, const StoredTensor& s);

}  // namespace leancnn::ir
