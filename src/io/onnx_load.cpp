// ONNX reader: file -> ModelProto -> ir::Graph, validating every field it reads so that a
// malformed, truncated or foreign file is an Error(bad_input) naming the file, never a crash.
// Nodes pass through the lowering rules (onnx_lower.cpp) and, when their inputs are known at
// load time, are folded (onnx_fold.cpp) instead of placed in the graph.
#include <onnx/defs/schema.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/io/gzip.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "onnx_import.h"

namespace leancnn::io {

namespace onnx_detail {

namespace {
constexpr int64_t kMaxDim = (int64_t{1} << 31) - 1;
constexpr int64_t kMaxNumel = int64_t{1} << 40;

std::string read_bytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(ErrorKind::bad_input, "'", path, "' is a folder, not an ONNX file");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::bad_input, "cannot open '", path, "': ", errno ? std::strerror(errno) : "unknown error");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(ErrorKind::bad_input, "cannot read '", path, "'");
  return ss.str();
}

// Every dim >= 0 and at most 2^40 elements (products checked without overflowing).
bool reasonable(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n) || n > kMaxNumel) return false;
  return true;
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// The message for an op the importer cannot read at all.
[[noreturn]] void fail_unsupported_op(const ir::OpTable& ops) {
  std::string list;
  for (const std::string& n : ops.names()) list += (list.empty() ? "" : ", ") + n;
  for (const std::string& n : rewritten_ops()) list += ", " + n;
  std::string shape_ops;
  for (const std::string& n : load_time_ops()) shape_ops += (shape_ops.empty() ? "" : ", ") + n;
  fail(ErrorKind::bad_input, "unsupported op; leancnn reads ", list, "; and, inside shape computations it folds at load "
       "time, ", shape_ops);
}
}  // namespace

std::string OnnxNode::label() const {
  return "node '" + name + "' (" + (domain.empty() ? "" : domain + "::") + op_type + ")";
}

ir::Graph Importer::run() {
  check_header();
  const onnx::GraphProto& gp = m_.graph();
  if (!gp.name().empty()) g_.name = gp.name();
  if (gp.sparse_initializer_size() > 0) fail(ErrorKind::bad_input, "sparse initializers are not supported");
  for (const onnx::TensorProto& t : gp.initializer()) {
    try {
      if (t.name().empty()) fail(ErrorKind::bad_input, "has no name");
      new_name(t.name());
      g_.add_initializer(t.name(), read_tensor(t), false);
    } catch (Error& e) {
      e.add_context(str_cat("initializer '", t.name(), "'"));
      throw;
    }
  }
  for (const onnx::ValueInfoProto& in : gp.input()) add_input(in);
  for (const auto& [name, value] : options_.constant_inputs)
    if (!consts_.count(name)) fail(ErrorKind::bad_input, "a value is given at load time for '", name, "', which is no graph input");
  for (const onnx::NodeProto& n : gp.node())
    for (const std::string& out : n.output()) produced_.insert(out);
  for (int i = 0; i < gp.node_size(); ++i) add_file_node(gp.node(i), i);
  for (const onnx::ValueInfoProto& out : gp.output()) add_output(out);
  if (g_.outputs().empty()) fail(ErrorKind::bad_input, "the graph has no outputs");
  fold_sparse_storage(g_, maybe_unused_);
  fold_pads(g_, maybe_unused_);
  g_ = drop_unused(std::move(g_), maybe_unused_);
  ir::infer_shapes(g_, ops_);
  ir::verify(g_, ops_);
  for (int i = 0; i < gp.output_size(); ++i) check_output(gp.output(i), g_.outputs()[i]);
  set_trainable();
  return std::move(g_);
}

