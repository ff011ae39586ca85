// Shape inference and the verifier.
#include "leancnn/ir/passes.h"

#include <algorithm>

#include "leancnn/core/error.h"

namespace leancnn::ir {

namespace {
std::vector<const Value*> input_values(const Graph& g, const Node& n) {
  std::vector<const Value*> in;
  in.reserve(n.inputs.size());
  for (ValueId v : n.inputs) in.push_back(v == kNone ? nullptr : &g.value(v));
  return in;
}
}  // namespace

std::vector<TensorType> infer_node(const Graph& g, const OpTable& ops, const Node& n) {
  const OpSchema& s = ops.get(n);
  try {
    auto in = input_values(g, n);
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i] && !in[i]->shape_known)
        fail(ErrorKind::bad_input, "input ", i, " ('", in[i]->name, "') has no known shape");
    return s.infer(n, in);
  } catch (Error& e) {
    e.add_context(n.label());
    throw;
  }
}

void infer_shapes(Graph& g, const OpTable& ops) {
  for (NodeId id : g.topo_order()) {
    const Node& n = g.node(id);
    std::vector<TensorType> types = infer_node(g, ops, n);
    for (size_t i = 0; i < n.outputs.size() && i < types.size(); ++i) {
      Value& v = g.value(n.outputs[i]);
      v.shape = types[i].shape;
      v.dtype = types[i].dtype;
      v.shape_known = true;
    }
  }
}

void verify(const Graph& g, const OpTable& ops) {
  const std::vector<NodeId> order = g.topo_order();  // throws on cycles
  std::vector<bool> available(g.num_values(), false);
  for (ValueId v : g.inputs()) available[v] = true;
  for (ValueId v : g.initializers()) available[v] = true;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    try {
      const OpSchema& s = ops.get(n);
      const int nin = static_cast<int>(n.inputs.size());
      if (nin < s.min_inputs || nin > s.max_inputs)
        fail(ErrorKind::bad_input, "has ", nin, " inputs; ", n.op_type, " takes ", s.min_inputs,
             s.min_inputs == s.max_inputs ? "" : str_cat(" to ", s.max_inputs));
      const int nout = static_cast<int>(n.outputs.size());
      if (nout < s.min_outputs || nout > std::max(s.num_outputs, s.min_outputs))
        fail(ErrorKind::bad_input, "has ", nout, " outputs; ", n.op_type, " produces ", s.num_outputs);
      for (const auto& [name, value] : n.attrs.all())
        if (std::find(s.attributes.begin(), s.attributes.end(), name) == s.attributes.end()) {
          std::string known;
          for (const auto& a : s.attributes) known += (known.empty() ? "" : ", ") + a;
          fail(ErrorKind::bad_input, "unknown attribute '", name, "'; ", n.op_type, " knows: ",
               known.empty() ? "none" : known);
        }
      for (int i = 0; i < nin; ++i) {
        ValueId v = n.inputs[i];
        if (v == kNone) {
          if (i < s.min_inputs &&
              std::find(s.optional_inputs.begin(), s.optional_inputs.end(), i) == s.optional_inputs.end())
            fail(ErrorKind::bad_input, "required input ", i, " is missing");
          continue;
        }
        if (!available[v])
          fail(ErrorKind::bad_input, "reads value '", g.value(v).name,
               "', which is not a graph input, an initializer or any node's output (dangling)");
      }
      for (ValueId v : n.outputs) {
        if (g.value(v).producer != id)
          fail(ErrorKind::bad_input, "output '", g.value(v).name, "' is produced by another node too");
        available[v] = true;
      }
    } catch (Error& e) {
      e.add_context(n.label());
      throw;
    }
    std::vector<TensorType> types = infer_node(g, ops, n);
    for (size_t i = 0; i < n.outputs.size() && i < types.size(); ++i) {
      const Value& v = g.value(n.outputs[i]);
      if (v.shape_known && (v.shape != types[i].shape || v.dtype != types[i].dtype))
        fail(ErrorKind::bad_input, n.label(), ": output '", v.name, "' is recorded as ", shape_str(v.shape), " ",
             dtype_name(v.dtype), " but the op gives ", shape_str(types[i].shape), " ",
             dtype_name(types[i].dtype));
    }
  }
  for (ValueId v : g.outputs())
    if (!available[v])
      fail(ErrorKind::bad_input, "graph output '", g.value(v).name, "' is never produced (dangling)");
}

}  // namespace leancnn::ir
