// OpTable lookup.
#include "leancnn/ir/op_schema.h"

#include "leancnn/core/error.h"

namespace leancnn::ir {

namespace {
std::string key(const std::string& domain, const std::string& op_type) {
  return (domain.empty() || domain == "ai.onnx") ? op_type : domain + "::" + op_type;
}
}  // namespace

void OpTable::add(OpSchema schema) {
  std::string k = key(schema.domain, schema.op_type);
  if (!schema.infer) fail(ErrorKind::internal, "op ", k, " has no shape inference");
  if (ops_.count(k)) fail(ErrorKind::internal, "op ", k, " registered twice");
  ops_.emplace(k, std::move(schema));
}

const OpSchema* OpTable::find(const std::string& domain, const std::string& op_type) const {
  auto it = ops_.find(key(domain, op_type));
  return it == ops_.end() ? nullptr : &it->second;
}

const OpSchema& OpTable::get(const Node& node) const {
  if (const OpSchema* s = find(node.domain, node.op_type)) return *s;
  std::string list;
  for (const auto& n : names()) list += (list.empty() ? "" : ", ") + n;
  fail(ErrorKind::bad_input, node.label(), ": unsupported op; supported ops are: ", list);
}

std::vector<std::string> OpTable::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : ops_) out.push_back(k);
  return out;
}

}  // namespace leancnn::ir