void Importer::check_header() {
  if (m_.ir_version() <= 0)
    fail(ErrorKind::bad_input, "not an ONNX model: field 'ir_version' is missing or ", m_.ir_version());
  if (!m_.has_graph()) fail(ErrorKind::bad_input, "not an ONNX model: it has no graph");
  opset_ = -1;
  for (const onnx::OperatorSetIdProto& op : m_.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
  if (opset_ < 0) fail(ErrorKind::bad_input, "field 'opset_import' has no entry for the ai.onnx domain");
  if (opset_ < kOnnxMinReadOpset || opset_ > kOnnxMaxReadOpset)
    fail(ErrorKind::bad_input, "ai.onnx opset ", opset_, " is not supported; leancnn reads opsets ", kOnnxMinReadOpset,
         " to ", kOnnxMaxReadOpset);
  for (const onnx::OperatorSetIdProto& op : m_.opset_import())
    if (op.domain() == ir::kLeancnnDomain && op.version() != kLeancnnOpset)
      fail(ErrorKind::bad_input, "domain ai.leancnn version ", op.version(), " is not supported (only ", kLeancnnOpset, ")");
  if (m_.functions_size() > 0) fail(ErrorKind::bad_input, "model-local functions are not supported");
}

bool Importer::taken(const std::string& name) const {
  return g_.find_value(name) != ir::kNone || alias_.count(name) || consts_.count(name);
}

// Fails when a value named `name` exists already (ONNX names each value once).
void Importer::new_name(const std::string& name) const {
  if (taken(name)) fail(ErrorKind::bad_input, "the name '", name, "' is defined twice (ONNX graphs assign each name once)");
}

std::string Importer::fresh_name(const std::string& base) {
  std::string name = base;
  for (int i = 1; taken(name) || produced_.count(name); ++i) name = str_cat(base, "_", i);
  produced_.insert(name);  // reserved: later fresh names avoid it
  return name;
}

void Importer::add_input(const onnx::ValueInfoProto& in) {
  const ir::ValueId existing = g_.find_value(in.name());
  if (existing != ir::kNone && g_.value(existing).is_initializer()) return;  // an initializer with a default
  try {
    if (in.name().empty()) fail(ErrorKind::bad_input, "has no name");
    new_name(in.name());
    if (!in.type().has_tensor_type()) fail(ErrorKind::bad_input, "is not a tensor (field 'type')");
    const onnx::TypeProto_Tensor& tt = in.type().tensor_type();
    DType dtype;
    if (!dtype_from_onnx(tt.elem_type(), &dtype))
      fail(ErrorKind::bad_input, "field 'elem_type' is ", elem_type_name(tt.elem_type()),
           "; leancnn inputs are FLOAT, INT64, INT32, INT8 or UINT8");
    if (!tt.has_shape()) fail(ErrorKind::bad_input, "has no shape (leancnn needs the rank and all dims but the batch)");
    Shape shape;
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const onnx::TensorShapeProto_Dimension& d = tt.shape().dim(i);
      if (d.has_dim_value() && (d.dim_value() <= 0 || d.dim_value() > kMaxDim))
        fail(ErrorKind::bad_input, "dim ", i, " is ", d.dim_value(), ", not a positive size");
      if (d.has_dim_value()) {
        shape.push_back(d.dim_value());
      } else if (i == 0) {
        shape.push_back(1);  // symbolic or unknown batch: executors accept any batch
      } else {
        fail(ErrorKind::bad_input, "dim ", i, " is ", d.has_dim_param() ? "symbolic ('" + d.dim_param() + "')" : "unknown",
             "; leancnn needs static sizes for every dim but the batch (dim 0)");
      }
    }
    if (!reasonable(shape)) fail(ErrorKind::bad_input, "its shape ", shape_str(shape), " is too large");
    auto bound = options_.constant_inputs.find(in.name());
    if (bound != options_.constant_inputs.end()) {
      const Tensor& t = bound->second;
      bool ok = t.defined() && t.dtype() == dtype && t.rank() == static_cast<int>(shape.size());
      for (int i = 0; ok && i < tt.shape().dim_size(); ++i) ok = !tt.shape().dim(i).has_dim_value() || t.shape()[i] == shape[i];
      if (!ok)
        fail(ErrorKind::bad_input, "the value given at load time is ",
             t.defined() ? str_cat(dtype_name(t.dtype()), " ", shape_str(t.shape())) : std::string("undefined"),
             "; the input is declared ", dtype_name(dtype), " ", shape_str(shape));
      consts_[in.name()].tensor = t.is_contiguous() ? t : t.clone();
      return;
    }
    g_.add_input(in.name(), shape, dtype);
  } catch (Error& e) {
    e.add_context(str_cat("graph input '", in.name(), "'"));
    throw;
  }
}

