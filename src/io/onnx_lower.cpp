// Lowering rules of the ONNX importer: which version of each ai.onnx op leancnn reads, and how
// an older form (attributes that later opsets moved to inputs, Softmax's 2-D coercion, legacy
// broadcasting) or an op leancnn has no node for (ReduceMean over H and W, Squeeze/Unsqueeze of
// run-time values) is rewritten into leancnn's opset-13+ ops. Every rewrite is exact.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "onnx_import.h"

namespace leancnn::io::onnx_detail {

namespace {
using LowerFn = void (*)(Importer&, OnnxNode&);

struct Rule {
  std::vector<int> versions;  // since_version values of the op's schema that leancnn reads
  LowerFn lower = nullptr;    // rewrites the node before it is emitted (may emit others first)
};

// Input 0 of a node (Error(bad_input) when it has none).
const std::string& data_input(const OnnxNode& n) {
  if (n.inputs.empty() || n.inputs[0].empty()) fail(ErrorKind::bad_input, "input 0 is missing");
  return n.inputs[0];
}

// Output 0 of a node (Error(bad_input) when it has none).
const std::string& first_output(const OnnxNode& n) {
  if (n.outputs.empty() || n.outputs[0].empty()) fail(ErrorKind::bad_input, "output 0 is missing");
  return n.outputs[0];
}

Tensor scalar_f32(float v) { return Tensor::full({}, v); }
Tensor ints_1d(const std::vector<int64_t>& v) { return Tensor::from_ints({static_cast<int64_t>(v.size())}, v, DType::s64); }

// Moves attribute `attr` (when present) into input slot `slot` as a constant made by `make`.
template <typename Make>
void attr_to_input(Importer& imp, OnnxNode& n, const char* attr, size_t slot, Make make) {
  if (!n.attrs.has(attr)) return;
  const std::string name = imp.add_constant(n.name + "." + attr, make());
  n.attrs.erase(attr);
  if (n.inputs.size() <= slot) n.inputs.resize(slot + 1);
  if (!n.inputs[slot].empty()) fail(ErrorKind::bad_input, "has both the attribute '", attr, "' and input ", slot);
  n.inputs[slot] = name;
}

void drop_flag(OnnxNode& n, const char* attr, int64_t required, const char* why) {
  if (!n.attrs.has(attr)) return;
  const int64_t v = n.attrs.get_int(attr, required);
  if (v != required) fail(ErrorKind::bad_input, "attribute '", attr, "' = ", v, " is not supported (", why, ")");
  n.attrs.erase(attr);
}

// Clip-6: min and max attributes (opset 11 made them inputs).
void lower_clip(Importer& imp, OnnxNode& n) {
  if (n.since_version >= 11) return;
  const float lo = n.attrs.get_float("min", std::numeric_limits<float>::lowest());
  const float hi = n.attrs.get_float("max", std::numeric_limits<float>::max());
  attr_to_input(imp, n, "min", 1, [&] { return scalar_f32(lo); });
  attr_to_input(imp, n, "max", 2, [&] { return scalar_f32(hi); });
}

// Split-2/11: the 'split' sizes attribute (opset 13 made it an input).
void lower_split(Importer& imp, OnnxNode& n) {
  if (n.since_version >= 13) return;
  const std::vector<int64_t> split = n.attrs.get_ints("split", {});
  attr_to_input(imp, n, "split", 1, [&] { return ints_1d(split); });
}

// Dropout-6/7/10: the 'ratio' attribute (opset 12 made it an input); is_test is dropped
// (the run mode decides).
void lower_dropout(Importer& imp, OnnxNode& n) {
  if (n.since_version >= 12) return;
  n.attrs.erase("is_test");
  const float ratio = n.attrs.get_float("ratio", 0.5f);
  attr_to_input(imp, n, "ratio", 1, [&] { return scalar_f32(ratio); });
}

// BatchNormalization-6/7: 'is_test' (inference either way) and 'spatial' (must be 1, the
// per-channel form every later opset has).
void lower_batch_norm(Importer&, OnnxNode& n) {
  n.attrs.erase("is_test");
  drop_flag(n, "spatial", 1, "leancnn normalizes per channel (spatial = 1)");
}

// Gemm-6: 'broadcast' (Gemm-7 always broadcasts C).
void lower_gemm(Importer&, OnnxNode& n) { n.attrs.erase("broadcast"); }

// Add-6/Mul-6: legacy broadcasting. broadcast = 1 aligns B with A at 'axis' (default: the
// trailing dims, as numpy); a constant B is reshaped so that numpy broadcasting agrees.
void lower_legacy_broadcast(Importer& imp, OnnxNode& n) {
  if (n.since_version >= 7) return;
  const bool broadcast = n.attrs.get_int("broadcast", 0) != 0;
  const bool has_axis = n.attrs.has("axis");
  const int64_t axis = n.attrs.get_int("axis", 0);
  n.attrs.erase("broadcast");
  n.attrs.erase("axis");
  if (!broadcast || !has_axis || n.inputs.size() != 2) return;
  const Shape a = imp.shape_of(n.inputs[0]), b = imp.shape_of(n.inputs[1]);
  const int64_t ra = static_cast<int64_t>(a.size()), rb = static_cast<int64_t>(b.size());
  const int64_t start = axis < 0 ? axis + ra : axis;
  if (start < 0 || start + rb > ra) fail(ErrorKind::bad_input, "attribute 'axis' ", axis, " does not place B in A");
  if (start + rb == ra) return;  // trailing alignment: numpy's
  if (!imp.is_constant(n.inputs[1]))
    fail(ErrorKind::bad_input, "legacy broadcasting at 'axis' ", axis, " needs B to be a constant");
  Tensor t = imp.constant_tensor(n.inputs[1]);
  Shape s = b;
  s.resize(static_cast<size_t>(ra - start), 1);
  n.inputs[1] = imp.add_constant(n.inputs[1] + ".aligned", t.reshape(s));
}

// Concat-1: 'axis' defaulted to 1.
void lower_concat(Importer&, OnnxNode& n) {
  if (n.since_version < 4 && !n.attrs.has("axis")) n.attrs.set("axis", int64_t{1});
}

// Reshape-1: the 'shape' attribute (opset 5 made it an input).
void lower_reshape(Importer& imp, OnnxNode& n) {
  if (n.since_version >= 5) return;
  n.attrs.erase("consumed_inputs");
  const std::vector<int64_t> shape = n.attrs.get_ints("shape", {});
  attr_to_input(imp, n, "shape", 1, [&] { return ints_1d(shape); });
}

// Pad-2: 'pads' and 'value' attributes (opset 11 made them inputs).
void lower_pad(Importer& imp, OnnxNode& n) {
  if (n.since_version >= 11) return;
  const std::vector<int64_t> pads = n.attrs.get_ints("pads", {});
  const float value = n.attrs.get_float("value", 0.f);
  if (!n.attrs.has("pads")) fail(ErrorKind::bad_input, "needs attribute 'pads'");
  attr_to_input(imp, n, "pads", 1, [&] { return ints_1d(pads); });
  if (n.attrs.has("value")) attr_to_input(imp, n, "value", 2, [&] { return scalar_f32(value); });
}

// Softmax-1/11 normalizes the input coerced to 2-D at 'axis' (default 1): over all dims from
// the axis on. Opset 13's Softmax normalizes over one axis, so unless the axis is the last
// one, the node becomes Flatten(axis) -> Softmax(axis = 1) -> Reshape back (dim 0 as -1).
void lower_softmax(Importer& imp, OnnxNode& n) {
  if (n.since_version >= 13) return;
  const Shape x = imp.shape_of(data_input(n));
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t axis = n.attrs.get_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank)
    fail(ErrorKind::bad_input, "attribute 'axis' ", n.attrs.get_int("axis", 1), " is out of range for rank ", rank);
  if (axis == rank - 1) {
    n.attrs.set("axis", int64_t{-1});
    return;
  }
  OnnxNode flat = n;
  flat.op_type = "Flatten";
  flat.name = n.name + "/flatten";
  flat.attrs = {};
  flat.attrs.set("axis", axis);
  flat.outputs = {imp.fresh_name(n.name + "/flattened")};
  imp.emit(flat);
  OnnxNode soft = n;
  soft.name = n.name + "/softmax";
  soft.attrs = {};
  soft.attrs.set("axis", int64_t{1});
  soft.inputs = {flat.outputs[0]};
  soft.outputs = {imp.fresh_name(n.name + "/softmax_2d")};
  imp.emit(soft);
  std::vector<int64_t> spec(x.begin(), x.end());
  spec[0] = -1;  // the batch: any
  n.op_type = "Reshape";
  n.attrs = {};
  n.inputs = {soft.outputs[0], imp.add_constant(n.name + ".shape", ints_1d(spec))};
}

// A Reshape spec giving `out` for an input whose dim 0 (the batch) lands at output position
// `batch_at` (-1: the batch dim was removed): there 0 (copy) or -1 (infer), elsewhere the sizes.
void to_reshape(Importer& imp, OnnxNode& n, const Shape& out, int64_t batch_at) {
  std::vector<int64_t> spec(out.begin(), out.end());
  if (batch_at == 0) spec[0] = 0;
  if (batch_at > 0) spec[batch_at] = -1;
  n.op_type = "Reshape";
  n.attrs = {};
  n.inputs = {data_input(n), imp.add_constant(n.name + ".shape", ints_1d(spec))};
}

std::vector<int64_t> axes_of(Importer& imp, const OnnxNode& n, bool* present) {
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    *present = true;
    const Folded& f = imp.constant(n.inputs[1]);
    if (f.is_real() || f.depends_on_batch()) fail(ErrorKind::bad_input, "axes must be constant integers");
    return f.ints;
  }
  *present = n.attrs.has("axes");
  return n.attrs.get_ints("axes", {});
}

