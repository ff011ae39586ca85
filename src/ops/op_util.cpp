// Shared helpers for op definitions.
#include "leancnn/ops/op_util.h"

namespace leancnn::ops {

const ir::Value& require_input(const std::vector<const ir::Value*>& in, size_t i, const char* what) {
  if (i >= in.size() || !in[i]) fail(ErrorKind::bad_input, "missing input ", i, " (", what, ")");
  return *in[i];
}

void require_rank(const ir::Value& v, int rank, const char* what) {
  if (static_cast<int>(v.shape.size()) != rank)
    fail(ErrorKind::bad_input, what, " '", v.name, "' must have rank ", rank, ", got shape ", shape_str(v.shape));
}

void require_dtype(const ir::Value& v, DType t, const char* what) {
  if (v.dtype != t)
    fail(ErrorKind::bad_input, what, " '", v.name, "' must be ", dtype_name(t), ", got ", dtype_name(v.dtype));
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      fail(ErrorKind::bad_input, "shapes ", shape_str(a), " and ", shape_str(b), " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t broadcast_index(int64_t out_flat, const Shape& out, const Shape& in) {
  int64_t in_flat = 0, in_stride = 1;
  const size_t off = out.size() - in.size();
  for (size_t k = out.size(); k-- > 0;) {
    int64_t idx = out_flat % out[k];
    out_flat /= out[k];
    if (k >= off) {
      int64_t d = in[k - off];
      if (d != 1) in_flat += idx * in_stride;
      in_stride *= d;
    }
  }
  return in_flat;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const char* what) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(ErrorKind::bad_input, what, " ", axis, " is out of range for rank ", rank);
  return a;
}

float scalar_input(const std::vector<const ir::Value*>& in, size_t i, float def, const char* what) {
  if (i >= in.size() || !in[i]) return def;
  const ir::Value& v = *in[i];
  if (!v.is_initializer())
    fail(ErrorKind::bad_input, what, " '", v.name, "' must be a constant (an initializer)");
  if (v.dtype != DType::f32 || v.data.numel() != 1)
    fail(ErrorKind::bad_input, what, " '", v.name, "' must be a single f32 value");
  return v.data.data<float>()[0];
}

std::vector<ir::TensorType> same_as_input(const ir::Node&, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "X");
  return {{x.shape, x.dtype}};
}

}  // namespace leancnn::ops
