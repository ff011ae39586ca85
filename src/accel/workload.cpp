// Workload extraction: Conv/Gemm nodes → loop-nest problems (ONNX attribute semantics parsed
// here, independently of the ops layer: accel depends on the IR only).
#include "leancnn/accel/workload.h"

#include <algorithm>
#include <sstream>

#include "index_set.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/storage.h"

namespace leancnn::accel {

char dim_letter(Dim d) { return "NGMCPQRS"[static_cast<int>(d)]; }

bool dim_from_letter(char c, Dim& out) {
  static const char* letters = "NGMCPQRS";
  if (c == 'K') c = 'M';
  for (int i = 0; i < kNumDims; ++i)
    if (letters[i] == c) {
      out = static_cast<Dim>(i);
      return true;
    }
  return false;
}

const char* operand_name(Operand t) {
  switch (t) {
    case Operand::weights: return "weights";
    case Operand::inputs: return "inputs";
    case Operand::outputs: return "outputs";
  }
  return "?";
}

bool relevant(Operand t, Dim d) {
  switch (t) {
    case Operand::weights: return d == Dim::G || d == Dim::M || d == Dim::C || d == Dim::R || d == Dim::S;
    case Operand::inputs: return d != Dim::M;
    case Operand::outputs: return d == Dim::N || d == Dim::G || d == Dim::M || d == Dim::P || d == Dim::Q;
  }
  return false;
}

int64_t Problem::macs() const {
  int64_t m = 1;
  for (int64_t d : dims) m *= d;
  return m;
}

int64_t Problem::size(Operand t) const {
  const int64_t n = dim(Dim::N), g = dim(Dim::G), m = dim(Dim::M), c = dim(Dim::C);
  switch (t) {
    case Operand::weights: return g * m * c * dim(Dim::R) * dim(Dim::S);
    case Operand::outputs: return n * g * m * dim(Dim::P) * dim(Dim::Q);
    case Operand::inputs:
      return n * g * c * detail::sliding_count(dim(Dim::P), stride_h, dim(Dim::R), dil_h) *
             detail::sliding_count(dim(Dim::Q), stride_w, dim(Dim::S), dil_w);
  }
  return 0;
}

double Problem::density(Operand t) const {
  if (t == Operand::weights) return weight_density;
  if (t == Operand::inputs) return input_density;
  return 1.0;
}

std::string Problem::shape_string() const {
  std::ostringstream os;
  bool first = true;
  for (Dim d : kAllDims)
    if (dim(d) != 1) {
      os << (first ? "" : " ") << dim_letter(d) << dim(d);
      first = false;
    }
  if (first) os << "1";
  if (stride_h != 1 || stride_w != 1) {
    os << " /" << stride_h;
    if (stride_w != stride_h) os << "x" << stride_w;
  }
  return os.str();
}

void Problem::validate() const {
  for (Dim d : kAllDims)
    if (dim(d) < 1) fail(ErrorKind::bad_input, "problem '", name, "': dimension ", dim_letter(d), " = ", dim(d), " must be >= 1");
  if (stride_h < 1 || stride_w < 1 || dil_h < 1 || dil_w < 1)
    fail(ErrorKind::bad_input, "problem '", name, "': strides and dilations must be >= 1");
  for (Operand t : kAllOperands)
    if (bits[static_cast<int>(t)] < 1 || bits[static_cast<int>(t)] > 64)
      fail(ErrorKind::bad_input, "problem '", name, "': ", operand_name(t), " bits ", bits[static_cast<int>(t)],
           " must be in [1, 64]");
  if (!(weight_density > 0 && weight_density <= 1))
    fail(ErrorKind::bad_input, "problem '", name, "': weight density ", weight_density, " must be in (0, 1]");
  if (!(input_density > 0 && input_density <= 1))
    fail(ErrorKind::bad_input, "problem '", name, "': input density ", input_density, " must be in (0, 1]");
}

namespace {

// Bits the accelerator models for data of `bits` bits: 32-bit (f32) data runs at `fallback`.
int modelled_bits(int bits, int fallback) { return bits >= 32 ? fallback : bits; }

// Fraction of non-zero elements of what is stored behind a weight (1 when nothing is).
double weight_density(const ir::Graph& g, const ir::StoredTensor& w) {
  if (!w.defined() || w.count <= 0) return 1.0;
  // A fully pruned tensor still needs a positive density for the model; one element.
  return std::max<double>(static_cast<double>(ir::stored_nonzero(g, w)), 1.0) / static_cast<double>(w.count);
}

const Shape& known_shape(const ir::Graph& g, ir::ValueId v, const ir::Node& node, const char* what) {
  if (v == ir::kNone || !g.valid_value(v))
    fail(ErrorKind::bad_input, "node ", node.label(), ": missing ", what);
  const ir::Value& val = g.value(v);
  if (!val.shape_known) fail(ErrorKind::bad_input, "node ", node.label(), ": ", what, " '", val.name, "' has no inferred shape");
  return val.shape;
}

std::vector<int64_t> pair_attr(const ir::Node& node, const char* name, int64_t def) {
  std::vector<int64_t> v = node.attrs.get_ints(name, {def, def});
  if (v.size() != 2) fail(ErrorKind::bad_input, "node ", node.label(), ": attribute '", name, "' must have 2 values");
  return v;
}

Problem conv_problem(const ir::Graph& g, const ir::Node& node, size_t x_index, size_t w_index) {
  if (node.inputs.size() <= w_index) fail(ErrorKind::bad_input, "node ", node.label(), ": needs input and weights");
  const Shape& x = known_shape(g, node.inputs[x_index], node, "input");
  const Shape& w = known_shape(g, node.inputs[w_index], node, "weights");
  const Shape& y = known_shape(g, node.outputs.at(0), node, "output");
  if (x.size() != 4 || w.size() != 4 || y.size() != 4)
    fail(ErrorKind::bad_input, "node ", node.label(), ": only 2-D convolutions (NCHW, OIHW) are modelled, got input ",
         shape_str(x), " and weights ", shape_str(w));
  Problem p;
  p.op = node.op_type;
  const int64_t groups = node.attrs.get_int("group", 1);
  if (groups < 1 || x[1] % groups || w[0] % groups)
    fail(ErrorKind::bad_input, "node ", node.label(), ": group ", groups, " must divide the channels");
  p.dim(Dim::N) = x[0];
  p.dim(Dim::G) = groups;
  p.dim(Dim::M) = w[0] / groups;
  p.dim(Dim::C) = w[1];
  p.dim(Dim::P) = y[2];
  p.dim(Dim::Q) = y[3];
  p.dim(Dim::R) = w[2];
  p.dim(Dim::S) = w[3];
  const auto st = pair_attr(node, "strides", 1);
  const auto dl = pair_attr(node, "dilations", 1);
  p.stride_h = st[0];
  p.stride_w = st[1];
  p.dil_h = dl[0];
  p.dil_w = dl[1];
  const auto pads = node.attrs.get_ints("pads", {0, 0, 0, 0});
  if (pads.size() == 4) {
    p.pad_t = pads[0];
    p.pad_l = pads[1];
    p.pad_b = pads[2];
    p.pad_r = pads[3];
  }
  return p;
}

Problem gemm_problem(const ir::Graph& g, const ir::Node& node, bool matmul) {
  if (node.inputs.size() < 2) fail(ErrorKind::bad_input, "node ", node.label(), ": needs A and B");
  const Shape& a = known_shape(g, node.inputs[0], node, "input A");
  const Shape& b = known_shape(g, node.inputs[1], node, "input B");
  if (a.size() != 2 || b.size() != 2)
    fail(ErrorKind::bad_input, "node ", node.label(), ": only 2-D matrix products are modelled, got ", shape_str(a),
         " x ", shape_str(b));
  const bool ta = !matmul && node.attrs.get_int("transA", 0) != 0;
  const bool tb = !matmul && node.attrs.get_int("transB", 0) != 0;
  Problem p;
  p.op = node.op_type;
  p.dim(Dim::N) = ta ? a[1] : a[0];  // rows of A: the batch
  p.dim(Dim::C) = ta ? a[0] : a[1];  // the reduction
  p.dim(Dim::M) = tb ? b[0] : b[1];  // output features
  return p;
}

}  // namespace

std::vector<Problem> extract_workload(const ir::Graph& g, const ir::OpTable& ops, const WorkloadOptions& opts) {
  std::vector<Problem> out;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& node = g.node(id);
    Problem p;
    size_t w_index = 1;
    bool int_op = false;
    try {
      if (node.op_type == "Conv" && node.domain.empty()) {
        p = conv_problem(g, node, 0, 1);
      } else if (node.op_type == "ConvInteger" && node.domain.empty()) {
        p = conv_problem(g, node, 0, 1);
        int_op = true;
      } else if (node.op_type == "QLinearConv" && node.domain.empty()) {
        p = conv_problem(g, node, 0, 3);  // x, x_scale, x_zero_point, w, ...
        w_index = 3;
        int_op = true;
      } else if (node.op_type == "Gemm" && node.domain.empty()) {
        p = gemm_problem(g, node, false);
      } else if (node.op_type == "MatMul" && node.domain.empty()) {
        if (!g.value(node.inputs.at(1)).is_initializer()) continue;  // activation × activation: not a layer
        p = gemm_problem(g, node, true);
      } else {
        continue;
      }
    } catch (Error& e) {
      e.add_context(str_cat("workload of node ", node.label()));
      throw;
    }
    p.name = node.name.empty() ? str_cat(node.op_type, "_", id) : node.name;
    const ir::StoredTensor w = ir::stored_tensor(g, ops, node.inputs[w_index]);
    const int model_w_bits = modelled_bits(w.defined() ? w.bits : 32, opts.default_bits);
    // Integer ops (QLinearConv, ConvInteger) read their activations as they are: 8 bits.
    const int x_bits = ir::value_bits(g, ops, node.inputs[0]);
    const int model_x_bits = int_op ? modelled_bits(x_bits, 8) : modelled_bits(x_bits, opts.default_bits);
    const int wb = opts.weight_bits > 0 ? opts.weight_bits : model_w_bits;
    const int xb = opts.input_bits > 0 ? opts.input_bits : model_x_bits;
    // Outputs are re-quantized to the activation precision before they leave the array.
    p.bits = {wb, xb, xb};
    p.weight_density = weight_density(g, w);
    auto it = opts.activation_density.find(p.name);
    if (it != opts.activation_density.end()) p.input_density = it->second;
    p.validate();
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace leancnn::accel
