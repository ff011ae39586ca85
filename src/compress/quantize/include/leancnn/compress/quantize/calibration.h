// Calibration: N images of a dataset run through the float graph (reference executor with
// every intermediate kept), each watched tensor fed to its own range observer.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "leancnn/compress/quantize/observer.h"
#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"

namespace leancnn::compress::quantize {

// `images` items of `data` drawn without replacement by a seeded shuffle (all of it when
// images >= its size), as f32 batches of pixels / 255 (the models' input convention,
// train::train_model), each of at most `batch` images. Error(bad_input) on an empty dataset.
std::vector<Tensor> calibration_batches(const train::Dataset& data, int64_t images, int64_t batch, uint64_t seed);

struct Calibration {
  std::map<std::string, Observer> observers;  // by value name
  int64_t images = 0;
};

// Runs every batch through `g` (one f32 input) and observes the values named in `values` (each
// must exist; Error(internal) otherwise) with `observer` options (per tensor). `progress` (may be
// empty) is called after each batch with (images done, images total).
Calibration calibrate(const ir::Graph& g, const std::vector<std::string>& values, const std::vector<Tensor>& batches,
                      const ObserverOptions& observer,
                      const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace leancnn::compress::quantize
