// Private to the io layer: the ONNX importer. onnx_load.cpp reads the model (header, inputs,
// outputs, trainable flags) and places nodes in the graph; onnx_lower.cpp checks each op's
// version and rewrites older or foreign forms into leancnn's opset-13+ ops; onnx_fold.cpp
// evaluates shape computations; onnx_graph_passes.cpp folds Pad into the next Conv/pool and
// drops what the rewriting left unused.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "leancnn/io/onnx.h"
#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"
#include "onnx_common.h"
#include "onnx_fold.h"

namespace leancnn::io::onnx_detail {

// One node as the file gives it, or as a lowering rule rewrites it.
struct OnnxNode {
  std::string op_type;
  std::string domain;  // "" for ai.onnx
  std::string name;    // never empty (the importer names unnamed nodes)
  int since_version = 0;  // of the ai.onnx op schema in effect at the model's opset; 0 when unknown
  int64_t opset = 0;      // the model's ai.onnx opset
  ir::Attributes attrs;
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an omitted optional output
  const onnx::NodeProto* proto = nullptr;  // the file's node (for TENSOR attributes)
  std::string label() const;  // "node 'conv1' (Conv)"
};

class Importer {
 public:
  Importer(const onnx::ModelProto& m, const ir::OpTable& ops, const OnnxLoadOptions& options)
      : m_(m), ops_(ops), options_(options) {}
  ir::Graph run();

  // --- for the lowering rules ---
  const ir::OpTable& ops() const { return ops_; }
  // True when `name` is known at load time (initializer, Constant, folded value).
  bool is_constant(const std::string& name) const;
  // The load-time value of a constant (Error(bad_input) naming it when it is none).
  const Folded& constant(const std::string& name);
  // The same constant as a leancnn tensor, without converting large ones through Folded.
  Tensor constant_tensor(const std::string& name);
  // The shape of any value defined so far (constant or computed by the model).
  Shape shape_of(const std::string& name) const;
  // A new constant with a fresh name derived from base; returns the name.
  std::string add_constant(const std::string& base, Tensor t);
  // A fresh value name derived from base (unused in the file and the graph).
  std::string fresh_name(const std::string& base);
  // Folds the node when its inputs are known at load time, else adds it to the graph (with
  // its outputs' shapes inferred at once, so that later Shape nodes can read them).
  void emit(const OnnxNode& n);

 private:
  struct ConstEntry {
    Tensor tensor;         // defined for plain constants (Constant nodes, lowering rules)
    Folded folded;         // valid when has_folded
    bool has_folded = false;
  };

  void check_header();
  void new_name(const std::string& name) const;
  bool taken(const std::string& name) const;
  void add_input(const onnx::ValueInfoProto& in);
  std::string resolve(const std::string& name) const;
  void add_file_node(const onnx::NodeProto& n, int index);
  void add_constant_node(const OnnxNode& n);
  void add_identity(const OnnxNode& n);
  bool can_fold(const OnnxNode& n);
  bool constant_is_real(const std::string& name) const;
  void fold(const OnnxNode& n);
  void add_graph_node(const OnnxNode& n);
  ir::ValueId node_input(const std::string& name, const OnnxNode& reader, size_t slot);
  ir::ValueId materialize(const std::string& name, const OnnxNode* reader, size_t slot);
  Tensor reshape_spec_for_any_batch(const std::string& name, const Folded& f, const OnnxNode& reshape);
  void add_output(const onnx::ValueInfoProto& out);
  void check_output(const onnx::ValueInfoProto& out, ir::ValueId id) const;
  void set_trainable();

  const onnx::ModelProto& m_;
  const ir::OpTable& ops_;
  const OnnxLoadOptions& options_;
  ir::Graph g_;
  int64_t opset_ = 0;
  std::map<std::string, std::string> alias_;     // Identity outputs -> their source's name
  std::map<std::string, ConstEntry> consts_;     // load-time values not (yet) in the graph
  std::map<std::string, Folded> init_folded_;    // file initializers read by folding, as Folded
  std::map<std::string, ir::ValueId> materialized_;  // constants placed in the graph
  std::set<std::string> produced_;               // every node output name in the file
  std::set<ir::ValueId> maybe_unused_;           // initializers the rewriting may have left unread
  int64_t folded_elems_ = 0;                     // elements of all folded values (kMaxFoldedTotal)
};

// onnx_lower.cpp: checks n's op version and emits it in leancnn's form (possibly as several
// nodes and constants) through imp.emit. Throws Error(bad_input) for an unsupported version
// or attribute value.
void lower_node(Importer& imp, OnnxNode n);

// The ai.onnx ops the importer rewrites into other ops or removes, and those it evaluates
// only at load time (see leancnn/io/onnx.h: onnx_import_ops).
const std::vector<std::string>& rewritten_ops();
const std::vector<std::string>& load_time_ops();

// onnx_graph_passes.cpp: folds a Pad (constant zeros on H and W only, one reader) into the
// pads of the Conv (or AveragePool counting pads, or MaxPool when the pad value is -inf)
// that reads it; the removed pads constants join `maybe_unused`.
void fold_pads(ir::Graph& g, std::set<ir::ValueId>& maybe_unused);
// onnx_graph_passes.cpp: every ai.leancnn SparseToDense node of two initializers (a pruned
// weight saved sparse, OnnxSaveOptions::sparse_storage) replaced by the dense initializer it
// builds, under the node's output name; its inputs join `maybe_unused`.
void fold_sparse_storage(ir::Graph& g, std::set<ir::ValueId>& maybe_unused);
// Returns g without the initializers of `maybe_unused` that no node reads and no output
// names, and without removed nodes and the values only they touched; g itself when there is
// nothing to drop. Value order is kept.
ir::Graph drop_unused(ir::Graph g, const std::set<ir::ValueId>& maybe_unused);

}  // namespace leancnn::io::onnx_detail
