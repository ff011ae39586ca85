// Model summary table.
#include "leancnn/ir/summary.h"

#include <iomanip>
#include <set>
#include <sstream>

#include "leancnn/core/error.h"

namespace leancnn::ir {

Summary summarize(const Graph& g, const OpTable& ops) {
  Summary s;
  std::set<ValueId> counted;
  for (NodeId id : g.topo_order()) {
    const Node& n = g.node(id);
    SummaryRow row;
    row.name = n.name;
    row.op_type = n.op_type;
    if (!n.outputs.empty()) row.output_shape = g.value(n.outputs[0]).shape;
    std::vector<const Value*> in, out;
    for (ValueId v : n.inputs) {
      in.push_back(v == kNone ? nullptr : &g.value(v));
      if (v != kNone && g.value(v).trainable && counted.insert(v).second) row.params += g.value(v).data.numel();
    }
    for (ValueId v : n.outputs) {
      out.push_back(&g.value(v));
      s.activation_elems += shape_numel(g.value(v).shape);
    }
    const OpSchema& schema = ops.get(n);
    if (schema.macs) row.macs = schema.macs(n, in, out);
    s.params += row.params;
    s.macs += row.macs;
    s.rows.push_back(std::move(row));
  }
  for (ValueId v : g.initializers()) {
    const Value& val = g.value(v);
    if (!val.trainable && val.dtype == DType::f32) s.buffers += val.data.numel();
    s.param_bytes += static_cast<int64_t>(val.data.nbytes());
  }
  return s;
}

namespace {
// 1234567 -> "1,234,567"
std::string grouped(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}
std::string human(double v, const char* unit) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(2);
  if (v >= 1e9)
    os << v / 1e9 << " G" << unit;
  else if (v >= 1e6)
    os << v / 1e6 << " M" << unit;
  else if (v >= 1e3)
    os << v / 1e3 << " K" << unit;
  else
    os << v << " " << unit;
  return os.str();
}
}  // namespace

std::string format_summary(const Graph& g, const Summary& s) {
  std::ostringstream os;
  size_t wname = 4, wop = 2, wshape = 12;
  for (const auto& r : s.rows) {
    wname = std::max(wname, r.name.size());
    wop = std::max(wop, r.op_type.size());
    wshape = std::max(wshape, shape_str(r.output_shape).size());
  }
  wname = std::min<size_t>(wname, 40);
  const size_t width = wname + wop + wshape + 14 + 16 + 8;
  std::string rule(width, '-');
  os << "Model '" << g.name << "'";
  for (ValueId v : g.inputs()) os << "  input '" << g.value(v).name << "' " << shape_str(g.value(v).shape);
  os << "\n" << rule << "\n";
  os << std::left << std::setw(wname + 2) << "node" << std::setw(wop + 2) << "op" << std::setw(wshape + 2)
     << "output shape" << std::right << std::setw(12) << "params" << std::setw(16) << "MACs" << "\n"
     << rule << "\n";
  for (const auto& r : s.rows) {
    std::string name = r.name.size() > wname ? r.name.substr(0, wname - 1) + "~" : r.name;
    os << std::left << std::setw(wname + 2) << name << std::setw(wop + 2) << r.op_type << std::setw(wshape + 2)
       << shape_str(r.output_shape) << std::right << std::setw(12) << (r.params ? grouped(r.params) : "-")
       << std::setw(16) << (r.macs ? grouped(r.macs) : "-") << "\n";
  }
  os << rule << "\n";
  os << "nodes:          " << s.rows.size() << "\n";
  os << "params:         " << grouped(s.params) << " (" << human(static_cast<double>(s.params), "") << ")\n";
  os << "buffers:        " << grouped(s.buffers) << " (non-learnable, e.g. BN running statistics)\n";
  os << "weight bytes:   " << grouped(s.param_bytes) << " (" << human(static_cast<double>(s.param_bytes), "B")
     << ")\n";
  os << "MACs:           " << grouped(s.macs) << " (" << human(static_cast<double>(s.macs), "MAC") << ")\n";
  os << "activations:    " << grouped(s.activation_elems) << " elements (sum over all outputs)\n";
  return os.str();
}

}  // namespace leancnn::ir
