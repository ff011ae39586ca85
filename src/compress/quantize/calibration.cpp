// Calibration: a seeded sample of images through the float graph, observers on chosen values.
#include "leancnn/compress/quantize/calibration.h"

#include <algorithm>
#include <numeric>

#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"

namespace leancnn::compress::quantize {

std::vector<Tensor> calibration_batches(const train::Dataset& data, int64_t images, int64_t batch, uint64_t seed) {
  if (data.size() == 0 || !data.images.defined())
    fail(ErrorKind::bad_input, "calibration needs images: the dataset '", data.name, "' is empty");
  if (images < 1) fail(ErrorKind::usage, "calibration needs at least 1 image, got ", images);
  if (batch < 1) fail(ErrorKind::usage, "calibration batch must be >= 1, got ", batch);
  if (data.images.dtype() != DType::u8 || data.images.rank() != 4)
    fail(ErrorKind::bad_input, "calibration images must be u8 [N, C, H, W], got ", dtype_name(data.images.dtype()), " ",
         shape_str(data.images.shape()));
  // A seeded Fisher-Yates prefix: which images does not depend on the batch size.
  std::vector<int64_t> order(static_cast<size_t>(data.size()));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed ^ 0x63616c6962ULL);
  const int64_t count = std::min(images, data.size());
  for (int64_t i = 0; i < count; ++i) std::swap(order[i], order[i + rng.below(data.size() - i)]);
  const Shape& s = data.images.shape();
  const int64_t per = s[1] * s[2] * s[3];
  const uint8_t* src = data.images.data<uint8_t>();
  std::vector<Tensor> batches;
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t n = std::min(batch, count - first);
    Tensor t = Tensor::empty({n, s[1], s[2], s[3]});
    float* dst = t.data<float>();
    for (int64_t b = 0; b < n; ++b) {
      const uint8_t* img = src + order[first + b] * per;
      for (int64_t k = 0; k < per; ++k) dst[b * per + k] = static_cast<float>(img[k]) / 255.f;
    }
    batches.push_back(t);
  }
  return batches;
}

Calibration calibrate(const ir::Graph& g, const std::vector<std::string>& values, const std::vector<Tensor>& batches,
                      const ObserverOptions& observer, const std::function<void(int64_t, int64_t)>& progress) {
  if (g.inputs().size() != 1) fail(ErrorKind::bad_input, "calibration needs a model with one input, it has ", g.inputs().size());
  ir::Graph copy = g;  // the executor takes a mutable graph; initializers are shared, not changed
  ObserverOptions per_tensor = observer;
  per_tensor.axis = -1;
  Calibration cal;
  std::vector<ir::ValueId> ids;
  for (const std::string& name : values) {
    const ir::ValueId id = copy.find_value(name);
    if (id == ir::kNone) fail(ErrorKind::internal, "calibration: no value named '", name, "'");
    ids.push_back(id);
    cal.observers.emplace(name, Observer(per_tensor));
  }
  runtime::Executor exec(copy, ops::op_table(), {.training = false, .keep_values = true});
  const std::string input = copy.value(copy.inputs()[0]).name;
  int64_t total = 0, done = 0;
  for (const Tensor& b : batches) total += b.dim(0);
  for (const Tensor& b : batches) {
    exec.forward({{input, b}});
    for (size_t i = 0; i < ids.size(); ++i) {
      const Tensor& v = exec.value(ids[i]);
      if (!v.defined()) fail(ErrorKind::internal, "calibration: value '", values[i], "' was not computed");
      cal.observers.at(values[i]).observe(v);
    }
    done += b.dim(0);
    if (progress) progress(done, total);
  }
  cal.images = done;
  return cal;
}

}  // namespace leancnn::compress::quantize
