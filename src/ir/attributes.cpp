// Typed attribute access with clear errors on type mismatch.
#include "leancnn/ir/attributes.h"

#include "leancnn/core/error.h"

namespace leancnn::ir {

namespace {
template <typename T>
T get_typed(const std::map<std::string, AttrValue>& m, const std::string& name, const T& def,
            const char* type_name) {
  auto it = m.find(name);
  if (it == m.end()) return def;
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  fail(ErrorKind::bad_input, "attribute '", name, "' must be of type ", type_name);
}
}  // namespace

int64_t Attributes::get_int(const std::string& name, int64_t def) const {
  return get_typed<int64_t>(map_, name, def, "int");
}
float Attributes::get_float(const std::string& name, float def) const {
  auto it = map_.find(name);
  // ONNX writers sometimes store a float attribute as an int (e.g. alpha=1); accept it.
  if (it != map_.end())
    if (const int64_t* v = std::get_if<int64_t>(&it->second)) return static_cast<float>(*v);
  return get_typed<float>(map_, name, def, "float");
}
std::string Attributes::get_string(const std::string& name, const std::string& def) const {
  return get_typed<std::string>(map_, name, def, "string");
}
std::vector<int64_t> Attributes::get_ints(const std::string& name, const std::vector<int64_t>& def) const {
  return get_typed<std::vector<int64_t>>(map_, name, def, "ints");
}
std::vector<float> Attributes::get_floats(const std::string& name, const std::vector<float>& def) const {
  return get_typed<std::vector<float>>(map_, name, def, "floats");
}

}  // namespace leancnn::ir
