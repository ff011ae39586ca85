// Private to the io layer: the ONNX protobuf include and what the ONNX reader and writer share
// (element-type mapping, metadata keys, the IR version written).
#pragma once
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

#include "leancnn/core/dtype.h"
#include "leancnn/core/tensor.h"
#include "leancnn/ir/attributes.h"

namespace leancnn::io::onnx_detail {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ONNX raw_data is little-endian; so must the host be");

// IR version 7 is the one that came with opset 14 (ONNX 1.9): the oldest that holds our files.
inline constexpr int64_t kIrVersion = 7;
// metadata_props key whose value lists the trainable initializers, one name per line. Written
// always by save_onnx; when present on load it decides the flags instead of the rule.
inline constexpr const char* kTrainableKey = "leancnn.trainable";
inline constexpr const char* kBatchDimParam = "N";

// The ONNX element type of a leancnn dtype; TensorProto::UNDEFINED for b1 (no ONNX type).
int32_t onnx_elem_type(DType t);
// The leancnn dtype of an ONNX element type; false when leancnn has none.
bool dtype_from_onnx(int32_t elem_type, DType* out);
// "FLOAT", "FLOAT16", ... or "type 42" for a number ONNX does not define.
std::string elem_type_name(int32_t elem_type);

// onnx_tensor.cpp: validated readers and the writer shared by models and TensorProto files.
// A TensorProto (initializer, Constant value, test data) as a Tensor; every size is checked
// before allocating. Throws Error(bad_input) naming the field at fault. With bool_as_u8, a BOOL
// tensor reads as u8 (0 or 1); otherwise BOOL is rejected like every type leancnn lacks.
Tensor read_tensor(const onnx::TensorProto& t, bool bool_as_u8 = false);
// t as a TensorProto named `name` (raw_data, little-endian); Error(bad_input) for b1.
void write_tensor(const Tensor& t, const std::string& name, onnx::TensorProto* out);
// A node attribute as an ir::AttrValue (INT, FLOAT, STRING, INTS, FLOATS; untyped old-style
// attributes are read from the one value set). Other types throw Error(bad_input).
ir::AttrValue read_attribute(const onnx::AttributeProto& a);
// A Constant node's value (value, value_float(s), value_int(s)) as a tensor.
Tensor read_constant(const onnx::NodeProto& n);

}  // namespace leancnn::io::onnx_detail