// The name a node input or graph output refers to, through removed Identity nodes.
std::string Importer::resolve(const std::string& name) const {
  auto it = alias_.find(name);
  return it != alias_.end() ? it->second : name;
}

bool Importer::is_constant(const std::string& name) const {
  const std::string n = resolve(name);
  if (consts_.count(n)) return true;
  const ir::ValueId v = g_.find_value(n);
  return v != ir::kNone && g_.value(v).is_initializer();
}

const Folded& Importer::constant(const std::string& name) {
  const std::string n = resolve(name);
  auto c = consts_.find(n);
  if (c != consts_.end()) {
    if (!c->second.has_folded) {
      c->second.folded = folded_from_tensor(c->second.tensor);
      c->second.has_folded = true;
    }
    return c->second.folded;
  }
  const ir::ValueId v = g_.find_value(n);
  if (v == ir::kNone || !g_.value(v).is_initializer())
    fail(ErrorKind::bad_input, "'", name, "' must be known at load time (a constant), but the model computes it");
  auto f = init_folded_.find(n);
  if (f == init_folded_.end()) f = init_folded_.emplace(n, folded_from_tensor(g_.value(v).data)).first;
  maybe_unused_.insert(v);
  return f->second;
}

Tensor Importer::constant_tensor(const std::string& name) {
  const std::string n = resolve(name);
  auto c = consts_.find(n);
  if (c != consts_.end() && c->second.tensor.defined()) return c->second.tensor;
  const ir::ValueId v = g_.find_value(n);
  if (c == consts_.end() && v != ir::kNone && g_.value(v).is_initializer()) {
    maybe_unused_.insert(v);
    return g_.value(v).data;
  }
  return tensor_from_folded(constant(name));
}

bool Importer::constant_is_real(const std::string& name) const {
  const std::string n = resolve(name);
  auto c = consts_.find(n);
  if (c != consts_.end()) return c->second.has_folded ? c->second.folded.is_real() : c->second.tensor.dtype() == DType::f32;
  const ir::ValueId v = g_.find_value(n);
  return v != ir::kNone && g_.value(v).dtype == DType::f32;
}

Shape Importer::shape_of(const std::string& name) const {
  const std::string n = resolve(name);
  auto c = consts_.find(n);
  if (c != consts_.end()) return c->second.has_folded ? c->second.folded.shape : c->second.tensor.shape();
  const ir::ValueId v = g_.find_value(n);
  if (v == ir::kNone) {
    if (produced_.count(n))
      fail(ErrorKind::bad_input, "reads '", name, "' before the node that produces it (nodes must be in topological order)");
    fail(ErrorKind::bad_input, "reads '", name, "', which is no graph input, initializer or node output");
  }
  if (!g_.value(v).shape_known) fail(ErrorKind::internal, "value '", name, "' has no shape yet");
  return g_.value(v).shape;
}

std::string Importer::add_constant(const std::string& base, Tensor t) {
  const std::string name = fresh_name(base);
  consts_[name].tensor = std::move(t);
  return name;
}

void Importer::add_file_node(const onnx::NodeProto& p, int index) {
  OnnxNode n;
  n.op_type = p.op_type();
  n.domain = p.domain() == "ai.onnx" ? "" : p.domain();
  n.name = p.name().empty() ? str_cat(p.op_type(), "_", index) : p.name();
  n.opset = opset_;
  n.proto = &p;
  try {
    const bool core = n.domain.empty();
    const bool known = core ? (ops_.find("", n.op_type) || n.op_type == "Constant" || n.op_type == "Identity" ||
                               std::count(rewritten_ops().begin(), rewritten_ops().end(), n.op_type) ||
                               std::count(load_time_ops().begin(), load_time_ops().end(), n.op_type))
                            : ops_.find(n.domain, n.op_type) != nullptr;
    if (!known) fail_unsupported_op(ops_);
    if (core) {
      const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(opset_), "");
      n.since_version = schema ? schema->since_version() : 0;
    }
    for (const onnx::AttributeProto& a : p.attribute()) {
      if (a.name().empty()) fail(ErrorKind::bad_input, "an attribute has no name");
      if (n.attrs.has(a.name())) fail(ErrorKind::bad_input, "attribute '", a.name(), "' appears twice");
      // TENSOR attributes are read where they mean something (Constant, ConstantOfShape).
      if (core && (n.op_type == "Constant" || n.op_type == "ConstantOfShape") && a.name().rfind("value", 0) == 0) continue;
      n.attrs.set(a.name(), read_attribute(a));
    }
    for (const std::string& in : p.input()) n.inputs.push_back(in);
    for (const std::string& out : p.output()) n.outputs.push_back(out);
    while (!n.outputs.empty() && n.outputs.back().empty()) n.outputs.pop_back();  // trailing omitted outputs
    if (core && n.op_type == "Constant") return add_constant_node(n);
    if (core && n.op_type == "Identity") return add_identity(n);
    lower_node(*this, n);
  } catch (Error& e) {
    e.add_context(n.label());
    throw;
  }
}