// Squeeze/Unsqueeze of a value the model computes: a Reshape to the (static) result shape.
// Constants are left to folding.
void lower_squeeze(Importer& imp, OnnxNode& n) {
  if (n.inputs.empty() || imp.is_constant(n.inputs[0])) return;
  const Shape x = imp.shape_of(n.inputs[0]);
  bool present = false;
  const std::vector<int64_t> axes = axes_of(imp, n, &present);
  const int64_t rank = static_cast<int64_t>(x.size());
  std::set<int64_t> at;
  for (int64_t a : axes) {
    const int64_t d = a < 0 ? a + rank : a;
    if (d < 0 || d >= rank) fail(ErrorKind::bad_input, "axis ", a, " is out of range for rank ", rank);
    if (x[d] != 1) fail(ErrorKind::bad_input, "axis ", a, " has size ", x[d], ", not 1");
    at.insert(d);
  }
  Shape out;
  int64_t batch_at = -1;
  for (int64_t d = 0; d < rank; ++d) {
    if (present ? at.count(d) != 0 : x[d] == 1) continue;
    if (d == 0) batch_at = static_cast<int64_t>(out.size());
    out.push_back(x[d]);
  }
  to_reshape(imp, n, out, batch_at);
}

void lower_unsqueeze(Importer& imp, OnnxNode& n) {
  if (n.inputs.empty() || imp.is_constant(n.inputs[0])) return;
  const Shape x = imp.shape_of(n.inputs[0]);
  bool present = false;
  const std::vector<int64_t> axes = axes_of(imp, n, &present);
  if (!present) fail(ErrorKind::bad_input, "needs axes");
  const int64_t rank = static_cast<int64_t>(x.size() + axes.size());
  std::set<int64_t> at;
  for (int64_t a : axes) {
    const int64_t d = a < 0 ? a + rank : a;
    if (d < 0 || d >= rank || !at.insert(d).second)
      fail(ErrorKind::bad_input, "axis ", a, " is out of range for rank ", rank, " or repeated");
  }
  Shape out;
  int64_t batch_at = -1;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d) {
    if (at.count(d)) {
      out.push_back(1);
      continue;
    }
    if (next == 0) batch_at = d;
    out.push_back(x[next++]);
  }
  to_reshape(imp, n, out, batch_at);
}

