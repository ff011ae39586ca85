// Where calibration inputs come from and how they become model inputs: the run's own dataset
// (IDX), another IDX folder, a folder of image files (PNG / JPEG, decoded by io/image.h), a
// folder of ONNX TensorProto files (.pb, as `leancnn infer` reads), or synthetic random inputs
// (for speed measurements only: their ranges are not the data's). compress/quantize's Spec
// holds one; quantize::run loads it here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/preprocess.h"

namespace leancnn::train {

enum class CalibrationKind { dataset, idx, images, tensors, random };
const char* calibration_kind_name(CalibrationKind k);  // "dataset", "idx", "images", "tensors", "random"

struct CalibrationData {
  CalibrationKind kind = CalibrationKind::dataset;  // dataset: the training split the caller gives
  std::string path;                                 // idx, images, tensors: a folder (tensors: or one .pb file)
  Preprocess preprocess;                            // applied to images (dataset, idx, images) and random inputs

  bool synthetic() const { return kind == CalibrationKind::random; }
  // One line for reports: "dataset 'fashion-mnist' (training split)", "images in 'DIR'",
  // "random inputs (synthetic: for speed measurements only, not for accuracy)".
  std::string describe(const std::string& dataset_name = "") const;
};

// From a flag or recipe value: "train" -> dataset, "random" -> random, anything else a path whose
// format is `format` ("auto": a folder with train-images-idx3-ubyte[.gz] is idx, one with .pb files
// (or a .pb file) is tensors, else images; or "idx", "images", "tensors"). Error(usage) on an
// unknown format, Error(bad_input) naming the path when it does not exist.
CalibrationData calibration_data_from(const std::string& source, const std::string& format, const Preprocess& pre);

// Up to `images` calibration inputs for a model whose input is `input` ([N, C, H, W]; N ignored),
// as f32 batches of at most `batch` images. A seeded sample when the source has more (the same
// images for the same seed as compress/quantize's calibration_batches on a dataset); image and
// tensor files are listed sorted by name. `dataset` is the caller's training split (kind dataset
// only). Errors (Error(bad_input), naming the file, the field and the fix): no usable file, an
// image that does not decode, a tensor of the wrong shape or type, dataset images of another
// shape than the model's (without preprocessing they would not fit it), bad mean/std.
std::vector<Tensor> load_calibration_batches(const CalibrationData& data, const Shape& input, int64_t images,
                                             int64_t batch, uint64_t seed, const Dataset* dataset = nullptr);

}  // namespace leancnn::train
