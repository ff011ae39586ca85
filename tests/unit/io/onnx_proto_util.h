// Test helpers that write ONNX files by hand through the protobuf API (as other exporters
// would write them): value infos, nodes, attributes, initializers, whole-file read/write.
#pragma once
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace leancnn::onnx_test {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Removes first: rewriting a file in place through O_TRUNC makes ext4 flush it on close (slow).
inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::remove(p);
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void write_proto(const std::filesystem::path& p, const onnx::ModelProto& m) { write_file(p, m.SerializeAsString()); }

// A tensor value info; a negative dim is the symbolic dim "batch".
inline void add_tensor_value(onnx::ValueInfoProto* v, const std::string& name, int32_t elem,
                             const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0)
      shape->add_dim()->set_dim_param("batch");
    else
      shape->add_dim()->set_dim_value(d);
  }
}

inline onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& name, const std::string& op,
                                 const std::vector<std::string>& in, const std::vector<std::string>& out) {
  onnx::NodeProto* n = g->add_node();
  n->set_name(name);
  n->set_op_type(op);
  for (const auto& s : in) n->add_input(s);
  for (const auto& s : out) n->add_output(s);
  return n;
}

inline void attr_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

inline void attr_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline void attr_float(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

inline void attr_string(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

inline onnx::TensorProto* add_float_init(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                                         const std::vector<float>& values) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float f : values) t->add_float_data(f);
  return t;
}

inline onnx::TensorProto* add_int64_init(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                                         const std::vector<int64_t>& values) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
  return t;
}

// A Constant node holding a 1-D INT64 tensor (as torch.onnx.export writes them).
inline void add_int64_constant(onnx::GraphProto* g, const std::string& out, const std::vector<int64_t>& values,
                               bool scalar = false) {
  onnx::NodeProto* n = add_node(g, out + "_const", "Constant", {}, {out});
  auto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  onnx::TensorProto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::INT64);
  if (!scalar) t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

// An empty model of the given ai.onnx opset with graph name "hand".
inline onnx::ModelProto empty_model(int64_t opset) {
  onnx::ModelProto m;
  m.set_ir_version(opset >= 13 ? 7 : 6);
  m.set_producer_name("hand");
  m.add_opset_import()->set_version(opset);
  m.mutable_graph()->set_name("hand");
  return m;
}

}  // namespace leancnn::onnx_test
