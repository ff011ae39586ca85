// Json: an opaque JSON value (a recipe's settings, a step's diagnostics, report.json) that
// public headers can hold and pass without exposing the JSON library (DESIGN.md §2). Code
// that reads or builds fields includes leancnn/core/json_native.h in its .cpp file.
#pragma once
#include <memory>
#include <string>

namespace leancnn {

class Json {
 public:
  Json() noexcept;  // null
  ~Json();
  Json(const Json& other);
  Json(Json&& other) noexcept;  // `other` becomes null
  Json& operator=(const Json& other);
  Json& operator=(Json&& other) noexcept;

  // An empty object, {}.
  static Json object();
  // Parses JSON text; Error(bad_input) "not valid JSON: ..." when it is not.
  static Json parse(const std::string& text);

  // The text: compact on one line for indent < 0, else pretty-printed with `indent` spaces.
  // Object keys come out sorted, so equal values give equal text.
  std::string dump(int indent = -1) const;
  bool is_null() const;

  // Equal as JSON values (1 and 1.0 are equal; key order never matters: keys are sorted).
  friend bool operator==(const Json& a, const Json& b);

 private:
  struct Impl;
  // Null for a JSON null that was never written through native(Json&), and after a move.
  std::unique_ptr<Impl> impl_;

  friend struct JsonAccess;  // json_native.h
};

}  // namespace leancnn
