// Batches from a Dataset: normalisation, augmentation (random crop with padding, horizontal
// flip, random erasing), seeded shuffling each epoch, and a background thread that prepares
// the next batch while the current one trains. The same seed gives the same batches.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "leancnn/core/rng.h"
#include "leancnn/core/tensor.h"
#include "leancnn/train/dataset.h"

namespace leancnn::train {

struct Augment {
  int64_t crop_pad = 0;        // random crop after zero-padding by this many pixels (0: off)
  bool hflip = false;          // horizontal flip with probability 1/2
  float erase_prob = 0.f;      // random erasing (Zhong et al. 2020) probability
  float erase_area_min = 0.02f, erase_area_max = 0.25f;
};

struct LoaderOptions {
  int64_t batch = 128;
  bool shuffle = true;
  bool drop_last = false;
  float mean = 0.f, stddev = 1.f;  // x = (pixel / 255 - mean) / stddev
  Augment augment = {};
  uint64_t seed = 0;
  bool prefetch = true;  // prepare the next batch on a background thread
};

struct Batch {
  Tensor images;  // f32 [B, C, H, W], normalised
  Tensor labels;  // s64 [B]
};

// Splits off the last `count` items (after a seeded shuffle) as a validation set.
std::pair<Dataset, Dataset> split_validation(const Dataset& d, int64_t count, uint64_t seed);

// The first `count` items (for quick runs and tests).
Dataset subset(const Dataset& d, int64_t count);

class DataLoader {
 public:
  // The dataset must outlive the loader.
  DataLoader(const Dataset& data, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const;
  // Starts epoch `epoch` (0-based): its order is a function of (seed, epoch) only, so a
  // resumed run sees the same batches.
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch, or nothing at its end.
  std::optional<Batch> next();

 private:
  // The items of batch `index` of the current epoch (call with mu_ held when prefetching).
  std::vector<int64_t> items_of(int64_t index) const;
  // Builds a batch from dataset items; `first` is the position of items[0] in the epoch.
  Batch make_batch(const std::vector<int64_t>& items, int64_t epoch, int64_t first) const;
  void worker();

  const Dataset& data_;
  LoaderOptions options_;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
  int64_t next_index_ = 0;

  // Prefetch: the worker makes batch `want_` into `ready_`.
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  int64_t want_ = -1;
  std::optional<Batch> ready_;
  int64_t ready_index_ = -1;
};

}  // namespace leancnn::train
