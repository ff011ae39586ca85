// Load-time evaluators of the ONNX ops that shape computations use, on small tagged tensors.
#include "onnx_fold.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "leancnn/core/error.h"

namespace leancnn::io::onnx_detail {

namespace {
using TP = onnx::TensorProto;

bool is_real_type(int32_t t) { return t == TP::FLOAT || t == TP::DOUBLE || t == TP::FLOAT16 || t == TP::BFLOAT16; }

bool is_int_type(int32_t t) {
  switch (t) {
    case TP::INT64: case TP::INT32: case TP::INT16: case TP::INT8: case TP::UINT8: case TP::UINT16:
    case TP::UINT32: case TP::UINT64: case TP::BOOL:
      return true;
    default:
      return false;
  }
}

std::string type_name(int32_t t) {
  return TP::DataType_IsValid(t) ? TP::DataType_Name(static_cast<TP::DataType>(t)) : "type " + std::to_string(t);
}

// The product of dims, or -1 when a dim is negative or the product exceeds `limit`.
int64_t bounded_numel(const Shape& shape, int64_t limit) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d == 0) return 0;
  }
  for (int64_t d : shape) {
    if (d > limit || n > limit / d) return -1;
    n *= d;
  }
  return n;
}

Folded make(const Shape& shape, int32_t elem_type) {
  if (!is_real_type(elem_type) && !is_int_type(elem_type))
    fail(ErrorKind::bad_input, "element type ", type_name(elem_type), " cannot be evaluated at load time");
  Folded f;
  f.shape = shape;
  f.elem_type = elem_type;
  const int64_t n = bounded_numel(shape, kMaxFoldedElems);
  if (n < 0) fail(ErrorKind::bad_input, "a load-time value of shape ", shape_str(shape), " is too large");
  (f.is_real() ? f.reals.resize(n) : f.ints.resize(n));
  f.tags.assign(n, Tag::fixed);
  return f;
}

// Copies element si of src into element di of dst (value converted between int/real, tag kept).
void copy_elem(Folded& dst, int64_t di, const Folded& src, int64_t si) {
  if (dst.is_real())
    dst.reals[di] = src.is_real() ? src.reals[si] : static_cast<double>(src.ints[si]);
  else
    dst.ints[di] = src.is_real() ? static_cast<int64_t>(src.reals[si]) : src.ints[si];
  dst.tags[di] = src.tags[si];
}

const Folded& need(const std::vector<const Folded*>& in, size_t i, const char* what) {
  if (i >= in.size() || !in[i]) fail(ErrorKind::bad_input, "input ", i, " (", what, ") is missing");
  return *in[i];
}

// The integer values of a shape-fixing input (axes, starts, shape...); they must not depend on the batch.
std::vector<int64_t> static_ints(const Folded& f, const char* what) {
  if (f.is_real()) fail(ErrorKind::bad_input, what, " must be an integer tensor, got ", type_name(f.elem_type));
  if (f.depends_on_batch())
    fail(ErrorKind::bad_input, what, " depends on the batch size, so the output's shape would too; leancnn folds only "
         "shape computations whose shapes are fixed");
  return f.ints;
}

// Axes from input `slot` (newer opsets) or attribute `attr` (older ones); `present` tells whether either was given.
std::vector<int64_t> axes_of(const ir::Attributes& attrs, const std::vector<const Folded*>& in, size_t slot,
                             bool* present) {
  if (slot < in.size() && in[slot]) {
    *present = true;
    return static_ints(*in[slot], "axes");
  }
  *present = attrs.has("axes");
  return attrs.get_ints("axes", {});
}

int64_t norm_axis(int64_t a, int64_t rank, const char* what) {
  const int64_t n = a < 0 ? a + rank : a;
  if (n < 0 || n >= rank) fail(ErrorKind::bad_input, what, " ", a, " is out of range for rank ", rank);
  return n;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

// Multi-index of flat index i in shape s.
std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = s[d] ? i % s[d] : 0;
    i = s[d] ? i / s[d] : 0;
  }
  return idx;
}

// Flat index in `in` (broadcast to `out` numpy-style) of the element at out multi-index idx.
int64_t broadcast_src(const std::vector<int64_t>& idx, const Shape& out, const Shape& in) {
  const size_t off = out.size() - in.size();
  int64_t flat = 0;
  for (size_t d = 0; d < in.size(); ++d) flat = flat * in[d] + (in[d] == 1 ? 0 : idx[d + off]);
  return flat;
}

