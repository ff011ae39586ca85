// The before/after accuracy of the compression commands (before_after.h).
#include "before_after.h"

#include <cstdio>

#include "leancnn/train/predict.h"

namespace leancnn::cli {

void add_before_after(nlohmann::json& j, const ir::Graph& before, const ir::Graph& after, const train::Dataset& test,
                      int64_t limit, const std::string& after_key) {
  const train::Predictions b = train::predict(before, test, train::Engine::plan, limit);
  const train::Predictions a = train::predict(after, test, train::Engine::plan, limit);
  j["test_images"] = static_cast<int64_t>(b.top1.size());
  j["float_acc"] = b.accuracy;
  j[after_key] = a.accuracy;
  j["drop"] = b.accuracy - a.accuracy;
}

void print_before_after(const nlohmann::json& j, const std::string& after_key) {
  std::printf("  test accuracy on %lld images: before %.4f, after %.4f (drop %.2f points)\n",
              static_cast<long long>(j["test_images"].get<int64_t>()), j["float_acc"].get<double>(),
              j[after_key].get<double>(), 100.0 * j["drop"].get<double>());
}

}  // namespace leancnn::cli