void Importer::add_constant_node(const OnnxNode& n) {
  if (!n.inputs.empty() || n.outputs.size() != 1 || n.outputs[0].empty())
    fail(ErrorKind::bad_input, "a Constant takes no inputs and has one output");
  Tensor t = read_constant(*n.proto);
  new_name(n.outputs[0]);
  consts_[n.outputs[0]].tensor = std::move(t);
}

void Importer::add_identity(const OnnxNode& n) {
  if (n.inputs.size() != 1 || n.inputs[0].empty() || n.outputs.size() != 1 || n.outputs[0].empty())
    fail(ErrorKind::bad_input, "an Identity has one input and one output");
  shape_of(n.inputs[0]);  // the source must exist already
  new_name(n.outputs[0]);
  alias_[n.outputs[0]] = resolve(n.inputs[0]);
}

// A node folds when it is a shape-computation op and every input it reads is known at load
// time (Shape and Size need only their input's shape). Ops of leancnn's op table fold only on
// integer constants: float arithmetic on weights stays in the graph.
bool Importer::can_fold(const OnnxNode& n) {
  if (!n.domain.empty() || !is_foldable_op(n.op_type)) return false;
  if (n.op_type == "Shape" || n.op_type == "Size") return true;
  const bool in_table = ops_.find("", n.op_type) != nullptr;
  bool any = false;
  for (const std::string& in : n.inputs) {
    if (in.empty()) continue;
    if (!is_constant(in)) return false;
    any = true;
  }
  for (const std::string& in : n.inputs)
    if (in_table && !in.empty() && constant_is_real(in)) return false;
  return any || n.op_type == "ConstantOfShape";
}

void Importer::fold(const OnnxNode& n) {
  std::vector<Folded> out;
  if (n.op_type == "Shape" || n.op_type == "Size") {
    if (n.inputs.size() != 1 || n.inputs[0].empty()) fail(ErrorKind::bad_input, n.op_type, " takes one input");
    const Shape s = shape_of(n.inputs[0]);
    const bool runtime = !is_constant(n.inputs[0]);
    out.push_back(n.op_type == "Shape" ? fold_shape(s, runtime, n.attrs) : fold_size(s, runtime));
  } else {
    std::vector<const Folded*> in;
    for (const std::string& name : n.inputs) in.push_back(name.empty() ? nullptr : &constant(name));
    Folded value;
    if (n.op_type == "ConstantOfShape" && n.proto) {
      for (const onnx::AttributeProto& a : n.proto->attribute()) {
        if (a.name() != "value") continue;
        if (!a.has_t()) fail(ErrorKind::bad_input, "attribute 'value' must be a TENSOR");
        value = folded_from_tensor(read_tensor(a.t()));
        in.resize(1);
        in.push_back(&value);
      }
    }
    out = eval_folded(n.op_type, n.attrs, in, n.outputs.size());
  }
  for (size_t i = 0; i < out.size(); ++i) {
    folded_elems_ += out[i].numel();
    if (folded_elems_ > kMaxFoldedTotal)
      fail(ErrorKind::bad_input, "the shape computations folded at load time exceed ", kMaxFoldedTotal, " elements");
    if (i >= n.outputs.size() || n.outputs[i].empty()) continue;
    new_name(n.outputs[i]);
    ConstEntry& e = consts_[n.outputs[i]];
    e.folded = std::move(out[i]);
    e.has_folded = true;
  }
}

