// The before/after accuracy of the compression commands (before_after.h).
#include "before_after.h"

#include <algorithm>
#include <cstdio>

#include "leancnn/core/error.h"

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

void check_images_fit(const ir::Graph& model, const train::Dataset& d, const std::string& data) {
  const ir::Value& in = model.value(model.inputs().at(0));
  const Shape& img = d.images.shape();
  if (in.shape.size() == img.size() && std::equal(in.shape.begin() + 1, in.shape.end(), img.begin() + 1)) return;
  Shape want(in.shape.begin() + (in.shape.empty() ? 0 : 1), in.shape.end()), have(img.begin() + 1, img.end());
  fail(ErrorKind::usage, "--data '", data, "': its images are ", shape_str(have), " but the model's input '", in.name, "' is ",
       shape_str(want), "; give --data a folder of IDX files of that shape, or leave out what needs data (--epochs 0 "
       "--no-eval, and a criterion or rank rule that reads no images)");
}

TrainTest load_data_if(bool needed, const ir::Graph& model, const std::string& data) {
  TrainTest d;
  if (!needed) return d;
  const int64_t classes = model.value(model.outputs().at(0)).shape.back();
  const std::string dir = train::resolve_data_dir(data);
  d.train = train::load_idx_dataset(dir, train::Split::train, classes);
  d.test = train::load_idx_dataset(dir, train::Split::test, classes);
  check_images_fit(model, d.train, data);
  return d;
}

void print_before_after(const nlohmann::json& j, const std::string& after_key) {
  std::printf("  test accuracy on %lld images: before %.4f, after %.4f (drop %.2f points)\n",
              static_cast<long long>(j["test_images"].get<int64_t>()), j["float_acc"].get<double>(),
              j[after_key].get<double>(), 100.0 * j["drop"].get<double>());
}

}  // namespace leancnn::cli
