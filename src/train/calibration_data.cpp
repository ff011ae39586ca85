// Calibration inputs from a dataset, an IDX folder, image files, TensorProto files or random.
#include "leancnn/train/calibration_data.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <numeric>

#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/image.h"
#include "leancnn/io/tensor_proto.h"

namespace leancnn::train {

namespace fs = std::filesystem;

const char* calibration_kind_name(CalibrationKind k) {
  switch (k) {
    case CalibrationKind::dataset: return "dataset";
    case CalibrationKind::idx: return "idx";
    case CalibrationKind::images: return "images";
    case CalibrationKind::tensors: return "tensors";
    case CalibrationKind::random: return "random";
  }
  return "?";
}

std::string CalibrationData::describe(const std::string& dataset_name) const {
  switch (kind) {
    case CalibrationKind::dataset: return "dataset '" + dataset_name + "' (training split)";
    case CalibrationKind::idx: return "IDX training split in '" + path + "'";
    case CalibrationKind::images: return "images in '" + path + "'";
    case CalibrationKind::tensors: return "TensorProto files in '" + path + "'";
    case CalibrationKind::random: return "random inputs (synthetic: for speed measurements only, not for accuracy)";
  }
  return "?";
}

namespace {

bool is_pb(const fs::path& p) { return p.extension() == ".pb"; }

bool has_idx_train_images(const fs::path& dir) {
  return fs::exists(dir / "train-images-idx3-ubyte") || fs::exists(dir / "train-images-idx3-ubyte.gz");
}

// Regular files in a folder (or the file itself), sorted by name, that pass `keep`.
template <typename Keep>
std::vector<std::string> list_files(const std::string& path, Keep keep) {
  std::vector<std::string> out;
  if (fs::is_regular_file(path)) {
    out.push_back(path);
    return out;
  }
  for (const fs::directory_entry& e : fs::directory_iterator(path))
    if (e.is_regular_file() && keep(e.path())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The first `count` entries of a seeded Fisher-Yates shuffle of 0..n-1 (compress/quantize's
// calibration_batches draws the same sample from a dataset).
std::vector<int64_t> sample(int64_t n, int64_t count, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed ^ 0x63616c6962ULL);
  for (int64_t i = 0; i < count; ++i) std::swap(order[i], order[i + rng.below(n - i)]);
  order.resize(static_cast<size_t>(count));
  return order;
}

// Fills batches of [n, C, H, W] from `count` inputs, `fill(k, dst)` writing input k.
template <typename Fill>
std::vector<Tensor> make_batches(int64_t count, int64_t batch, const Shape& chw, Fill fill) {
  std::vector<Tensor> batches;
  const int64_t per = chw[0] * chw[1] * chw[2];
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t n = std::min(batch, count - first);
    Tensor t = Tensor::empty({n, chw[0], chw[1], chw[2]});
    for (int64_t b = 0; b < n; ++b) fill(first + b, t.data<float>() + b * per);
    batches.push_back(std::move(t));
  }
  return batches;
}

std::vector<Tensor> from_dataset(const Dataset& d, const CalibrationData& cd, const Shape& chw, int64_t images,
                                 int64_t batch, uint64_t seed, const std::string& where) {
  if (d.size() == 0 || !d.images.defined()) fail(ErrorKind::bad_input, where, ": no images");
  const Shape& s = d.images.shape();
  const int64_t count = std::min(images, d.size());
  const std::vector<int64_t> order = sample(d.size(), count, seed);
  const int64_t per = s[1] * s[2] * s[3];
  return make_batches(count, batch, chw, [&](int64_t k, float* dst) {
    // IDX images are planar u8 [C, H, W]; as an interleaved image for the shared preprocessing.
    io::Image img;
    img.height = s[2];
    img.width = s[3];
    img.channels = s[1];
    img.pixels.resize(static_cast<size_t>(per));
    const uint8_t* src = d.images.data<uint8_t>() + order[static_cast<size_t>(k)] * per;
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t i = 0; i < s[2] * s[3]; ++i) img.pixels[static_cast<size_t>(i * s[1] + c)] = src[c * s[2] * s[3] + i];
    preprocess_image(img, cd.preprocess, chw[0], chw[1], chw[2], dst, where);
  });
}

std::vector<Tensor> from_images(const CalibrationData& cd, const Shape& chw, int64_t images, int64_t batch, uint64_t seed) {
  const std::vector<std::string> files = list_files(cd.path, [](const fs::path& p) { return io::has_image_extension(p.string()); });
  if (files.empty())
    fail(ErrorKind::bad_input, "calibration data '", cd.path,
         "': no image files (.png, .jpg, .jpeg, .bmp); give a folder of the model's input images");
  const int64_t n = static_cast<int64_t>(files.size());
  const std::vector<int64_t> order = sample(n, std::min(images, n), seed);
  return make_batches(static_cast<int64_t>(order.size()), batch, chw, [&](int64_t k, float* dst) {
    const std::string& f = files[static_cast<size_t>(order[static_cast<size_t>(k)])];
    preprocess_image(io::read_image(f), cd.preprocess, chw[0], chw[1], chw[2], dst, "calibration image '" + f + "'");
  });
}

std::vector<Tensor> from_tensors(const CalibrationData& cd, const Shape& chw, int64_t images, int64_t batch) {
  if (!cd.preprocess.is_plain())
    fail(ErrorKind::usage, "calibration data '", cd.path, "': TensorProto files are fed as stored (already preprocessed); "
         "drop the mean/std/scale/channel-order settings");
  const std::vector<std::string> files = list_files(cd.path, is_pb);
  if (files.empty()) fail(ErrorKind::bad_input, "calibration data '", cd.path, "': no .pb TensorProto files");
  // Every file: f32 [C, H, W] or [n, C, H, W] with the model's C, H, W; images are taken in order.
  std::vector<Tensor> inputs;
  int64_t total = 0;
  for (const std::string& f : files) {
    if (total >= images) break;
    Tensor t = io::read_tensor_proto(f).tensor;
    const Shape& s = t.shape();
    const bool ok = t.dtype() == DType::f32 && ((s.size() == 3 && s == chw) ||
                                                (s.size() == 4 && s[0] >= 1 && Shape(s.begin() + 1, s.end()) == chw));
    if (!ok)
      fail(ErrorKind::bad_input, "calibration tensor '", f, "': expected f32 ", shape_str(chw), " or [n, ", chw[0], ", ",
           chw[1], ", ", chw[2], "] (the model's input), got ", dtype_name(t.dtype()), " ", shape_str(s));
    if (s.size() == 3) t = t.reshape({1, s[0], s[1], s[2]});
    total += t.shape()[0];
    inputs.push_back(std::move(t));
  }
  const int64_t count = std::min(images, total);
  const int64_t per = chw[0] * chw[1] * chw[2];
  // Index k -> (file, row), in file order.
  return make_batches(count, batch, chw, [&](int64_t k, float* dst) {
    for (const Tensor& t : inputs) {
      if (k < t.shape()[0]) {
        std::memcpy(dst, t.data<float>() + k * per, static_cast<size_t>(per) * sizeof(float));
        return;
      }
      k -= t.shape()[0];
    }
  });
}

std::vector<Tensor> random_inputs(const CalibrationData& cd, const Shape& chw, int64_t images, int64_t batch, uint64_t seed) {
  Rng rng(seed ^ 0x72616e64ULL);
  const int64_t hw = chw[1] * chw[2];
  return make_batches(images, batch, chw, [&](int64_t, float* dst) {
    // Uniform pixels in the range the scaling gives, then the model's normalisation.
    const float hi = cd.preprocess.scale ? 1.f : 255.f;
    for (int64_t c = 0; c < chw[0]; ++c) {
      const float m = cd.preprocess.mean.empty() ? 0.f : cd.preprocess.mean[cd.preprocess.mean.size() == 1 ? 0 : static_cast<size_t>(c)];
      const float s = cd.preprocess.std.empty() ? 1.f : cd.preprocess.std[cd.preprocess.std.size() == 1 ? 0 : static_cast<size_t>(c)];
      for (int64_t i = 0; i < hw; ++i) dst[c * hw + i] = (rng.uniform(0.f, hi) - m) / s;
    }
  });
}

}  // namespace

CalibrationData calibration_data_from(const std::string& source, const std::string& format, const Preprocess& pre) {
  CalibrationData d;
  d.preprocess = pre;
  if (format != "auto" && format != "idx" && format != "images" && format != "tensors")
    fail(ErrorKind::usage, "calibration format must be auto, idx, images or tensors, got '", format, "'");
  if (source.empty() || source == "train") {
    if (format != "auto") fail(ErrorKind::usage, "a calibration format applies to a path, not to '", source.empty() ? "train" : source, "'");
    return d;
  }
  if (source == "random") {
    d.kind = CalibrationKind::random;
    return d;
  }
  d.path = source;
  if (!fs::exists(source))
    fail(ErrorKind::bad_input, "calibration data '", source,
         "': no such file or folder; give a folder of images, of .pb tensors or of IDX files, 'train' or 'random'");
  if (format == "idx") d.kind = CalibrationKind::idx;
  else if (format == "images") d.kind = CalibrationKind::images;
  else if (format == "tensors") d.kind = CalibrationKind::tensors;
  else if (fs::is_regular_file(source)) d.kind = is_pb(source) ? CalibrationKind::tensors : CalibrationKind::images;
  else if (has_idx_train_images(source)) d.kind = CalibrationKind::idx;
  else d.kind = list_files(source, is_pb).empty() ? CalibrationKind::images : CalibrationKind::tensors;
  if (d.kind == CalibrationKind::images && fs::is_regular_file(source))
    fail(ErrorKind::bad_input, "calibration data '", source, "': give a folder of images, not one file");
  return d;
}

std::vector<Tensor> load_calibration_batches(const CalibrationData& data, const Shape& input, int64_t images,
                                             int64_t batch, uint64_t seed, const Dataset* dataset) {
  if (images < 1) fail(ErrorKind::usage, "calibration needs at least 1 image, got ", images);
  if (batch < 1) fail(ErrorKind::usage, "calibration batch must be >= 1, got ", batch);
  if (input.size() != 4)
    fail(ErrorKind::bad_input, "calibration feeds image models with an [N, C, H, W] input; the model's input is ", shape_str(input));
  const Shape chw = {input[1], input[2], input[3]};
  const std::string where = "calibration data '" + (data.path.empty() ? std::string(calibration_kind_name(data.kind)) : data.path) + "'";
  data.preprocess.validate(chw[0], where);
  switch (data.kind) {
    case CalibrationKind::dataset: {
      if (!dataset) fail(ErrorKind::internal, "calibration from the dataset needs the dataset");
      const Shape& s = dataset->images.shape();
      if (s.size() != 4 || s[1] != chw[0] || s[2] != chw[1] || s[3] != chw[2])
        fail(ErrorKind::bad_input, "calibration: the model takes ", shape_str(chw), " inputs but the dataset '", dataset->name,
             "' has ", s.size() == 4 ? shape_str({s[1], s[2], s[3]}) : shape_str(s),
             " images; give the model's own calibration data (a folder of images, .pb tensors or IDX files), "
             "or 'random' for speed measurements only");
      return from_dataset(*dataset, data, chw, images, batch, seed, "dataset '" + dataset->name + "'");
    }
    case CalibrationKind::idx: {
      const Dataset d = load_idx_dataset(data.path, Split::train, 256);
      return from_dataset(d, data, chw, images, batch, seed, where);
    }
    case CalibrationKind::images: return from_images(data, chw, images, batch, seed);
    case CalibrationKind::tensors: return from_tensors(data, chw, images, batch);
    case CalibrationKind::random: return random_inputs(data, chw, images, batch, seed);
  }
  return {};
}

}  // namespace leancnn::train
