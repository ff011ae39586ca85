// ONNX element-type mapping shared by the reader and writer, and the wrapper of libonnx's checker.
#include "onnx_common.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <exception>
#include <fstream>
#include <sstream>

#include "leancnn/io/onnx.h"

namespace leancnn::io {

namespace onnx_detail {

int32_t onnx_elem_type(DType t) {
  switch (t) {
    case DType::f32: return onnx::TensorProto::FLOAT;
    case DType::s8: return onnx::TensorProto::INT8;
    case DType::u8: return onnx::TensorProto::UINT8;
    case DType::s32: return onnx::TensorProto::INT32;
    case DType::s64: return onnx::TensorProto::INT64;
    case DType::b1: return onnx::TensorProto::UNDEFINED;
  }
  return onnx::TensorProto::UNDEFINED;
}

bool dtype_from_onnx(int32_t elem_type, DType* out) {
  switch (elem_type) {
    case onnx::TensorProto::FLOAT: *out = DType::f32; return true;
    case onnx::TensorProto::INT8: *out = DType::s8; return true;
    case onnx::TensorProto::UINT8: *out = DType::u8; return true;
    case onnx::TensorProto::INT32: *out = DType::s32; return true;
    case onnx::TensorProto::INT64: *out = DType::s64; return true;
    default: return false;
  }
}

std::string elem_type_name(int32_t elem_type) {
  if (onnx::TensorProto::DataType_IsValid(elem_type))
    return onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(elem_type));
  return "type " + std::to_string(elem_type);
}

}  // namespace onnx_detail

std::string onnx_check(const std::string& path) {
  // What onnx.checker.check_model(path, full_check=True) does in Python: the structural check,
  // then strict shape inference with type checks (which also compares declared output shapes).
  try {
    onnx::checker::check_model(path);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    onnx::ModelProto model;
    if (!in || !model.ParseFromString(bytes.str())) return "cannot read '" + path + "' as an ONNX model";
    const onnx::ShapeInferenceOptions strict(/*check_type=*/true, /*error_mode=*/1, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), strict);
    return "";
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    return msg.empty() ? "the ONNX checker rejected '" + path + "'" : msg;
  }
}

}  // namespace leancnn::io
