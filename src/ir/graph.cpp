// Graph construction, lookup and topological order.
#include "leancnn/ir/graph.h"

#include <queue>

#include "leancnn/core/error.h"

namespace leancnn::ir {

std::string Node::label() const {
  std::string s = "node '" + name + "' (";
  if (!domain.empty()) s += domain + "::";
  return s + op_type + ")";
}

namespace {
Value make_value(ValueId id, const std::string& name) {
  Value v;
  v.id = id;
  v.name = name;
  return v;
}
}  // namespace

ValueId Graph::add_value(const std::string& name) {
  if (name.empty()) fail(ErrorKind::internal, "value without a name");
  if (by_name_.count(name)) fail(ErrorKind::bad_input, "duplicate value name '", name, "'");
  ValueId id = num_values();
  values_.push_back(make_value(id, name));
  by_name_[name] = id;
  return id;
}

ValueId Graph::add_input(const std::string& name, const Shape& shape, DType dtype) {
  ValueId id = add_value(name);
  Value& v = values_[id];
  v.shape = shape;
  v.dtype = dtype;
  v.shape_known = true;
  inputs_.push_back(id);
  return id;
}

ValueId Graph::add_initializer(const std::string& name, Tensor data, bool trainable) {
  ValueId id = add_value(name);
  Value& v = values_[id];
  v.shape = data.shape();
  v.dtype = data.dtype();
  v.shape_known = true;
  v.data = std::move(data);
  v.trainable = trainable;
  return id;
}

NodeId Graph::add_node(const std::string& op_type, const std::vector<ValueId>& inputs,
                       const std::vector<ValueId>& outputs, Attributes attrs, const std::string& name,
                       const std::string& domain) {
  NodeId id = num_node_slots();
  Node n;
  n.id = id;
  n.op_type = op_type;
  n.domain = domain;
  n.name = name.empty() ? op_type + "_" + std::to_string(id) : name;
  n.inputs = inputs;
  n.outputs = outputs;
  n.attrs = std::move(attrs);
  for (ValueId v : inputs)
    if (v != kNone && !valid_value(v))
      fail(ErrorKind::bad_input, n.label(), ": input value id ", v, " does not exist");
  for (ValueId v : outputs) {
    if (!valid_value(v)) fail(ErrorKind::bad_input, n.label(), ": output value id ", v, " does not exist");
    Value& out = values_[v];
    if (out.producer != kNone || out.is_initializer())
      fail(ErrorKind::bad_input, n.label(), ": value '", out.name, "' already has a producer");
    out.producer = id;
  }
  nodes_.push_back(std::move(n));
  return id;
}

void Graph::mark_output(ValueId v) {
  if (!valid_value(v)) fail(ErrorKind::internal, "mark_output of unknown value id ", v);
  outputs_.push_back(v);
}

void Graph::rename_value(ValueId id, const std::string& new_name) {
  Value& v = value(id);
  if (v.name == new_name) return;
  if (new_name.empty() || by_name_.count(new_name))
    fail(ErrorKind::bad_input, "cannot rename value '", v.name, "' to '", new_name, "': name empty or taken");
  by_name_.erase(v.name);
  by_name_[new_name] = id;
  v.name = new_name;
}

void Graph::remove_node(NodeId id) {
  Node& n = node(id);
  for (ValueId v : n.outputs)
    if (values_[v].producer == id) values_[v].producer = kNone;
  n.removed = true;
}

Value& Graph::value(ValueId id) {
  if (!valid_value(id)) fail(ErrorKind::internal, "unknown value id ", id);
  return values_[id];
}
const Value& Graph::value(ValueId id) const {
  if (!valid_value(id)) fail(ErrorKind::internal, "unknown value id ", id);
  return values_[id];
}
Node& Graph::node(NodeId id) {
  if (id < 0 || id >= num_node_slots()) fail(ErrorKind::internal, "unknown node id ", id);
  return nodes_[id];
}
const Node& Graph::node(NodeId id) const {
  if (id < 0 || id >= num_node_slots()) fail(ErrorKind::internal, "unknown node id ", id);
  return nodes_[id];
}

std::vector<ValueId> Graph::initializers() const {
  std::vector<ValueId> out;
  for (const Value& v : values_)
    if (v.is_initializer()) out.push_back(v.id);
  return out;
}

std::vector<NodeId> Graph::node_ids() const {
  std::vector<NodeId> out;
  for (const Node& n : nodes_)
    if (!n.removed) out.push_back(n.id);
  return out;
}

std::vector<NodeId> Graph::topo_order() const {
  // Kahn's algorithm over live nodes; a value produced by a live node is a dependency.
  std::vector<int> pending(nodes_.size(), 0);
  std::vector<std::vector<NodeId>> users(nodes_.size());
  for (const Node& n : nodes_) {
    if (n.removed) continue;
    for (ValueId v : n.inputs) {
      if (v == kNone) continue;
      NodeId p = values_[v].producer;
      if (p != kNone && !nodes_[p].removed) {
        ++pending[n.id];
        users[p].push_back(n.id);
      }
    }
  }
  std::priority_queue<NodeId, std::vector<NodeId>, std::greater<>> ready;
  for (const Node& n : nodes_)
    if (!n.removed && pending[n.id] == 0) ready.push(n.id);
  std::vector<NodeId> order;
  while (!ready.empty()) {
    NodeId id = ready.top();
    ready.pop();
    order.push_back(id);
    for (NodeId u : users[id])
      if (--pending[u] == 0) ready.push(u);
  }
  for (const Node& n : nodes_)
    if (!n.removed && pending[n.id] > 0)
      fail(ErrorKind::bad_input, "the graph has a cycle through ", n.label());
  return order;
}

std::vector<NodeId> Graph::consumers(ValueId v) const {
  std::vector<NodeId> out;
  for (const Node& n : nodes_) {
    if (n.removed) continue;
    for (ValueId in : n.inputs)
      if (in == v) {
        out.push_back(n.id);
        break;
      }
  }
  return out;
}

ValueId Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? kNone : it->second;
}

std::string Graph::unique_value_name(const std::string& base) const {
  if (!by_name_.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "_" + std::to_string(i);
    if (!by_name_.count(n)) return n;
  }
}

}  // namespace leancnn::ir
