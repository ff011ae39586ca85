// Image classification datasets in IDX form (Fashion-MNIST, MNIST): loading and validation.
#pragma once
#include <string>

#include "leancnn/core/tensor.h"

namespace leancnn::train {

enum class Split { train, test };

struct Dataset {
  std::string name;
  Tensor images;  // u8 [N, 1, H, W]
  Tensor labels;  // s64 [N], each in [0, classes)
  int64_t classes = 10;
  int64_t size() const { return labels.defined() ? labels.numel() : 0; }
};

// Where Debian's dataset-fashion-mnist package installs the data.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// "fashion-mnist" → the Debian folder; anything else is taken as a folder holding the four
// standard files ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]).
std::string resolve_data_dir(const std::string& spec);

// Loads one split. Throws Error(bad_input) naming the file on a missing folder or file, a
// corrupt or truncated file, image/label count mismatch, or a label outside [0, classes).
Dataset load_idx_dataset(const std::string& dir, Split split, int64_t classes = 10);

}  // namespace leancnn::train
