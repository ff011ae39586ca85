// ONNX TensorProto files: one tensor per file, as the ONNX test data stores inputs and outputs
// (test_data_set_0/input_0.pb, output_0.pb). `leancnn infer` reads and writes them so that
// leancnn can be checked against another runtime with files alone. No protobuf type appears here.
#pragma once
#include <string>

#include "leancnn/core/tensor.h"

namespace leancnn::io {

struct NamedTensor {
  std::string name;  // the TensorProto's name (may be empty)
  Tensor tensor;
};

// Parses one serialized TensorProto. Element types FLOAT, INT64, INT32, INT8, UINT8, and BOOL
// (read as u8 0/1); raw_data or the typed fields. Every size is checked before allocating;
// a malformed or unsupported tensor throws Error(bad_input) naming the field.
NamedTensor parse_tensor_proto(const std::string& bytes);
// parse_tensor_proto of a file; errors name the file.
NamedTensor read_tensor_proto(const std::string& path);

// Writes t (contiguous or not) as a TensorProto named `name`, atomically (write_file_atomic).
// Error(bad_input) for b1, which ONNX has no type for.
void write_tensor_proto(const std::string& path, const Tensor& t, const std::string& name);

}  // namespace leancnn::io
