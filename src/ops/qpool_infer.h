// Private to the integer pooling op files: the shape-inference checks of their operands.
#pragma once
#include <vector>

#include "leancnn/ir/op_schema.h"

namespace leancnn::ops::detail {

// Checks slots 0-4 (qpool.h) of a QLinearMaxPool / QLinearGlobalAveragePool node: x u8/s8, the
// scales f32 with one value (positive and finite when constant), the zero points one value of
// their tensor's type (x_zero_point x's, y_zero_point u8/s8). Returns the output dtype
// (y_zero_point's). Error(bad_input) naming the node and the operand otherwise.
DType check_qpool_operands(const ir::Node& node, const std::vector<const ir::Value*>& in);

}  // namespace leancnn::ops::detail