Shape broadcast(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      fail(ErrorKind::bad_input, "shapes ", shape_str(a), " and ", shape_str(b), " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// --- the evaluators ---

Folded eval_cast(const Folded& x, int64_t to) {
  Folded y = make(x.shape, static_cast<int32_t>(to));
  for (int64_t i = 0; i < x.numel(); ++i) {
    y.tags[i] = x.tags[i];
    if (y.is_real()) {
      const double v = x.is_real() ? x.reals[i] : static_cast<double>(x.ints[i]);
      y.reals[i] = to == TP::DOUBLE ? v : static_cast<double>(static_cast<float>(v));
      continue;
    }
    int64_t v;
    if (x.is_real()) {
      const double r = x.reals[i];
      if (to == TP::BOOL) {
        y.ints[i] = r != 0.0;
        continue;
      }
      if (!(std::fabs(r) < 9.2e18)) fail(ErrorKind::bad_input, "Cast of ", r, " to ", type_name(y.elem_type), " overflows");
      v = static_cast<int64_t>(r);
    } else {
      v = x.ints[i];
    }
    switch (to) {
      case TP::BOOL: v = v != 0; break;
      case TP::INT32: v = static_cast<int32_t>(v); break;
      case TP::INT16: v = static_cast<int16_t>(v); break;
      case TP::INT8: v = static_cast<int8_t>(v); break;
      case TP::UINT8: v = static_cast<uint8_t>(v); break;
      case TP::UINT16: v = static_cast<uint16_t>(v); break;
      case TP::UINT32: v = static_cast<uint32_t>(v); break;
      default: break;  // INT64, UINT64 (held as int64)
    }
    y.ints[i] = v;
  }
  return y;
}

Folded eval_gather(const Folded& data, const Folded& indices, int64_t axis_attr) {
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  if (rank == 0) fail(ErrorKind::bad_input, "Gather data must have rank >= 1");
  const int64_t axis = norm_axis(axis_attr, rank, "attribute 'axis'");
  if (indices.is_real()) fail(ErrorKind::bad_input, "Gather indices must be integers");
  Shape out(data.shape.begin(), data.shape.begin() + axis);
  out.insert(out.end(), indices.shape.begin(), indices.shape.end());
  out.insert(out.end(), data.shape.begin() + axis + 1, data.shape.end());
  Folded y = make(out, data.elem_type);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= data.shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= data.shape[d];
  const int64_t n = data.shape[axis], k = indices.numel();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < k; ++j) {
      int64_t idx = indices.ints[j];
      if (idx < -n || idx >= n) fail(ErrorKind::bad_input, "Gather index ", idx, " is out of range for a dim of ", n);
      if (idx < 0) idx += n;
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t di = (o * k + j) * inner + i;
        copy_elem(y, di, data, (o * n + idx) * inner + i);
        if (indices.tags[j] != Tag::fixed) y.tags[di] = Tag::batch_derived;
      }
    }
  return y;
}

// Unsqueeze, Squeeze, Reshape and Flatten keep the elements in order: only the shape changes.
Folded with_shape(const Folded& x, const Shape& s) {
  Folded y = x;
  y.shape = s;
  return y;
}

Folded eval_unsqueeze(const Folded& x, const std::vector<int64_t>& axes) {
  const int64_t rank = static_cast<int64_t>(x.shape.size() + axes.size());
  std::set<int64_t> at;
  for (int64_t a : axes)
    if (!at.insert(norm_axis(a, rank, "Unsqueeze axis")).second) fail(ErrorKind::bad_input, "Unsqueeze axes repeat ", a);
  Shape out;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d) out.push_back(at.count(d) ? 1 : x.shape[next++]);
  return with_shape(x, out);
}

Folded eval_squeeze(const Folded& x, const std::vector<int64_t>& axes, bool present) {
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::set<int64_t> at;
  for (int64_t a : axes) {
    const int64_t n = norm_axis(a, rank, "Squeeze axis");
    if (x.shape[n] != 1) fail(ErrorKind::bad_input, "Squeeze axis ", a, " has size ", x.shape[n], ", not 1");
    at.insert(n);
  }
  Shape out;
  for (int64_t d = 0; d < rank; ++d)
    if (present ? !at.count(d) : x.shape[d] != 1) out.push_back(x.shape[d]);
  return with_shape(x, out);
}