void Importer::emit(const OnnxNode& n) {
  if (can_fold(n)) return fold(n);
  if (n.domain.empty() && !ops_.find("", n.op_type)) {
    std::string runtime;
    for (const std::string& in : n.inputs)
      if (!in.empty() && !is_constant(in)) runtime = in;
    if (runtime.empty()) fail(ErrorKind::bad_input, "input 0 is missing");
    if (contains(load_time_ops(), n.op_type))
      fail(ErrorKind::bad_input, n.op_type, " is read only inside shape computations that leancnn folds at load time, "
           "and its input '", runtime, "' is computed by the model at run time");
    fail(ErrorKind::bad_input, n.op_type, " is read here only with inputs known at load time, and its input '", runtime,
         "' is computed by the model at run time");
  }
  add_graph_node(n);
}

void Importer::add_graph_node(const OnnxNode& n) {
  const ir::OpSchema* schema = ops_.find(n.domain, n.op_type);
  if (!schema) fail_unsupported_op(ops_);
  const int nin = static_cast<int>(n.inputs.size()), nout = static_cast<int>(n.outputs.size());
  if (nin < schema->min_inputs || nin > schema->max_inputs)
    fail(ErrorKind::bad_input, "has ", nin, " inputs; ", n.op_type, " takes ", schema->min_inputs,
         schema->min_inputs == schema->max_inputs ? "" : str_cat(" to ", schema->max_inputs));
  if (nout < schema->min_outputs || nout > std::max(schema->num_outputs, schema->min_outputs))
    fail(ErrorKind::bad_input, "has ", nout, " outputs; ", n.op_type, " produces ", schema->num_outputs);
  for (const auto& [name, value] : n.attrs.all())
    if (!contains(schema->attributes, name)) {
      std::string known;
      for (const std::string& a : schema->attributes) known += (known.empty() ? "" : ", ") + a;
      fail(ErrorKind::bad_input, "attribute '", name, "' is not supported; ", n.op_type, " reads: ",
           known.empty() ? "none" : known);
    }
  std::vector<ir::ValueId> inputs;
  for (size_t i = 0; i < n.inputs.size(); ++i)
    inputs.push_back(n.inputs[i].empty() ? ir::kNone : node_input(n.inputs[i], n, i));
  std::vector<ir::ValueId> outputs;
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    const std::string& out = n.outputs[i];
    if (out.empty()) {
      outputs.push_back(g_.add_value(fresh_name(str_cat(n.name, ".unused_output_", i))));
      continue;
    }
    new_name(out);
    outputs.push_back(g_.add_value(out));
  }
  const ir::NodeId id = g_.add_node(n.op_type, inputs, outputs, n.attrs, n.name, n.domain);
  // Inferred now (not by ir::infer_node, which would name the node a second time in errors).
  std::vector<const ir::Value*> in_values;
  for (ir::ValueId v : inputs) in_values.push_back(v == ir::kNone ? nullptr : &g_.value(v));
  const std::vector<ir::TensorType> types = schema->infer(g_.node(id), in_values);
  for (size_t i = 0; i < outputs.size() && i < types.size(); ++i) {
    // A shape no run could allocate stops here, before later ops compute with its sizes.
    if (!reasonable(types[i].shape))
      fail(ErrorKind::bad_input, "output '", g_.value(outputs[i]).name, "' would have shape ", shape_str(types[i].shape),
           ", more than 2^40 elements");
    ir::Value& v = g_.value(outputs[i]);
    v.shape = types[i].shape;
    v.dtype = types[i].dtype;
    v.shape_known = true;
  }
}

ir::ValueId Importer::node_input(const std::string& name, const OnnxNode& reader, size_t slot) {
  const std::string n = resolve(name);
  if (consts_.count(n)) return materialize(n, &reader, slot);
  const ir::ValueId v = g_.find_value(n);
  if (v != ir::kNone) return v;
  shape_of(name);  // throws the message for an unknown or not yet produced name
  fail(ErrorKind::internal, "value '", name, "' not found");
}