std::string list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Emits a node of op `op` named `name` reading `inputs` (attributes `attrs`); returns its
// (fresh) output name.
std::string emit_op(Importer& imp, const OnnxNode& like, const std::string& op, const std::string& name,
                    const std::vector<std::string>& inputs, ir::Attributes attrs = {}) {
  OnnxNode n = like;
  n.op_type = op;
  n.name = name;
  n.attrs = std::move(attrs);
  n.inputs = inputs;
  n.outputs = {imp.fresh_name(name + "_out")};
  imp.emit(n);
  return n.outputs[0];
}

// A Reshape spec giving `shape`, with dim 0 as 0 (copy: the batch) when `batch` is true.
std::vector<int64_t> spec_of(const Shape& shape, bool batch) {
  std::vector<int64_t> spec(shape.begin(), shape.end());
  if (batch && !spec.empty()) spec[0] = 0;
  return spec;
}

// ReduceMean: GlobalAveragePool averages H and W of [N, C, H, W], so the reduced axes are moved
// last (Transpose, when needed), viewed as [N, K, R, 1] (Reshape; K the kept dims after the
// batch, R the reduced ones), pooled and reshaped to the result (keepdims or not). Over axes
// [2, 3] of a 4-D input (PyTorch's x.mean([2, 3])) it is GlobalAveragePool alone, followed
// by Flatten when keepdims = 0. When the batch dim is reduced the shapes are the declared ones.
void lower_reduce_mean(Importer& imp, OnnxNode& n) {
  const Shape x = imp.shape_of(data_input(n));
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<int64_t> axes = n.attrs.get_ints("axes", {});
  if (!n.attrs.has("axes"))
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  std::set<int64_t> reduced;
  for (int64_t a : axes) {
    const int64_t d = a < 0 ? a + rank : a;
    if (d < 0 || d >= rank || !reduced.insert(d).second)
      fail(ErrorKind::bad_input, "attribute 'axes' ", list(axes), " is out of range for rank ", rank, " or repeats");
  }
  const int64_t keepdims = n.attrs.get_int("keepdims", 1);
  if (keepdims != 0 && keepdims != 1) fail(ErrorKind::bad_input, "attribute 'keepdims' must be 0 or 1");
  if (rank == 4 && reduced == std::set<int64_t>{2, 3}) {
    n.op_type = "GlobalAveragePool";
    n.attrs = {};
    if (keepdims) return;
    const std::string pooled = emit_op(imp, n, "GlobalAveragePool", n.name, n.inputs);
    n.op_type = "Flatten";
    n.name = n.name + "/flatten";
    n.inputs = {pooled};
    n.attrs.set("axis", int64_t{1});
    return;
  }
  const bool batch = rank > 0 && !reduced.count(0);  // dim 0 kept: it stays the batch
  std::vector<int64_t> perm;
  Shape out;
  int64_t kept = 1, size = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced.count(d)) {
      if (keepdims) out.push_back(1);
      continue;
    }
    perm.push_back(d);
    out.push_back(x[d]);
    if (d > 0 || !batch) kept *= x[d];
  }
  for (int64_t d : reduced) {
    perm.push_back(d);
    size *= x[d];
  }
  std::string src = n.inputs[0];
  bool identity = true;
  for (int64_t d = 0; d < rank; ++d) identity = identity && perm[d] == d;
  if (!identity) {
    ir::Attributes t;
    t.set("perm", perm);
    src = emit_op(imp, n, "Transpose", n.name + "/transpose", {src}, t);
  }
  const Shape as_4d = {batch ? x[0] : 1, kept, size, 1};
  src = emit_op(imp, n, "Reshape", n.name + "/to_4d",
                {src, imp.add_constant(n.name + ".shape_4d", ints_1d(spec_of(as_4d, batch)))});
  src = emit_op(imp, n, "GlobalAveragePool", n.name + "/pool", {src});
  n.op_type = "Reshape";
  n.attrs = {};
  n.inputs = {src, imp.add_constant(n.name + ".shape", ints_1d(spec_of(out, batch)))};
}

