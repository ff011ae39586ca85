// IDX dataset loading with validation.
#include "leancnn/train/dataset.h"

#include <sys/stat.h>

#include <cstring>

#include "leancnn/core/error.h"
#include "leancnn/io/idx.h"

namespace leancnn::train {

namespace {
bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The standard file name, with or without ".gz".
std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem})
    if (exists(dir + "/" + name)) return dir + "/" + name;
  fail(ErrorKind::bad_input, "data folder '", dir, "' has no '", stem, "' or '", stem,
       ".gz' (expected the four standard IDX files)");
}
}  // namespace

std::string resolve_data_dir(const std::string& spec) {
  std::string dir = spec == "fashion-mnist" ? kFashionMnistDir : spec;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    if (spec == "fashion-mnist")
      fail(ErrorKind::bad_input, "Fashion-MNIST is not installed at '", dir,
           "'; install it with: apt-get install dataset-fashion-mnist (scripts/install-deps.sh does)");
    fail(ErrorKind::bad_input, "data folder '", dir, "' does not exist (use --data fashion-mnist or a folder of IDX files)");
  }
  return dir;
}

Dataset load_idx_dataset(const std::string& dir, Split split, int64_t classes) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string image_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string label_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  io::IdxArray images = io::read_idx(image_path);
  io::IdxArray labels = io::read_idx(label_path);
  if (images.dims.size() != 3)
    fail(ErrorKind::bad_input, "file '", image_path, "' must hold a 3-D array N×H×W, it has rank ", images.dims.size());
  if (labels.dims.size() != 1)
    fail(ErrorKind::bad_input, "file '", label_path, "' must hold a 1-D array, it has rank ", labels.dims.size());
  if (images.dims[0] != labels.dims[0])
    fail(ErrorKind::bad_input, "'", image_path, "' holds ", images.dims[0], " images but '", label_path, "' holds ",
         labels.dims[0], " labels");
  Dataset d;
  d.name = dir;
  d.classes = classes;
  const int64_t n = images.dims[0];
  d.images = Tensor::empty({n, 1, images.dims[1], images.dims[2]}, DType::u8);
  std::memcpy(d.images.raw(), images.data.data(), images.data.size());
  d.labels = Tensor::empty({n}, DType::s64);
  for (int64_t i = 0; i < n; ++i) {
    if (labels.data[i] >= classes)
      fail(ErrorKind::bad_input, "file '", label_path, "': label ", int(labels.data[i]), " of item ", i,
           " is outside [0, ", classes, ")");
    d.labels.data<int64_t>()[i] = labels.data[i];
  }
  return d;
}

}  // namespace leancnn::train
