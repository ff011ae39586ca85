// ONNX writer: ir::Graph -> ModelProto (opset 14, raw_data initializers, symbolic batch dim),
// written atomically (temporary file in the same folder, fsync, rename).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "leancnn/core/error.h"
#include "leancnn/io/file.h"
#include "leancnn/io/gzip.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/sparse_storage.h"
#include "onnx_common.h"

#ifndef LEANCNN_VERSION
#define LEANCNN_VERSION "unknown"
#endif

namespace leancnn::io {

namespace {
using namespace onnx_detail;

// Initializers worth storing as bitmask + non-zeros (OnnxSaveOptions::sparse_storage): weight
// tensors (rank >= 2) only. A fresh model's zero biases and BN means (rank 1) stay dense, so
// `leancnn export` of an unpruned model is a file every ONNX runtime reads (regression: a zoo
// ResNet-18's zero 1000-class bias was written as ai.leancnn SparseToDense, and ONNX Runtime
// refused the file).
bool stores_sparse(const Tensor& t) {
  const DType d = t.dtype();
  if ((d != DType::f32 && d != DType::s8 && d != DType::u8) || t.numel() < kSparseMinElems || t.rank() < 2) return false;
  return 4 * ops::sparse_encoded_bytes(t) <= 3 * static_cast<int64_t>(t.nbytes());
}

void set_value_info(const ir::Value& v, bool symbolic_batch, onnx::ValueInfoProto* info) {
  const int32_t type = onnx_elem_type(v.dtype);
  if (type == onnx::TensorProto::UNDEFINED)
    fail(ErrorKind::bad_input, "graph input or output '", v.name, "' has dtype ", dtype_name(v.dtype),
         ", which ONNX has no type for");
  info->set_name(v.name);
  onnx::TypeProto_Tensor* tt = info->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(type);
  if (!v.shape_known) return;  // a type without a shape: any shape
  onnx::TensorShapeProto* shape = tt->mutable_shape();
  for (size_t i = 0; i < v.shape.size(); ++i) {
    onnx::TensorShapeProto_Dimension* d = shape->add_dim();
    if (i == 0 && symbolic_batch)
      d->set_dim_param(kBatchDimParam);
    else
      d->set_dim_value(v.shape[i]);
  }
}

void set_attribute(const std::string& name, const ir::AttrValue& value, onnx::AttributeProto* a) {
  a->set_name(name);
  if (const auto* i = std::get_if<int64_t>(&value)) {
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(*i);
  } else if (const auto* f = std::get_if<float>(&value)) {
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(*f);
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(*s);
  } else if (const auto* is = std::get_if<std::vector<int64_t>>(&value)) {
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : *is) a->add_ints(x);
  } else {
    a->set_type(onnx::AttributeProto::FLOATS);
    for (float x : std::get<std::vector<float>>(value)) a->add_floats(x);
  }
}

void build_model(const ir::Graph& g, const OnnxSaveOptions& options, onnx::ModelProto& model) {
  model.set_ir_version(kIrVersion);
  model.set_producer_name("leancnn");
  model.set_producer_version(LEANCNN_VERSION);
  if (!options.doc_string.empty()) model.set_doc_string(options.doc_string);

  const std::vector<ir::NodeId> order = g.topo_order();  // ONNX wants nodes sorted
  // Only initializers a node reads (or the graph outputs) are written: a rewrite may leave a
  // tensor behind that nothing uses, which would grow the file and make ONNX Runtime warn
  // "Removing initializer ... It is not used by any node" for each.
  std::set<ir::ValueId> used(g.outputs().begin(), g.outputs().end());
  for (ir::NodeId id : order)
    for (ir::ValueId v : g.node(id).inputs) used.insert(v);
  std::set<std::string> domains;
  if (options.sparse_storage)
    for (ir::ValueId id : g.initializers())
      if (used.count(id) && stores_sparse(g.value(id).data)) domains.insert(ir::kLeancnnDomain);
  for (ir::NodeId id : order) {
    const std::string& d = g.node(id).domain;
    if (!d.empty() && d != "ai.onnx") domains.insert(d);
  }
  onnx::OperatorSetIdProto* core = model.add_opset_import();
  core->set_domain("");
  core->set_version(kOnnxOpset);
  for (const std::string& d : domains) {
    onnx::OperatorSetIdProto* op = model.add_opset_import();
    op->set_domain(d);
    op->set_version(kLeancnnOpset);  // every custom domain we write is at version 1
  }

  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name(g.name.empty() ? "graph" : g.name);
  std::string trainable;
  struct Sparse {
    const ir::Value* v;
    std::string mask, values;
  };
  std::vector<Sparse> sparse;  // written as SparseToDense(mask, values) -> v
  for (ir::ValueId id : g.initializers()) {
    if (!used.count(id)) continue;
    const ir::Value& v = g.value(id);
    if (options.sparse_storage && stores_sparse(v.data)) {
      const ops::SparseEncoding e = ops::sparse_encode(v.data);
      sparse.push_back({&v, g.unique_value_name(v.name + ".sparse_mask"), g.unique_value_name(v.name + ".sparse_values")});
      write_tensor(e.mask, sparse.back().mask, graph->add_initializer());
      write_tensor(e.values, sparse.back().values, graph->add_initializer());
    } else {
      write_tensor(v.data, v.name, graph->add_initializer());
    }
    if (!v.trainable) continue;
    if (v.name.find('\n') != std::string::npos)
      fail(ErrorKind::bad_input, "trainable initializer '", v.name, "' has a line break in its name");
    trainable += (trainable.empty() ? "" : "\n") + v.name;
  }
  onnx::StringStringEntryProto* meta = model.add_metadata_props();
  meta->set_key(kTrainableKey);
  meta->set_value(trainable);

  for (ir::ValueId id : g.inputs()) set_value_info(g.value(id), options.symbolic_batch, graph->add_input());
  for (ir::ValueId id : g.outputs()) {
    const ir::Value& v = g.value(id);
    set_value_info(v, options.symbolic_batch && !v.shape.empty(), graph->add_output());
  }

  for (const Sparse& sp : sparse) {  // first: they read initializers only
    onnx::NodeProto* p = graph->add_node();
    p->set_name(sp.v->name + ".sparse");
    p->set_op_type("SparseToDense");
    p->set_domain(ir::kLeancnnDomain);
    p->add_input(sp.mask);
    p->add_input(sp.values);
    p->add_output(sp.v->name);
    set_attribute("shape", ir::AttrValue(std::vector<int64_t>(sp.v->data.shape())), p->add_attribute());
  }
  for (ir::NodeId id : order) {
    const ir::Node& n = g.node(id);
    onnx::NodeProto* p = graph->add_node();
    p->set_name(n.name);
    p->set_op_type(n.op_type);
    if (!n.domain.empty() && n.domain != "ai.onnx") p->set_domain(n.domain);
    for (ir::ValueId v : n.inputs) p->add_input(v == ir::kNone ? "" : g.value(v).name);
    for (ir::ValueId v : n.outputs) p->add_output(g.value(v).name);
    for (const auto& [name, value] : n.attrs.all()) set_attribute(name, value, p->add_attribute());
  }
}

}  // namespace

void save_onnx(const ir::Graph& g, const std::string& path, const OnnxSaveOptions& options) {
  std::string bytes;
  try {
    onnx::ModelProto model;
    build_model(g, options, model);
    if (!model.SerializeToString(&bytes))
      fail(ErrorKind::bad_input, "the model does not fit in one protobuf message (2 GiB)");
  } catch (Error& e) {
    e.add_context(str_cat("file '", path, "'"));
    throw;
  }
  write_file_atomic(path, path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0 ? gzip(bytes) : bytes);
}

}  // namespace leancnn::io
