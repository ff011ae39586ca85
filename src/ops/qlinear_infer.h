// Private to the QLinear op files: the shape-inference checks of the quantization operands.
#pragma once
#include <vector>

#include "leancnn/ir/op_schema.h"

namespace leancnn::ops::detail {

// Checks dtypes and counts of slots 0-8 (qlinear.h) for `oc` output channels; returns the output
// dtype (y_zero_point's, u8 when omitted; f32 when y_scale is omitted and y_optional).
DType check_qlinear_operands(const std::vector<const ir::Value*>& in, int64_t oc, bool y_optional);

}  // namespace leancnn::ops::detail