Folded eval_concat(const std::vector<const Folded*>& in, int64_t axis_attr) {
  if (in.empty()) fail(ErrorKind::bad_input, "Concat needs inputs");
  const Folded& first = need(in, 0, "inputs");
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  if (rank == 0) fail(ErrorKind::bad_input, "Concat inputs need rank >= 1");
  const int64_t axis = norm_axis(axis_attr, rank, "attribute 'axis'");
  Shape out = first.shape;
  out[axis] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const Folded& x = need(in, i, "inputs");
    bool ok = static_cast<int64_t>(x.shape.size()) == rank;
    for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || x.shape[d] == first.shape[d];
    if (!ok) fail(ErrorKind::bad_input, "Concat input ", i, " has shape ", shape_str(x.shape), ", unlike input 0's ",
                  shape_str(first.shape), " off axis ", axis);
    out[axis] += x.shape[axis];
  }
  Folded y = make(out, first.elem_type);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= out[d];
  int64_t di = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (const Folded* x : in) {
      const int64_t block = x->shape[axis] * inner;
      for (int64_t i = 0; i < block; ++i) copy_elem(y, di++, *x, o * block + i);
    }
  return y;
}

Folded eval_slice(const Folded& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                  std::vector<int64_t> axes, std::vector<int64_t> steps) {
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  if (starts.size() != ends.size()) fail(ErrorKind::bad_input, "Slice starts and ends differ in length");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    fail(ErrorKind::bad_input, "Slice starts, ends, axes and steps must have the same length");
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  Shape out = x.shape;
  std::set<int64_t> seen;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = norm_axis(axes[i], rank, "Slice axis");
    if (!seen.insert(a).second) fail(ErrorKind::bad_input, "Slice axes repeat ", axes[i]);
    const int64_t n = x.shape[a], s = steps[i];
    if (s == 0) fail(ErrorKind::bad_input, "Slice step must not be 0");
    // ONNX: a negative bound counts from the end; then starts and ends are clamped to [0, n]
    // for positive steps and to [0, n - 1] and [-1, n - 1] for negative ones.
    auto from_end = [&](int64_t v) { return v < 0 ? v + n : v; };
    int64_t b = 0, e = 0;
    if (s > 0) {
      b = std::clamp(from_end(starts[i]), int64_t{0}, n);
      e = std::clamp(from_end(ends[i]), int64_t{0}, n);
    } else if (n > 0) {
      b = std::clamp(from_end(starts[i]), int64_t{0}, n - 1);
      e = std::clamp(from_end(ends[i]), int64_t{-1}, n - 1);
    }
    begin[a] = b;
    step[a] = s;
    const int64_t magnitude = s > 0 ? s : (s == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -s);
    const int64_t span = s > 0 ? e - b : b - e;
    out[a] = span > 0 ? (span - 1) / magnitude + 1 : 0;
  }
  Folded y = make(out, x.elem_type);
  const std::vector<int64_t> st = strides_of(x.shape);
  for (int64_t i = 0; i < y.numel(); ++i) {
    const std::vector<int64_t> idx = unravel(i, out);
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d) src += (begin[d] + idx[d] * step[d]) * st[d];
    copy_elem(y, i, x, src);
  }
  return y;
}

