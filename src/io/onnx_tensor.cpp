// TensorProto and attribute readers (validated: sizes are checked before allocating) and the
// TensorProto writer, shared by the ONNX model reader/writer and the TensorProto files.
#include <algorithm>
#include <cstring>

#include "leancnn/core/error.h"
#include "onnx_common.h"

namespace leancnn::io::onnx_detail {

namespace {
constexpr int64_t kMaxDim = (int64_t{1} << 31) - 1;
constexpr int64_t kMaxNumel = int64_t{1} << 40;

Shape read_dims(const google::protobuf::RepeatedField<int64_t>& dims) {
  Shape shape;
  int64_t numel = 1;
  for (int64_t d : dims) {
    if (d < 0 || d > kMaxDim) fail(ErrorKind::bad_input, "field 'dims' holds ", d, ", not a dimension");
    shape.push_back(d);
    if (__builtin_mul_overflow(numel, std::max<int64_t>(d, 1), &numel) || numel > kMaxNumel) fail(ErrorKind::bad_input, "field 'dims' declares more than 2^40 elements");
  }
  return shape;
}

}  // namespace

// A TensorProto (initializer or Constant value) as a Tensor. Errors name the field at fault.
Tensor read_tensor(const onnx::TensorProto& t, bool bool_as_u8) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0)
    fail(ErrorKind::bad_input, "its data is stored outside the file (external data), which leancnn does not read");
  if (t.has_segment()) fail(ErrorKind::bad_input, "field 'segment' (a split tensor) is not supported");
  DType dtype;
  const bool is_bool = bool_as_u8 && t.data_type() == onnx::TensorProto::BOOL;
  if (is_bool) dtype = DType::u8;
  else if (!dtype_from_onnx(t.data_type(), &dtype))
    fail(ErrorKind::bad_input, "field 'data_type' is ", elem_type_name(t.data_type()),
         "; leancnn reads FLOAT, INT64, INT32, INT8 and UINT8 tensors");
  const Shape shape = read_dims(t.dims());
  const int64_t numel = shape_numel(shape);
  // Sizes are checked before allocating: a corrupt 'dims' must not allocate terabytes.
  if (t.has_raw_data()) {
    const size_t want = static_cast<size_t>(numel) * dtype_size(dtype);
    if (t.raw_data().size() != want)
      fail(ErrorKind::bad_input, "field 'raw_data' holds ", t.raw_data().size(), " bytes; ", shape_str(shape), " ",
           elem_type_name(t.data_type()), " needs ", want);
    Tensor out = Tensor::empty(shape, dtype);
    if (want > 0) std::memcpy(out.raw(), t.raw_data().data(), want);
    return out;
  }
  const int count = dtype == DType::f32 ? t.float_data_size() : dtype == DType::s64 ? t.int64_data_size() : t.int32_data_size();
  const char* field = dtype == DType::f32 ? "float_data" : dtype == DType::s64 ? "int64_data" : "int32_data";
  if (count != numel)
    fail(ErrorKind::bad_input, "field '", field, "' holds ", count, " values; ", shape_str(shape), " needs ", numel);
  Tensor out = Tensor::empty(shape, dtype);
  switch (dtype) {
    case DType::f32:
      std::copy(t.float_data().begin(), t.float_data().end(), out.data<float>());
      break;
    case DType::s64:
      std::copy(t.int64_data().begin(), t.int64_data().end(), out.data<int64_t>());
      break;
    case DType::s32:
      std::copy(t.int32_data().begin(), t.int32_data().end(), out.data<int32_t>());
      break;
    case DType::s8:
    case DType::u8: {
      const int lo = dtype == DType::s8 ? -128 : 0;
      const int hi = dtype == DType::s8 ? 127 : is_bool ? 1 : 255;
      auto* dst = static_cast<uint8_t*>(out.raw());
      for (int i = 0; i < t.int32_data_size(); ++i) {
        const int32_t x = t.int32_data(i);
        if (x < lo || x > hi) fail(ErrorKind::bad_input, "field 'int32_data' holds ", x, ", out of range for ", dtype_name(dtype));
        dst[i] = static_cast<uint8_t>(x);
      }
      break;
    }
    case DType::b1: fail(ErrorKind::internal, "b1 from ONNX");
  }
  return out;
}