// Slice of a value the model computes, with constant bounds and steps of 1: along each sliced
// axis a Split into [before, kept, after] (empty parts left out) whose middle output is kept
// (PyTorch exports x.chunk(2, dim=1) so). Other steps are not read. Constants are left to folding.
void lower_slice(Importer& imp, OnnxNode& n) {
  if (n.inputs.empty() || imp.is_constant(n.inputs[0])) return;
  const Shape x = imp.shape_of(n.inputs[0]);
  const int64_t rank = static_cast<int64_t>(x.size());
  auto ints = [&](size_t slot, const char* attr) {
    if (n.inputs.size() > 1) {
      if (slot >= n.inputs.size() || n.inputs[slot].empty()) return std::vector<int64_t>{};
      const Folded& f = imp.constant(n.inputs[slot]);
      if (f.is_real() || f.depends_on_batch()) fail(ErrorKind::bad_input, "Slice ", attr, " must be constant integers");
      return f.ints;
    }
    return n.attrs.get_ints(attr, {});
  };
  const std::vector<int64_t> starts = ints(1, "starts"), ends = ints(2, "ends");
  std::vector<int64_t> axes = ints(3, "axes"), steps = ints(4, "steps");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    fail(ErrorKind::bad_input, "Slice starts, ends, axes and steps must have the same length");
  struct Cut {
    int64_t axis, begin, end;
  };
  std::vector<Cut> cuts;
  std::set<int64_t> seen;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank || !seen.insert(a).second)
      fail(ErrorKind::bad_input, "Slice axis ", axes[i], " is out of range for rank ", rank, " or repeated");
    if (steps[i] != 1)
      fail(ErrorKind::bad_input, "Slice of a computed value is read with steps of 1 only (as a Split); step ", steps[i],
           " on axis ", axes[i]);
    const int64_t d = x[a];
    const int64_t b = std::clamp(starts[i] < 0 ? starts[i] + d : starts[i], int64_t{0}, d);
    const int64_t e = std::clamp(ends[i] < 0 ? ends[i] + d : ends[i], int64_t{0}, d);
    if (e <= b) fail(ErrorKind::bad_input, "Slice of axis ", axes[i], " is empty (leancnn has no zero-sized values)");
    if (b > 0 || e < d) cuts.push_back({a, b, e});
  }
  if (cuts.empty()) {  // the whole tensor: a Reshape to its own shape
    n.op_type = "Reshape";
    n.attrs = {};
    n.inputs = {n.inputs[0], imp.add_constant(n.name + ".shape", ints_1d(spec_of(x, true)))};
    return;
  }
  std::string src = n.inputs[0];
  for (size_t i = 0; i < cuts.size(); ++i) {
    const Cut& c = cuts[i];
    std::vector<int64_t> sizes;
    if (c.begin > 0) sizes.push_back(c.begin);
    const size_t kept = sizes.size();
    sizes.push_back(c.end - c.begin);
    if (c.end < x[c.axis]) sizes.push_back(x[c.axis] - c.end);
    OnnxNode split = n;
    split.op_type = "Split";
    split.name = cuts.size() == 1 ? n.name : str_cat(n.name, "/split_", i);
    split.attrs = {};
    split.attrs.set("axis", c.axis);
    split.inputs = {src, imp.add_constant(split.name + ".sizes", ints_1d(sizes))};
    split.outputs.clear();
    for (size_t k = 0; k < sizes.size(); ++k)
      split.outputs.push_back(k == kept && i + 1 == cuts.size() ? first_output(n)
                                                                 : imp.fresh_name(str_cat(split.name, "_part", k)));
    if (i + 1 == cuts.size()) {
      n = split;
      return;
    }
    imp.emit(split);
    src = split.outputs[kept];
  }
}

