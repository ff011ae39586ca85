// The bridge from Json (json.h) to the JSON library it wraps, nlohmann::json: for leancnn's
// own .cpp files, private headers and tests, which read and build fields through it.
// Never include this from a public header (include/leancnn/...): that would expose
// nlohmann/json.hpp to every user of that header, which DESIGN.md §2 rules out
// (tests/unit/core/public_headers_test.cpp checks it). A target that includes it links
// nlohmann_json::nlohmann_json itself, privately.
#pragma once
#include <nlohmann/json.hpp>

#include "leancnn/core/json.h"

namespace leancnn {

// The value inside `j`, to read or change in place. A null Json gets its own storage on first
// use, so the reference stays valid as long as `j` lives (and is not moved from or assigned).
nlohmann::json& native(Json& j);
// The value inside `j`, to read. For a null Json this is a shared null value.
const nlohmann::json& native(const Json& j);
// A Json holding `value`: from_native({{"epochs", 4}}), from_native(0.05), from_native(nullptr).
Json from_native(nlohmann::json value);

}  // namespace leancnn
