// Private to the io layer: the ONNX protobuf include and what the ONNX reader and writer share
// (element-type mapping, metadata keys, the IR version written).
#pragma once
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

#include "leancnn/core/dtype.h"

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

}  // namespace leancnn::io::onnx_detail
