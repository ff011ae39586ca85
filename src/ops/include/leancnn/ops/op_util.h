// Small helpers shared by op definitions: input checks, broadcasting, axis handling.
#pragma once
#include <string>
#include <vector>

#include "leancnn/core/error.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::ops {

// Throws Error(bad_input) unless input i exists and has the given rank.
const ir::Value& require_input(const std::vector<const ir::Value*>& in, size_t i, const char* what);
void require_rank(const ir::Value& v, int rank, const char* what);
void require_dtype(const ir::Value& v, DType t, const char* what);

// ONNX multidirectional (numpy) broadcasting of two shapes; throws on incompatible shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Maps an output flat index to the flat index of an input of shape `in` broadcast to `out`.
int64_t broadcast_index(int64_t out_flat, const Shape& out, const Shape& in);
// Normalises a possibly negative axis for a rank; throws if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* what);

// Reads a constant 0-D/1-element f32 initializer, or `def` when the input is omitted.
float scalar_input(const std::vector<const ir::Value*>& in, size_t i, float def, const char* what);

// Output types for an op whose single output has the first input's shape and dtype.
std::vector<ir::TensorType> same_as_input(const ir::Node&, const std::vector<const ir::Value*>& in);

}  // namespace leancnn::ops
