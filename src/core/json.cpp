// Json (json.h): the opaque value, an nlohmann::json behind a pointer, and its bridge
// (json_native.h).
#include "leancnn/core/json.h"

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"

namespace leancnn {

struct Json::Impl {
  nlohmann::json value;
};

// native() and from_native() reach Json's storage through this (a friend of Json).
struct JsonAccess {
  static nlohmann::json& value(Json& j) {
    if (!j.impl_) j.impl_ = std::make_unique<Json::Impl>();
    return j.impl_->value;
  }
  static const nlohmann::json& value(const Json& j) {
    static const nlohmann::json null_value;
    return j.impl_ ? j.impl_->value : null_value;
  }
  static Json make(nlohmann::json value) {
    Json j;
    j.impl_ = std::make_unique<Json::Impl>(Json::Impl{std::move(value)});
    return j;
  }
};

Json::Json() noexcept = default;
Json::~Json() = default;
Json::Json(const Json& other) : impl_(other.impl_ ? std::make_unique<Impl>(*other.impl_) : nullptr) {}
Json::Json(Json&& other) noexcept = default;
Json& Json::operator=(const Json& other) {
  if (this != &other) impl_ = other.impl_ ? std::make_unique<Impl>(*other.impl_) : nullptr;
  return *this;
}
Json& Json::operator=(Json&& other) noexcept = default;

Json Json::object() { return from_native(nlohmann::json::object()); }

Json Json::parse(const std::string& text) {
  try {
    return from_native(nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::bad_input, "not valid JSON: ", e.what());
  }
}

std::string Json::dump(int indent) const { return native(*this).dump(indent); }

bool Json::is_null() const { return native(*this).is_null(); }

bool operator==(const Json& a, const Json& b) { return native(a) == native(b); }

nlohmann::json& native(Json& j) { return JsonAccess::value(j); }
const nlohmann::json& native(const Json& j) { return JsonAccess::value(j); }
Json from_native(nlohmann::json value) { return JsonAccess::make(std::move(value)); }

}  // namespace leancnn