// Conv, MaxPool and AveragePool over a 3-D [N, C, L] input (1-D): the 2-D op over
// [N, C, 1, L], with the attributes widened by a leading 1 (pads: 0 on H), the Conv weights
// [M, C/g, K] as [M, C/g, 1, K], and the result reshaped back to [N, M, L'].
void lower_1d(Importer& imp, OnnxNode& n) {
  if (n.inputs.empty() || n.outputs.size() != 1) return;
  const Shape x = imp.shape_of(n.inputs[0]);
  if (x.size() != 3) return;
  for (const char* name : {"kernel_shape", "strides", "dilations"}) {
    if (!n.attrs.has(name)) continue;
    const std::vector<int64_t> v = n.attrs.get_ints(name, {});
    if (v.size() != 1) fail(ErrorKind::bad_input, "attribute '", name, "' must have 1 value for a 1-D input");
    n.attrs.set(name, std::vector<int64_t>{1, v[0]});
  }
  if (n.attrs.has("pads")) {
    const std::vector<int64_t> p = n.attrs.get_ints("pads", {});
    if (p.size() != 2) fail(ErrorKind::bad_input, "attribute 'pads' must have 2 values for a 1-D input");
    n.attrs.set("pads", std::vector<int64_t>{0, p[0], 0, p[1]});
  }
  const Shape as_2d = {x[0], x[1], 1, x[2]};
  n.inputs[0] = emit_op(imp, n, "Reshape", n.name + "/to_2d",
                        {n.inputs[0], imp.add_constant(n.name + ".shape_2d", ints_1d(spec_of(as_2d, true)))});
  if (n.op_type == "Conv" && n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const Shape w = imp.shape_of(n.inputs[1]);
    if (w.size() != 3) fail(ErrorKind::bad_input, "weights '", n.inputs[1], "' must be 3-D for a 1-D input");
    const Shape w2d = {w[0], w[1], 1, w[2]};
    if (imp.is_constant(n.inputs[1]))
      n.inputs[1] = imp.add_constant(n.inputs[1] + ".2d", imp.constant_tensor(n.inputs[1]).reshape(w2d));
    else
      n.inputs[1] = emit_op(imp, n, "Reshape", n.name + "/weights_2d",
                            {n.inputs[1], imp.add_constant(n.name + ".weights_shape", ints_1d(spec_of(w2d, false)))});
  }
  const std::string y = emit_op(imp, n, n.op_type, n.name, n.inputs, n.attrs);
  const Shape y4 = imp.shape_of(y);
  n.op_type = "Reshape";
  n.name = n.name + "/to_1d";
  n.attrs = {};
  n.inputs = {y, imp.add_constant(n.name + ".shape", ints_1d(spec_of({y4[0], y4[1], y4[3]}, true)))};
}