// Add, Sub, Mul, Div, Equal with numpy broadcasting. An element stays `batch` only through an
// identity (B + 0, B - 0, B * 1, B / 1, 0 + B, 1 * B); any other use of a batch-tagged element
// makes it batch_derived.
Folded eval_binary(const std::string& op, const Folded& a, const Folded& b) {
  if (a.is_real() != b.is_real()) fail(ErrorKind::bad_input, op, " inputs have different element types");
  const Shape out = broadcast(a.shape, b.shape);
  Folded y = make(out, op == "Equal" ? static_cast<int32_t>(TP::BOOL) : a.elem_type);
  for (int64_t i = 0; i < y.numel(); ++i) {
    const std::vector<int64_t> idx = unravel(i, out);
    const int64_t ia = broadcast_src(idx, out, a.shape), ib = broadcast_src(idx, out, b.shape);
    const Tag ta = a.tags[ia], tb = b.tags[ib];
    const double vb = b.is_real() ? b.reals[ib] : static_cast<double>(b.ints[ib]);
    const double va = a.is_real() ? a.reals[ia] : static_cast<double>(a.ints[ia]);
    Tag t = ta == Tag::fixed && tb == Tag::fixed ? Tag::fixed : Tag::batch_derived;
    const bool add_like = op == "Add" || op == "Sub";
    if (ta == Tag::batch && tb == Tag::fixed && op != "Equal" && vb == (add_like ? 0.0 : 1.0)) t = Tag::batch;
    if (tb == Tag::batch && ta == Tag::fixed && (op == "Add" || op == "Mul") && va == (op == "Add" ? 0.0 : 1.0))
      t = Tag::batch;
    y.tags[i] = t;
    if (op == "Equal") {
      y.ints[i] = a.is_real() ? a.reals[ia] == b.reals[ib] : a.ints[ia] == b.ints[ib];
    } else if (a.is_real()) {
      const double x = a.reals[ia], z = b.reals[ib];
      const double r = op == "Add" ? x + z : op == "Sub" ? x - z : op == "Mul" ? x * z : x / z;
      y.reals[i] = y.elem_type == TP::DOUBLE ? r : static_cast<double>(static_cast<float>(r));
    } else {
      const int64_t x = a.ints[ia], z = b.ints[ib];
      if (op == "Div" && z == 0) fail(ErrorKind::bad_input, "Div divides by zero");
      // Wrapping arithmetic (as int64 in C): computed unsigned so that overflow is defined.
      const auto ux = static_cast<uint64_t>(x), uz = static_cast<uint64_t>(z);
      y.ints[i] = op == "Add"   ? static_cast<int64_t>(ux + uz)
                  : op == "Sub" ? static_cast<int64_t>(ux - uz)
                  : op == "Mul" ? static_cast<int64_t>(ux * uz)
                  : (x == std::numeric_limits<int64_t>::min() && z == -1) ? x
                                                                          : x / z;  // truncation, as C
    }
  }
  return y;
}

Folded eval_where(const Folded& c, const Folded& a, const Folded& b) {
  if (c.elem_type != TP::BOOL) fail(ErrorKind::bad_input, "Where condition must be BOOL");
  if (a.is_real() != b.is_real()) fail(ErrorKind::bad_input, "Where X and Y have different element types");
  const Shape out = broadcast(broadcast(c.shape, a.shape), b.shape);
  Folded y = make(out, a.elem_type);
  for (int64_t i = 0; i < y.numel(); ++i) {
    const std::vector<int64_t> idx = unravel(i, out);
    const int64_t ic = broadcast_src(idx, out, c.shape);
    const Folded& src = c.ints[ic] ? a : b;
    copy_elem(y, i, src, broadcast_src(idx, out, src.shape));
    if (c.tags[ic] != Tag::fixed) y.tags[i] = Tag::batch_derived;
  }
  return y;
}

Folded eval_range(const Folded& start, const Folded& limit, const Folded& delta) {
  for (const Folded* f : {&start, &limit, &delta}) {
    if (f->numel() != 1) fail(ErrorKind::bad_input, "Range inputs must be scalars");
    if (f->depends_on_batch()) fail(ErrorKind::bad_input, "Range bounds depend on the batch size");
  }
  const double s = start.is_real() ? start.reals[0] : static_cast<double>(start.ints[0]);
  const double l = limit.is_real() ? limit.reals[0] : static_cast<double>(limit.ints[0]);
  const double d = delta.is_real() ? delta.reals[0] : static_cast<double>(delta.ints[0]);
  if (d == 0) fail(ErrorKind::bad_input, "Range delta must not be 0");
  const double count = std::max(0.0, std::ceil((l - s) / d));
  if (!(count <= (1 << 24))) fail(ErrorKind::bad_input, "Range of ", count, " elements is too large");
  Folded y = make({static_cast<int64_t>(count)}, start.elem_type);
  for (int64_t i = 0; i < y.numel(); ++i) {
    if (y.is_real())
      y.reals[i] = s + static_cast<double>(i) * d;
    else
      y.ints[i] = start.ints[0] + i * delta.ints[0];
  }
  return y;
}