// A node attribute as an ir::AttrValue; UNDEFINED types (old writers) are read from the one field set.
ir::AttrValue read_attribute(const onnx::AttributeProto& a) {
  if (!a.ref_attr_name().empty())
    fail(ErrorKind::bad_input, "attribute '", a.name(), "' refers to a function attribute, which is not supported");
  onnx::AttributeProto::AttributeType type = a.type();
  if (type == onnx::AttributeProto::UNDEFINED) {
    const int set = a.has_i() + a.has_f() + a.has_s() + (a.ints_size() > 0) + (a.floats_size() > 0) + a.has_t();
    if (set != 1) fail(ErrorKind::bad_input, "attribute '", a.name(), "' has no type and not exactly one value");
    type = a.has_i()             ? onnx::AttributeProto::INT
           : a.has_f()           ? onnx::AttributeProto::FLOAT
           : a.has_s()           ? onnx::AttributeProto::STRING
           : a.ints_size() > 0   ? onnx::AttributeProto::INTS
           : a.floats_size() > 0 ? onnx::AttributeProto::FLOATS
                                 : onnx::AttributeProto::TENSOR;
  }
  switch (type) {
    case onnx::AttributeProto::INT: return a.i();
    case onnx::AttributeProto::FLOAT: return a.f();
    case onnx::AttributeProto::STRING: return a.s();
    case onnx::AttributeProto::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    default: {
      const std::string name = onnx::AttributeProto::AttributeType_IsValid(type)
                                   ? onnx::AttributeProto::AttributeType_Name(type)
                                   : std::to_string(static_cast<int>(type));
      fail(ErrorKind::bad_input, "attribute '", a.name(), "' is of type ", name,
           "; leancnn node attributes are INT, FLOAT, STRING, INTS or FLOATS");
    }
  }
}

// A Constant node's value as a tensor (value, value_float(s), value_int(s)).
Tensor read_constant(const onnx::NodeProto& n) {
  if (n.attribute_size() != 1)
    fail(ErrorKind::bad_input, "a Constant needs exactly one attribute (value, value_float, value_floats, value_int, "
         "value_ints), it has ", n.attribute_size());
  const onnx::AttributeProto& a = n.attribute(0);
  const std::string& name = a.name();
  try {
    if (name == "value") {
      if (a.type() != onnx::AttributeProto::TENSOR && !(a.type() == onnx::AttributeProto::UNDEFINED && a.has_t()))
        fail(ErrorKind::bad_input, "must be a TENSOR");
      return read_tensor(a.t());
    }
    const ir::AttrValue v = read_attribute(a);
    if (name == "value_float" && std::holds_alternative<float>(v)) return Tensor::full({}, std::get<float>(v));
    if (name == "value_int" && std::holds_alternative<int64_t>(v))
      return Tensor::from_ints({}, {std::get<int64_t>(v)}, DType::s64);
    if (name == "value_floats" && std::holds_alternative<std::vector<float>>(v)) {
      const auto& f = std::get<std::vector<float>>(v);
      return Tensor::from_floats({static_cast<int64_t>(f.size())}, f);
    }
    if (name == "value_ints" && std::holds_alternative<std::vector<int64_t>>(v)) {
      const auto& i = std::get<std::vector<int64_t>>(v);
      return Tensor::from_ints({static_cast<int64_t>(i.size())}, i, DType::s64);
    }
  } catch (Error& e) {
    e.add_context(str_cat("attribute '", name, "'"));
    throw;
  }
  fail(ErrorKind::bad_input, "attribute '", name, "' of a Constant is not supported or has the wrong type "
       "(leancnn reads value, value_float, value_floats, value_int, value_ints)");
}

void write_tensor(const Tensor& t, const std::string& name, onnx::TensorProto* out) {
  const int32_t type = onnx_elem_type(t.dtype());
  if (type == onnx::TensorProto::UNDEFINED)
    fail(ErrorKind::bad_input, "tensor '", name, "' has dtype ", dtype_name(t.dtype()), ", which ONNX cannot store");
  out->set_name(name);
  out->set_data_type(type);
  for (int64_t d : t.shape()) out->add_dims(d);
  const Tensor src = t.is_contiguous() ? t : t.clone();
  out->set_raw_data(static_cast<const char*>(src.raw()), src.nbytes());
}

}  // namespace leancnn::io::onnx_detail