// Places a load-time value in the graph as an initializer (once per name). A value that
// depends on the batch size may only be a Reshape's shape (see reshape_spec_for_any_batch).
ir::ValueId Importer::materialize(const std::string& name, const OnnxNode* reader, size_t slot) {
  const ConstEntry& e = consts_.at(name);
  const bool batch = e.has_folded && e.folded.depends_on_batch();
  const bool reshape_shape = batch && reader && reader->domain.empty() && reader->op_type == "Reshape" && slot == 1;
  const std::string key = reshape_shape ? name + "\n" + std::to_string(reader->attrs.get_int("allowzero", 0)) : name;
  auto it = materialized_.find(key);
  if (it != materialized_.end()) return it->second;
  Tensor t;
  if (reshape_shape) {
    t = reshape_spec_for_any_batch(name, e.folded, *reader);
  } else if (batch) {
    fail(ErrorKind::bad_input, "reads '", name, "', which leancnn computes at load time from the batch size; such a "
         "value may only be the shape input of a Reshape (where it becomes 0 or -1), so this model would only run at "
         "the declared batch size");
  } else {
    t = e.tensor.defined() ? e.tensor : tensor_from_folded(e.folded);
  }
  const std::string graph_name = g_.find_value(name) == ir::kNone ? name : fresh_name(name);
  const ir::ValueId id = g_.add_initializer(graph_name, std::move(t), false);
  materialized_[key] = id;
  return id;
}

// The batch rule. A folded Reshape shape whose element i is the batch size B becomes 0 at
// i = 0 (copy the input's dim 0, which is the batch) and -1 elsewhere (or with allowzero);
// an element computed from B (B * C, ...) becomes -1. At most one -1 may result, and the
// rewritten shape must give the folded shape at the declared batch; otherwise the Reshape
// cannot run at any batch and this is an error.
Tensor Importer::reshape_spec_for_any_batch(const std::string& name, const Folded& f, const OnnxNode& reshape) {
  if (f.is_real() || f.shape.size() != 1)
    fail(ErrorKind::bad_input, "Reshape shape '", name, "' must be a 1-D integer tensor");
  const bool allowzero = reshape.attrs.get_int("allowzero", 0) != 0;
  std::vector<int64_t> spec = f.ints;
  int minus_ones = 0;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (f.tags[i] == Tag::batch && i == 0 && !allowzero)
      spec[i] = 0;
    else if (f.tags[i] != Tag::fixed)
      spec[i] = -1;
    minus_ones += spec[i] == -1;
  }
  auto apply = [&](const std::vector<int64_t>& s, const Shape& x) {
    Shape out(s.size());
    int64_t known = 1, at = -1;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == -1) {
        at = static_cast<int64_t>(i);
        continue;
      }
      out[i] = s[i] == 0 && !allowzero && i < x.size() ? x[i] : s[i];
      if (out[i] < 0 || __builtin_mul_overflow(known, out[i], &known)) return Shape{-1};
    }
    if (at >= 0) out[at] = known ? shape_numel(x) / known : 0;
    return out;
  };
  const Shape data = shape_of(reshape.inputs[0]);
  const Shape rewritten = apply(spec, data), folded = apply(f.ints, data);
  if (minus_ones > 1 || rewritten != folded || folded == Shape{-1})
    fail(ErrorKind::bad_input, "its shape '", name, "' is computed at load time as ", shape_str(Shape(f.ints.begin(), f.ints.end())),
         ", which depends on the batch size in a way a constant Reshape shape cannot express (leancnn writes the batch "
         "as 0 in dim 0 and as -1 elsewhere, and allows one -1)");
  return Tensor::from_ints({static_cast<int64_t>(spec.size())}, spec, DType::s64);
}

void Importer::add_output(const onnx::ValueInfoProto& out) {
  const std::string src = resolve(out.name());
  ir::ValueId v = ir::kNone;
  if (consts_.count(src)) {
    try {
      v = materialize(src, nullptr, 0);
    } catch (Error& e) {
      e.add_context(str_cat("graph output '", out.name(), "'"));
      throw;
    }
  } else {
    v = g_.find_value(src);
  }
  if (v == ir::kNone) fail(ErrorKind::bad_input, "graph output '", out.name(), "' is never produced");
  // An Identity removed in front of an output: give the value the output's name when it is
  // only an intermediate (keeps the names callers read outputs by).
  const ir::Value& val = g_.value(v);
  if (val.name != out.name() && (val.producer != ir::kNone || consts_.count(src)) &&
      !ir::is_graph_output(g_, v) && g_.find_value(out.name()) == ir::kNone)
    g_.rename_value(v, out.name());
  g_.mark_output(v);
}