const std::map<std::string, Rule>& rules() {
  static const std::map<std::string, Rule> table = {
      {"Conv", {{1, 11}, lower_1d}},
      {"Gemm", {{6, 7, 9, 11, 13}, lower_gemm}},
      {"BatchNormalization", {{6, 7, 9, 14, 15}, lower_batch_norm}},
      {"Relu", {{6, 13, 14}}},
      {"Sigmoid", {{6, 13}}},
      {"HardSigmoid", {{6}}},
      {"HardSwish", {{14}}},
      {"Clip", {{6, 11, 12, 13}, lower_clip}},
      {"MaxPool", {{1, 8, 10, 11, 12}, lower_1d}},
      {"AveragePool", {{1, 7, 10, 11}, lower_1d}},
      {"GlobalAveragePool", {{1}}},
      {"Add", {{6, 7, 13, 14}, lower_legacy_broadcast}},
      {"Mul", {{6, 7, 13, 14}, lower_legacy_broadcast}},
      {"Concat", {{1, 4, 11, 13}, lower_concat}},
      {"Split", {{2, 11, 13}, lower_split}},
      {"Flatten", {{1, 9, 11, 13}}},
      {"Reshape", {{1, 5, 13, 14}, lower_reshape}},
      {"Transpose", {{1, 13}}},
      {"Dropout", {{6, 7, 10, 12, 13}, lower_dropout}},
      {"Softmax", {{1, 11, 13}, lower_softmax}},
      {"Pad", {{2, 11, 13}, lower_pad}},
      {"QuantizeLinear", {{10, 13}}},
      {"DequantizeLinear", {{10, 13}}},
      {"QLinearConv", {{10}}},
      {"QLinearMatMul", {{10}}},
      {"ReduceMean", {{1, 11, 13}, lower_reduce_mean}},
      {"Squeeze", {{1, 11, 13}, lower_squeeze}},
      {"Unsqueeze", {{1, 11, 13}, lower_unsqueeze}},
      // Evaluated at load time only (onnx_fold.cpp).
      {"Shape", {{1, 13, 15}}},
      {"Size", {{1, 13}}},
      {"Gather", {{1, 11, 13}}},
      {"Cast", {{6, 9, 13}}},
      {"Slice", {{1, 10, 11, 13}, lower_slice}},
      {"ConstantOfShape", {{9}}},
      {"Sub", {{7, 13, 14}}},
      {"Div", {{7, 13, 14}}},
      {"Equal", {{7, 11, 13}}},
      {"Where", {{9, 16}}},
      {"Range", {{11}}},
  };
  return table;
}

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return s;
}
}  // namespace