Folded eval_reshape(const Folded& x, const std::vector<int64_t>& spec, bool allowzero) {
  Shape out(spec.size());
  int64_t infer_at = -1, known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == -1) {
      if (infer_at >= 0) fail(ErrorKind::bad_input, "Reshape shape has more than one -1");
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (spec[i] < -1) fail(ErrorKind::bad_input, "Reshape shape has invalid dim ", spec[i]);
    out[i] = spec[i] == 0 && !allowzero ? (i < x.shape.size() ? x.shape[i] : -2) : spec[i];
    if (out[i] == -2) fail(ErrorKind::bad_input, "Reshape shape has 0 at ", i, " beyond the input's rank");
    if (__builtin_mul_overflow(known, out[i], &known)) fail(ErrorKind::bad_input, "Reshape shape is too large");
  }
  if (infer_at >= 0) {
    if (known == 0 || x.numel() % known) fail(ErrorKind::bad_input, "Reshape cannot infer the -1 dim");
    out[infer_at] = x.numel() / known;
  }
  if (bounded_numel(out, x.numel()) != x.numel())
    fail(ErrorKind::bad_input, "Reshape of ", shape_str(x.shape), " to ", shape_str(out), " changes the element count");
  return with_shape(x, out);
}
}  // namespace

bool Folded::is_real() const { return is_real_type(elem_type); }
int64_t Folded::numel() const { return static_cast<int64_t>(tags.size()); }
bool Folded::depends_on_batch() const {
  return std::any_of(tags.begin(), tags.end(), [](Tag t) { return t != Tag::fixed; });
}

Folded folded_from_tensor(const Tensor& t) {
  int32_t type;
  switch (t.dtype()) {
    case DType::f32: type = TP::FLOAT; break;
    case DType::s64: type = TP::INT64; break;
    case DType::s32: type = TP::INT32; break;
    case DType::s8: type = TP::INT8; break;
    case DType::u8: type = TP::UINT8; break;
    default: fail(ErrorKind::bad_input, "a ", dtype_name(t.dtype()), " tensor cannot be evaluated at load time");
  }
  Folded f = make(t.shape(), type);
  const Tensor c = t.is_contiguous() ? t : t.clone();
  for (int64_t i = 0; i < f.numel(); ++i) {
    switch (t.dtype()) {
      case DType::f32: f.reals[i] = c.data<float>()[i]; break;
      case DType::s64: f.ints[i] = c.data<int64_t>()[i]; break;
      case DType::s32: f.ints[i] = c.data<int32_t>()[i]; break;
      case DType::s8: f.ints[i] = static_cast<const int8_t*>(c.raw())[i]; break;
      default: f.ints[i] = static_cast<const uint8_t*>(c.raw())[i]; break;
    }
  }
  return f;
}

Tensor tensor_from_folded(const Folded& f) {
  DType dtype;
  switch (f.elem_type) {
    case TP::FLOAT: dtype = DType::f32; break;
    case TP::INT64: dtype = DType::s64; break;
    case TP::INT32: dtype = DType::s32; break;
    case TP::INT8: dtype = DType::s8; break;
    case TP::UINT8: dtype = DType::u8; break;
    default:
      fail(ErrorKind::bad_input, "a constant of element type ", type_name(f.elem_type),
           " reaches a node; leancnn tensors are FLOAT, INT64, INT32, INT8 or UINT8");
  }
  Tensor t = Tensor::empty(f.shape, dtype);
  for (int64_t i = 0; i < f.numel(); ++i) {
    switch (dtype) {
      case DType::f32: t.data<float>()[i] = static_cast<float>(f.reals[i]); break;
      case DType::s64: t.data<int64_t>()[i] = f.ints[i]; break;
      case DType::s32: t.data<int32_t>()[i] = static_cast<int32_t>(f.ints[i]); break;
      case DType::s8: static_cast<int8_t*>(t.raw())[i] = static_cast<int8_t>(f.ints[i]); break;
      default: static_cast<uint8_t*>(t.raw())[i] = static_cast<uint8_t>(f.ints[i]); break;
    }
  }
  return t;
}

bool is_foldable_op(const std::string& op) {
  static const std::set<std::string> ops = {"Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast",
                                            "Slice", "ConstantOfShape", "Add", "Sub", "Mul", "Div", "Equal",
                                            "Where", "Range", "Reshape", "Flatten"};
  return ops.count(op) != 0;
}

Folded fold_shape(const Shape& x, bool runtime, const ir::Attributes& attrs) {
  const int64_t rank = static_cast<int64_t>(x.size());
  auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  const int64_t start = clamp(attrs.get_int("start", 0));
  const int64_t end = clamp(attrs.get_int("end", rank));
  Folded f = make({std::max<int64_t>(0, end - start)}, TP::INT64);
  for (int64_t d = start; d < end; ++d) {
    f.ints[d - start] = x[d];
    if (runtime && d == 0) f.tags[d - start] = Tag::batch;
  }
  return f;
}

