// ONNX reader: file -> ModelProto -> ir::Graph, validating every field it reads so that a
// malformed, truncated or foreign file is an Error(bad_input) naming the file, never a crash.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/passes.h"
#include "onnx_common.h"

namespace leancnn::io {

namespace {
using namespace onnx_detail;

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

Shape read_dims(const google::protobuf::RepeatedField<int64_t>& dims) {
  Shape shape;
  int64_t numel = 1;
  for (int64_t d : dims) {
    if (d < 0 || d > kMaxDim) fail(ErrorKind::bad_input, "field 'dims' holds ", d, ", not a dimension");
    shape.push_back(d);
    numel *= std::max<int64_t>(d, 1);
    if (numel > kMaxNumel) fail(ErrorKind::bad_input, "field 'dims' declares more than 2^40 elements");
  }
  return shape;
}

// A TensorProto (initializer or Constant value) as a Tensor. Errors name the field at fault.
Tensor read_tensor(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0)
    fail(ErrorKind::bad_input, "its data is stored outside the file (external data), which leancnn does not read");
  if (t.has_segment()) fail(ErrorKind::bad_input, "field 'segment' (a split tensor) is not supported");
  DType dtype;
  if (!dtype_from_onnx(t.data_type(), &dtype))
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
      const int hi = dtype == DType::s8 ? 127 : 255;
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

class Importer {
 public:
  Importer(const onnx::ModelProto& m, const ir::OpTable& ops) : m_(m), ops_(ops) {}

  ir::Graph run() {
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
    for (const onnx::NodeProto& n : gp.node())
      for (const std::string& out : n.output()) produced_.insert(out);
    for (int i = 0; i < gp.node_size(); ++i) add_node(gp.node(i), i);
    for (const onnx::ValueInfoProto& out : gp.output()) add_output(out);
    if (g_.outputs().empty()) fail(ErrorKind::bad_input, "the graph has no outputs");
    ir::infer_shapes(g_, ops_);
    ir::verify(g_, ops_);
    for (int i = 0; i < gp.output_size(); ++i) check_output(gp.output(i), g_.outputs()[i]);
    set_trainable();
    return std::move(g_);
  }

 private:
  void check_header() {
    if (m_.ir_version() <= 0)
      fail(ErrorKind::bad_input, "not an ONNX model: field 'ir_version' is missing or ", m_.ir_version());
    if (!m_.has_graph()) fail(ErrorKind::bad_input, "not an ONNX model: it has no graph");
    int64_t opset = -1;
    for (const onnx::OperatorSetIdProto& op : m_.opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
    if (opset < 0) fail(ErrorKind::bad_input, "field 'opset_import' has no entry for the ai.onnx domain");
    if (opset < kOnnxMinReadOpset || opset > kOnnxMaxReadOpset)
      fail(ErrorKind::bad_input, "ai.onnx opset ", opset, " is not supported; leancnn reads opsets ", kOnnxMinReadOpset,
           " to ", kOnnxMaxReadOpset);
    for (const onnx::OperatorSetIdProto& op : m_.opset_import())
      if (op.domain() == ir::kLeancnnDomain && op.version() != kLeancnnOpset)
        fail(ErrorKind::bad_input, "domain ai.leancnn version ", op.version(), " is not supported (only ", kLeancnnOpset, ")");
    if (m_.functions_size() > 0) fail(ErrorKind::bad_input, "model-local functions are not supported");
  }

  // Fails when a value named `name` exists already (ONNX names each value once).
  void new_name(const std::string& name) {
    if (g_.find_value(name) != ir::kNone || alias_.count(name))
      fail(ErrorKind::bad_input, "the name '", name, "' is defined twice (ONNX graphs assign each name once)");
  }

  void add_input(const onnx::ValueInfoProto& in) {
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
      if (shape_numel(shape) > kMaxNumel) fail(ErrorKind::bad_input, "its shape ", shape_str(shape), " is too large");
      g_.add_input(in.name(), shape, dtype);
    } catch (Error& e) {
      e.add_context(str_cat("graph input '", in.name(), "'"));
      throw;
    }
  }

  // The value a node input or graph output names, through removed Identity nodes; kNone when none.
  ir::ValueId resolve(const std::string& name) const {
    auto it = alias_.find(name);
    return it != alias_.end() ? it->second : g_.find_value(name);
  }

  ir::ValueId node_input(const std::string& name) const {
    const ir::ValueId v = resolve(name);
    if (v != ir::kNone) return v;
    if (produced_.count(name))
      fail(ErrorKind::bad_input, "reads '", name, "' before the node that produces it (nodes must be in topological order)");
    fail(ErrorKind::bad_input, "reads '", name, "', which is no graph input, initializer or node output");
  }

