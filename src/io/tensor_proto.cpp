// TensorProto files: parse and validate one tensor, or write one atomically.
#include "leancnn/io/tensor_proto.h"

#include <climits>

#include "leancnn/core/error.h"
#include "leancnn/io/file.h"
#include "onnx_common.h"

namespace leancnn::io {

NamedTensor parse_tensor_proto(const std::string& bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) fail(ErrorKind::bad_input, "the file is over 2 GiB");
  onnx::TensorProto t;
  if (!t.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    fail(ErrorKind::bad_input, "not a TensorProto (the protobuf does not parse: truncated, corrupt or another format)");
  if (!t.has_data_type() && t.dims_size() == 0 && !t.has_raw_data())
    fail(ErrorKind::bad_input, "not a TensorProto (it has no data type, dims or data)");
  return {t.name(), onnx_detail::read_tensor(t, /*bool_as_u8=*/true)};
}

NamedTensor read_tensor_proto(const std::string& path) {
  const std::string bytes = read_file(path);
  try {
    return parse_tensor_proto(bytes);
  } catch (Error& e) {
    e.add_context(str_cat("file '", path, "'"));
    throw;
  }
}

void write_tensor_proto(const std::string& path, const Tensor& t, const std::string& name) {
  onnx::TensorProto p;
  std::string bytes;
  try {
    onnx_detail::write_tensor(t, name, &p);
    if (!p.SerializeToString(&bytes)) fail(ErrorKind::bad_input, "the tensor does not fit in one protobuf message (2 GiB)");
  } catch (Error& e) {
    e.add_context(str_cat("file '", path, "'"));
    throw;
  }
  write_file_atomic(path, bytes);
}

}  // namespace leancnn::io
