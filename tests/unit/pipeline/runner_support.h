// What the runner tests share: a run's variant by name.
#pragma once
#include <stdexcept>
#include <string>

#include "leancnn/pipeline/runner.h"

namespace leancnn::pipeline::testing {

// The variant named `name` of a run; throws when the run has none.
inline const VariantResult& variant(const RunResult& r, const std::string& name) {
  for (const auto& v : r.variants)
    if (v.name == name) return v;
  throw std::runtime_error("no variant " + name);
}

}  // namespace leancnn::pipeline::testing