const std::vector<std::string>& rewritten_ops() {
  static const std::vector<std::string> ops = {"Constant", "Identity", "ReduceMean", "Squeeze", "Unsqueeze", "Slice"};
  return ops;
}

const std::vector<std::string>& load_time_ops() {
  static const std::vector<std::string> ops = {"Shape", "Size", "Gather", "Cast", "ConstantOfShape",
                                               "Sub", "Div", "Equal", "Where", "Range"};
  return ops;
}

void lower_node(Importer& imp, OnnxNode n) {
  if (n.domain.empty() && n.since_version > 0) {
    auto it = rules().find(n.op_type);
    if (it != rules().end()) {
      const Rule& r = it->second;
      if (std::find(r.versions.begin(), r.versions.end(), n.since_version) == r.versions.end())
        fail(ErrorKind::bad_input, n.op_type, " version ", n.since_version, " (the one in effect at opset ", n.opset,
             ") is not supported; leancnn reads ", n.op_type, " versions ", join(r.versions));
      if (r.lower) r.lower(imp, n);
    } else if (n.opset < 13) {
      // An op without a rule (added to the op table later) means what it means at opset 13.
      fail(ErrorKind::bad_input, n.op_type, " is read from opset 13 on only (this model is opset ", n.opset, ")");
    }
  }
  imp.emit(n);
}

}  // namespace leancnn::io::onnx_detail

namespace leancnn::io {
OnnxImportOps onnx_import_ops() { return {onnx_detail::rewritten_ops(), onnx_detail::load_time_ops()}; }
}  // namespace leancnn::io