  void add_node(const onnx::NodeProto& n, int index) {
    ir::Node probe;  // for messages before the node exists
    probe.op_type = n.op_type();
    probe.domain = n.domain() == "ai.onnx" ? "" : n.domain();
    probe.name = n.name().empty() ? str_cat(n.op_type(), "_", index) : n.name();
    const bool core = probe.domain.empty();
    if (core && n.op_type() == "Constant") return add_constant(n, probe);
    if (core && n.op_type() == "Identity") return add_identity(n, probe);
    ops_.get(probe);  // throws naming the node and the supported ops
    try {
      ir::Attributes attrs;
      for (const onnx::AttributeProto& a : n.attribute()) {
        if (a.name().empty()) fail(ErrorKind::bad_input, "an attribute has no name");
        if (attrs.has(a.name())) fail(ErrorKind::bad_input, "attribute '", a.name(), "' appears twice");
        attrs.set(a.name(), read_attribute(a));
      }
      std::vector<ir::ValueId> inputs;
      for (const std::string& in : n.input()) inputs.push_back(in.empty() ? ir::kNone : node_input(in));
      int count = n.output_size();
      while (count > 0 && n.output(count - 1).empty()) --count;  // trailing omitted optional outputs
      std::vector<ir::ValueId> outputs;
      for (int i = 0; i < count; ++i) {
        const std::string& out = n.output(i);
        if (out.empty()) {
          outputs.push_back(g_.add_value(g_.unique_value_name(str_cat(probe.name, ".unused_output_", i))));
          continue;
        }
        new_name(out);
        outputs.push_back(g_.add_value(out));
      }
      g_.add_node(n.op_type(), inputs, outputs, std::move(attrs), probe.name, probe.domain);
    } catch (Error& e) {
      e.add_context(probe.label());
      throw;
    }
  }

  void add_constant(const onnx::NodeProto& n, const ir::Node& probe) {
    try {
      if (n.input_size() != 0 || n.output_size() != 1 || n.output(0).empty())
        fail(ErrorKind::bad_input, "a Constant takes no inputs and has one output");
      Tensor t = read_constant(n);
      new_name(n.output(0));
      g_.add_initializer(n.output(0), std::move(t), false);
    } catch (Error& e) {
      e.add_context(probe.label());
      throw;
    }
  }

  void add_identity(const onnx::NodeProto& n, const ir::Node& probe) {
    try {
      if (n.input_size() != 1 || n.input(0).empty() || n.output_size() != 1 || n.output(0).empty())
        fail(ErrorKind::bad_input, "an Identity has one input and one output");
      const ir::ValueId src = node_input(n.input(0));
      new_name(n.output(0));
      alias_[n.output(0)] = src;
    } catch (Error& e) {
      e.add_context(probe.label());
      throw;
    }
  }

  void add_output(const onnx::ValueInfoProto& out) {
    const ir::ValueId v = resolve(out.name());
    if (v == ir::kNone) fail(ErrorKind::bad_input, "graph output '", out.name(), "' is never produced");
    // An Identity removed in front of an output: give the value the output's name when it is
    // only an intermediate (keeps the names callers read outputs by).
    const ir::Value& val = g_.value(v);
    if (val.name != out.name() && val.producer != ir::kNone &&
        std::find(g_.outputs().begin(), g_.outputs().end(), v) == g_.outputs().end())
      g_.rename_value(v, out.name());
    g_.mark_output(v);
  }

  // A declared output type must agree with inference (dim 0, the batch, is not compared).
  void check_output(const onnx::ValueInfoProto& out, ir::ValueId id) const {
    if (!out.type().has_tensor_type()) return;
    const onnx::TypeProto_Tensor& tt = out.type().tensor_type();
    const ir::Value& v = g_.value(id);
    const std::string where = str_cat("graph output '", out.name(), "' ");
    if (tt.elem_type() != onnx::TensorProto::UNDEFINED && tt.elem_type() != onnx_elem_type(v.dtype))
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
  void set_trainable() {
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

  const onnx::ModelProto& m_;
  const ir::OpTable& ops_;
  ir::Graph g_;
  std::unordered_map<std::string, ir::ValueId> alias_;  // Identity outputs -> their source
  std::set<std::string> produced_;                      // every node output name in the file
};
}  // namespace

ir::Graph load_onnx(const std::string& path, const ir::OpTable& ops) {
  const std::string bytes = read_bytes(path);
  try {
    if (bytes.empty()) fail(ErrorKind::bad_input, "the file is empty");
    if (bytes.size() > static_cast<size_t>(INT_MAX)) fail(ErrorKind::bad_input, "the file is over 2 GiB");
    onnx::ModelProto model;
    if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      fail(ErrorKind::bad_input, "not a valid ONNX model (the protobuf does not parse: truncated, corrupt or another format)");
    return Importer(model, ops).run();
  } catch (Error& e) {
    e.add_context(str_cat("file '", path, "'"));
    throw;
  }
}

}  // namespace leancnn::io
