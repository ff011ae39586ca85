// The graph IR: values and nodes with integer ids. Op names and attributes follow ONNX;
// leancnn's own ops use the domain "ai.leancnn". A graph owns its initializers (weights,
// constants) as Tensors. Removing a node leaves a tombstone so ids stay stable; compact()
// renumbers when a pass wants dense ids.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/attributes.h"

namespace leancnn::ir {

using ValueId = int32_t;
using NodeId = int32_t;
constexpr int32_t kNone = -1;

inline constexpr const char* kLeancnnDomain = "ai.leancnn";

struct Value {
  ValueId id = kNone;
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  bool shape_known = false;
  NodeId producer = kNone;  // kNone for graph inputs and initializers
  Tensor data;              // defined for initializers
  bool trainable = false;   // a learnable parameter (set on initializers only)
  bool is_initializer() const { return data.defined(); }
};

struct Node {
  NodeId id = kNone;
  std::string op_type;
  std::string domain;  // "" means ai.onnx
  std::string name;
  std::vector<ValueId> inputs;  // kNone marks an omitted optional input
  std::vector<ValueId> outputs;
  Attributes attrs;
  bool removed = false;
  // "'conv1' (Conv)" for messages.
  std::string label() const;
};

class Graph {
 public:
  std::string name = "graph";

  ValueId add_input(const std::string& name, const Shape& shape, DType dtype = DType::f32);
  ValueId add_initializer(const std::string& name, Tensor data, bool trainable);
  // A new intermediate value (its producer is set by add_node).
  ValueId add_value(const std::string& name);
  // Adds a node whose outputs are the given (new, unproduced) values.
  NodeId add_node(const std::string& op_type, const std::vector<ValueId>& inputs,
                  const std::vector<ValueId>& outputs, Attributes attrs = {},
                  const std::string& name = "", const std::string& domain = "");
  void mark_output(ValueId v);
  // Renames a value; throws Error(bad_input) if the new name is taken.
  void rename_value(ValueId v, const std::string& new_name);
  void remove_node(NodeId n);  // tombstones the node; its outputs lose their producer

  Value& value(ValueId id);
  const Value& value(ValueId id) const;
  Node& node(NodeId id);
  const Node& node(NodeId id) const;
  int num_values() const { return static_cast<int>(values_.size()); }
  int num_node_slots() const { return static_cast<int>(nodes_.size()); }
  bool valid_value(ValueId id) const { return id >= 0 && id < num_values(); }

  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }
  std::vector<ValueId> initializers() const;
  // Live nodes in insertion order.
  std::vector<NodeId> node_ids() const;
  // Live nodes in a topological order (stable: insertion order among ready nodes).
  // Throws Error(bad_input) naming a node on a cycle.
  std::vector<NodeId> topo_order() const;
  // Live nodes reading value v.
  std::vector<NodeId> consumers(ValueId v) const;
  // kNone when absent.
  ValueId find_value(const std::string& name) const;
  // A name not used by any value yet, derived from base.
  std::string unique_value_name(const std::string& base) const;

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
  std::unordered_map<std::string, ValueId> by_name_;
};

}  // namespace leancnn::ir