// A declared output type must agree with inference (dim 0, the batch, is not compared).
void Importer::check_output(const onnx::ValueInfoProto& out, ir::ValueId id) const {
  if (!out.type().has_tensor_type()) return;
  const onnx::TypeProto_Tensor& tt = out.type().tensor_type();
  const ir::Value& v = g_.value(id);
  const std::string where = str_cat("graph output '", out.name(), "' ");
  // ONNX's BOOL outputs (Dropout's mask) are leancnn's u8.
  const bool bool_as_u8 = tt.elem_type() == onnx::TensorProto::BOOL && v.dtype == DType::u8;
  if (tt.elem_type() != onnx::TensorProto::UNDEFINED && tt.elem_type() != onnx_elem_type(v.dtype) && !bool_as_u8)
    fail(ErrorKind::bad_input, where, "is declared ", elem_type_name(tt.elem_type()), " but computes ", dtype_name(v.dtype));
  if (!tt.has_shape()) return;
  if (tt.shape().dim_size() != static_cast<int>(v.shape.size()))
    fail(ErrorKind::bad_input, where, "is declared with rank ", tt.shape().dim_size(), " but computes ", shape_str(v.shape));
  for (int i = 1; i < tt.shape().dim_size(); ++i)
    if (tt.shape().dim(i).has_dim_value() && tt.shape().dim(i).dim_value() != v.shape[i])
      fail(ErrorKind::bad_input, where, "declares dim ", i, " = ", tt.shape().dim(i).dim_value(), " but computes ",
           shape_str(v.shape));
}

// The trainable flags: the list leancnn wrote in metadata_props when present, else the rule
// (a float initializer read in a trainable_inputs slot of its consumer's schema).
void Importer::set_trainable() {
  for (const onnx::StringStringEntryProto& p : m_.metadata_props()) {
    if (p.key() != kTrainableKey) continue;
    std::istringstream lines(p.value());
    std::string name;
    while (std::getline(lines, name)) {
      const ir::ValueId v = g_.find_value(name);
      if (v == ir::kNone) continue;  // a tool may have folded it away
      ir::Value& val = g_.value(v);
      if (!val.is_initializer() || val.dtype != DType::f32)
        fail(ErrorKind::bad_input, "metadata '", kTrainableKey, "' lists '", name, "', which is not a float initializer");
      val.trainable = true;
    }
    return;
  }
  for (ir::NodeId id : g_.node_ids()) {
    const ir::Node& n = g_.node(id);
    const ir::OpSchema& s = ops_.get(n);
    for (int slot : s.trainable_inputs) {
      if (slot >= static_cast<int>(n.inputs.size()) || n.inputs[slot] == ir::kNone) continue;
      ir::Value& v = g_.value(n.inputs[slot]);
      if (v.is_initializer() && v.dtype == DType::f32) v.trainable = true;
    }
  }
}

}  // namespace onnx_detail

ir::Graph load_onnx_bytes(const std::string& bytes, const ir::OpTable& ops, const OnnxLoadOptions& options) {
  if (bytes.empty()) fail(ErrorKind::bad_input, "the file is empty");
  if (is_gzip(bytes)) return load_onnx_bytes(gunzip(bytes, static_cast<uint64_t>(INT_MAX)), ops, options);
  if (bytes.size() > static_cast<size_t>(INT_MAX)) fail(ErrorKind::bad_input, "the file is over 2 GiB");
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    fail(ErrorKind::bad_input, "not a valid ONNX model (the protobuf does not parse: truncated, corrupt or another format)");
  return onnx_detail::Importer(model, ops, options).run();
}

ir::Graph load_onnx(const std::string& path, const ir::OpTable& ops, const OnnxLoadOptions& options) {
  const std::string bytes = onnx_detail::read_bytes(path);
  try {
    return load_onnx_bytes(bytes, ops, options);
  } catch (Error& e) {
    e.add_context(str_cat("file '", path, "'"));
    throw;
  }
}

}  // namespace leancnn::io