Folded fold_size(const Shape& x, bool runtime) {
  Folded f = make({}, TP::INT64);
  f.ints[0] = shape_numel(x);
  if (runtime) f.tags[0] = Tag::batch_derived;
  return f;
}

std::vector<Folded> eval_folded(const std::string& op, const ir::Attributes& attrs,
                                const std::vector<const Folded*>& in, size_t num_outputs) {
  if (num_outputs != 1) fail(ErrorKind::bad_input, op, " has ", num_outputs, " outputs; it produces one");
  if (op == "Cast") {
    if (!attrs.has("to")) fail(ErrorKind::bad_input, "Cast needs attribute 'to'");
    return {eval_cast(need(in, 0, "input"), attrs.get_int("to", 0))};
  }
  if (op == "Gather") return {eval_gather(need(in, 0, "data"), need(in, 1, "indices"), attrs.get_int("axis", 0))};
  if (op == "Unsqueeze" || op == "Squeeze") {
    bool present = false;
    const std::vector<int64_t> axes = axes_of(attrs, in, 1, &present);
    if (op == "Unsqueeze") {
      if (!present) fail(ErrorKind::bad_input, "Unsqueeze needs axes");
      return {eval_unsqueeze(need(in, 0, "data"), axes)};
    }
    return {eval_squeeze(need(in, 0, "data"), axes, present)};
  }
  if (op == "Concat") {
    if (!attrs.has("axis")) fail(ErrorKind::bad_input, "Concat needs attribute 'axis'");
    return {eval_concat(in, attrs.get_int("axis", 0))};
  }
  if (op == "Slice") {
    const Folded& x = need(in, 0, "data");
    if (in.size() > 1) {  // opset 10+: inputs
      const std::vector<int64_t> starts = static_ints(need(in, 1, "starts"), "Slice starts");
      const std::vector<int64_t> ends = static_ints(need(in, 2, "ends"), "Slice ends");
      std::vector<int64_t> axes, steps;
      if (in.size() > 3 && in[3]) axes = static_ints(*in[3], "Slice axes");
      if (in.size() > 4 && in[4]) steps = static_ints(*in[4], "Slice steps");
      return {eval_slice(x, starts, ends, axes, steps)};
    }
    return {eval_slice(x, attrs.get_ints("starts", {}), attrs.get_ints("ends", {}), attrs.get_ints("axes", {}), {})};
  }
  if (op == "ConstantOfShape") {
    // Input 1 is not ONNX's: the importer passes the TENSOR attribute 'value' there (null: float 0).
    const std::vector<int64_t> shape = static_ints(need(in, 0, "input"), "ConstantOfShape shape");
    for (int64_t d : shape)
      if (d < 0) fail(ErrorKind::bad_input, "ConstantOfShape shape has a negative dim ", d);
    const Folded* value = in.size() > 1 ? in[1] : nullptr;
    if (value && value->numel() != 1) fail(ErrorKind::bad_input, "ConstantOfShape value must have one element");
    Folded y = make(Shape(shape.begin(), shape.end()), value ? value->elem_type : TP::FLOAT);
    for (int64_t i = 0; i < y.numel(); ++i) {
      if (value) copy_elem(y, i, *value, 0);
      y.tags[i] = Tag::fixed;
    }
    return {y};
  }
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Equal")
    return {eval_binary(op, need(in, 0, "A"), need(in, 1, "B"))};
  if (op == "Where") return {eval_where(need(in, 0, "condition"), need(in, 1, "X"), need(in, 2, "Y"))};
  if (op == "Range") return {eval_range(need(in, 0, "start"), need(in, 1, "limit"), need(in, 2, "delta"))};
  if (op == "Reshape") {
    const std::vector<int64_t> spec = static_ints(need(in, 1, "shape"), "Reshape shape");
    return {eval_reshape(need(in, 0, "data"), spec, attrs.get_int("allowzero", 0) != 0)};
  }
  if (op == "Flatten") {
    const Folded& x = need(in, 0, "input");
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    int64_t axis = attrs.get_int("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) fail(ErrorKind::bad_input, "Flatten axis is out of range");
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
    return {with_shape(x, {outer, outer ? x.numel() / outer : 0})};
  }
  fail(ErrorKind::internal, "eval_folded: ", op, " is not foldable");
}

}  // namespace leancnn::io::onnx_detail
